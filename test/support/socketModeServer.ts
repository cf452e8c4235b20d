// A local stand-in for Slack's Socket Mode, following its documented protocol: the app calls
// `apps.connections.open` with its app-level token (xapp-…) and gets a single-use WebSocket URL;
// on connect Slack sends `hello`; it sends `events_api`, `interactive` and `slash_commands`
// envelopes and the app acks each by `envelope_id` (with a `payload` where the envelope
// `accepts_response_payload`); an envelope not acked in time, or left unacked on a connection that
// closed, is sent again with `retry_attempt` counting up and a `retry_reason`, on whichever
// connection is open; Slack spreads envelopes over the app's connections (up to 10); it asks a
// connection to go with `disconnect` (`warning`, `refresh_requested`, `link_disabled`) or drops it.
// Every other Web API method is forwarded to the fake Web API, so the app has one SLACK_API_URL.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export const TEST_APP_TOKEN = "xapp-1-A0TESTAPP01-1-test-app-level-token";
const APP_ID = "A0TESTAPP01";
/** Slack allows an app this many Socket Mode connections at once. */
export const MAX_CONNECTIONS = 10;
// Slack gives up on an envelope after three retries.
const MAX_RETRIES = 3;

export type EnvelopeType = "events_api" | "interactive" | "slash_commands";

export type Envelope = {
  type: EnvelopeType;
  envelope_id: string;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
};

export type Ack = { envelope_id: string; payload?: Record<string, unknown> };

export type Connection = { id: number; socket: WebSocket; hello: boolean };

/** One envelope sent to one connection. */
export type Delivery = { envelopeId: string; connection: number; retryAttempt: number };

export type SocketModeServer = {
  /** The app's SLACK_API_URL: apps.connections.open answered here, other methods forwarded. */
  apiUrl: string;
  /** Open connections that got their `hello`. */
  connections(): Connection[];
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Sends an envelope as Slack does (spread over connections, redelivered until acked); resolves with the ack. */
  send(type: EnvelopeType, payload: Record<string, unknown>): Promise<Ack>;
  /** Sends this exact envelope on one connection, once, as a redelivery Slack made; resolves with its ack. */
  sendRaw(envelope: Envelope, connection?: Connection): Promise<Ack>;
  /** Sends `disconnect` with `reason` on each open connection (or the ones given). */
  disconnect(reason: "warning" | "refresh_requested" | "link_disabled", only?: Connection[]): void;
  /** Drops each open connection (or the ones given) without a word: no disconnect, no close frame. */
  drop(only?: Connection[]): void;
  /** While set, apps.connections.open answers HTTP 503 (an outage) or `link_disabled` refuses it. */
  refuse(how: "outage" | "link_disabled" | null): void;
  deliveries: Delivery[];
  acks: Ack[];
  /** Envelopes Slack gave up on (never acked after every retry). */
  undelivered: Envelope[];
  close(): Promise<void>;
};

type Pending = { envelope: Envelope; resolve(ack: Ack): void; timer?: NodeJS.Timeout; on?: Connection };

