// A TCP proxy the test can cut: everything through it fails at once, as when a database host
// disappears, while the real server keeps running for everyone else. Or freeze: nothing through
// it answers any more and nothing fails either, as when the host is cut off by the network.
import { connect, createServer, type Socket } from "node:net";

export type TcpProxy = {
  port: number;
  cut(): void;
  /** Open connections stay open and silent; new ones are accepted and never answered. */
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
};

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  let state: "open" | "cut" | "frozen" = "open";
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  const server = createServer((client) => {
    if (state === "cut") return client.destroy();
    track(client);
    client.on("error", () => client.destroy());
    if (state === "frozen") return;
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const s of pair) {
      s.on("close", () => pairs.delete(pair));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    cut() {
      state = "cut";
      destroyAll();
    },
    freeze() {
      state = "frozen";
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    restore() {
      state = "open";
    },
    async close() {
      state = "cut";
      destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