export async function startSocketModeServer(options: {
  /** The fake Web API every other method goes to (its URL ends in /api/). */
  webApiUrl: string;
  /** How long Slack waits for an ack before sending again (3 s at Slack). */
  ackTimeoutMs?: number;
}): Promise<SocketModeServer> {
  const ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  const tickets = new Set<string>();
  const open: Connection[] = [];
  const pending = new Map<string, Pending>();
  const deliveries: Delivery[] = [];
  const acks: Ack[] = [];
  const undelivered: Envelope[] = [];
  let refusing: "outage" | "link_disabled" | null = null;
  let nextConnection = 0;
  let turn = 0;

  const http = createServer(async (req, res) => {
    const method = /^\/api\/([\w.]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname)?.[1];
    const body = await readBody(req);
    if (method !== "apps.connections.open") {
      if (!method) return void res.writeHead(404).end();
      const forwarded = await fetch(`${options.webApiUrl}${method}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(
            (entry): entry is [string, string] =>
              typeof entry[1] === "string" && !["host", "content-length", "connection"].includes(entry[0]),
          ),
        ),
        ...(req.method === "POST" && { body: new Uint8Array(body) }),
      });
      res.writeHead(forwarded.status, { "content-type": forwarded.headers.get("content-type") ?? "" });
      return void res.end(Buffer.from(await forwarded.arrayBuffer()));
    }
    if (refusing === "outage") return void res.writeHead(503).end("service unavailable");
    const answer = (json: object) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json));
    if (req.method !== "POST") return answer({ ok: false, error: "insecure_request" });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return answer({ ok: false, error: "not_authed" });
    if (token !== TEST_APP_TOKEN) return answer({ ok: false, error: "invalid_auth" });
    if (refusing === "link_disabled") return answer({ ok: false, error: "forbidden_team" });
    if (open.length >= MAX_CONNECTIONS) return answer({ ok: false, error: "too_many_websockets" });
    const ticket = randomUUID();
    tickets.add(ticket);
    answer({ ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${APP_ID}` });
  });

  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    const ticket = new URL(req.url ?? "/", "http://x").searchParams.get("ticket") ?? "";
    // A ticket is good for one connection.
    if (!tickets.delete(ticket) || refusing !== null) {
      socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function accept(socket: WebSocket) {
    nextConnection += 1;
    const connection: Connection = { id: nextConnection, socket, hello: false };
    open.push(connection);
    socket.on("message", (data) => onAck(String(data)));
    socket.on("close", () => closed(connection));
    socket.on("error", () => closed(connection));
    socket.send(
      JSON.stringify({
        type: "hello",
        num_connections: open.length,
        debug_info: {
          host: `applink-test-${connection.id}`,
          build_number: 1,
          approximate_connection_time: 18060,
        },
        connection_info: { app_id: APP_ID },
      }),
    );
    connection.hello = true;
    // What waits for a connection goes out on this one.
    for (const entry of pending.values()) if (!entry.on) deliver(entry, "timeout");
  }

  function closed(connection: Connection) {
    const at = open.indexOf(connection);
    if (at === -1) return;
    open.splice(at, 1);
    // Unacked envelopes on it go to another connection, or wait for the next one.
    for (const entry of pending.values()) {
      if (entry.on !== connection) continue;
      entry.on = undefined;
      if (open.length > 0) deliver(entry, "timeout");
    }
  }

  function onAck(text: string) {
    let ack: Ack;
    try {
      ack = JSON.parse(text) as Ack;
    } catch {
      return;
    }
    acks.push(ack);
    const entry = pending.get(ack.envelope_id);
    if (!entry) return;
    clearTimeout(entry.timer);
    pending.delete(ack.envelope_id);
    entry.resolve(ack);
  }

  /** Sends `entry` on the next connection in turn, counting it as a retry unless it is the first. */
  function deliver(entry: Pending, retryReason: string, first = false) {
    clearTimeout(entry.timer);
    if (!first) {
      if (entry.envelope.retry_attempt >= MAX_RETRIES) {
        pending.delete(entry.envelope.envelope_id);
        undelivered.push(entry.envelope);
        return;
      }
      entry.envelope = {
        ...entry.envelope,
        retry_attempt: entry.envelope.retry_attempt + 1,
        retry_reason: retryReason,
      };
    }
    const ready = open.filter((c) => c.hello);
    entry.on = ready.length > 0 ? ready[turn++ % ready.length] : undefined;
    if (entry.on) {
      deliveries.push({
        envelopeId: entry.envelope.envelope_id,
        connection: entry.on.id,
        retryAttempt: entry.envelope.retry_attempt,
      });
      entry.on.socket.send(JSON.stringify(entry.envelope));
    }
    entry.timer = setTimeout(() => deliver(entry, "timeout"), ackTimeoutMs);
  }

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    connections: () => open.filter((c) => c.hello),
    async waitForConnections(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (open.filter((c) => c.hello).length < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} Socket Mode connections`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    send(type, payload) {
      const envelope: Envelope = {
        type,
        envelope_id: randomUUID(),
        payload,
        // Slack takes a response in the ack of interactions and commands, not of events.
        accepts_response_payload: type !== "events_api",
        retry_attempt: 0,
        retry_reason: "",
      };
      return new Promise<Ack>((resolve) => {
        const entry: Pending = { envelope, resolve };
        pending.set(envelope.envelope_id, entry);
        deliver(entry, "", true);
      });
    },
    sendRaw(envelope, connection) {
      const on = connection ?? open.find((c) => c.hello);
      if (!on) throw new Error("no open Socket Mode connection");
      return new Promise<Ack>((resolve) => {
        const listener = (data: unknown) => {
          const ack = JSON.parse(String(data)) as Ack;
          if (ack.envelope_id !== envelope.envelope_id) return;
          on.socket.off("message", listener);
          resolve(ack);
        };
        on.socket.on("message", listener);
        deliveries.push({
          envelopeId: envelope.envelope_id,
          connection: on.id,
          retryAttempt: envelope.retry_attempt,
        });
        on.socket.send(JSON.stringify(envelope));
      });
    },
    disconnect(reason, only) {
      for (const connection of only ?? [...open]) {
        connection.socket.send(
          JSON.stringify({
            type: "disconnect",
            reason,
            debug_info: { host: `applink-test-${connection.id}` },
          }),
        );
      }
    },
    drop(only) {
      for (const connection of only ?? [...open]) {
        connection.socket.terminate();
        closed(connection);
      }
    },
    refuse(how) {
      refusing = how;
    },
    deliveries,
    acks,
    undelivered,
    async close() {
      for (const entry of pending.values()) clearTimeout(entry.timer);
      for (const connection of [...open]) connection.socket.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
