// Drives the bot the way Slack does. The payload builders and the signing live in the sandbox, which
// sends the browser's clicks through them; tests use the same ones. Only the response_url catcher is
// the tests' own.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { FAKE_WORKSPACE } from "../../src/sandbox/fakeSlackApi.ts";

export * from "../../src/sandbox/slackPayloads.ts";

export type CaughtResponse = { path: string; headers: IncomingHttpHeaders; body: unknown; at: number };

export type ResponseUrlCatcher = {
  /** A fresh response_url on the catcher. */
  newUrl(): string;
  /** Every POST received, oldest first; JSON bodies parsed. */
  requests: CaughtResponse[];
  /** Paths answered as Slack answers a URL it no longer takes (404 `expired_url`), still recorded. */
  expired: Set<string>;
  close(): Promise<void>;
};

/** A local stand-in for Slack's response_url endpoints. */
export async function startResponseUrlCatcher(): Promise<ResponseUrlCatcher> {
  const requests: CaughtResponse[] = [];
  const expired = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: kept as text.
      }
      const path = req.url ?? "/";
      requests.push({ path, headers: req.headers, body, at: Date.now() });
      const answer = expired.has(path) ? [404, { ok: false, error: "expired_url" }] : [200, { ok: true }];
      res
        .writeHead(answer[0] as number, { "content-type": "application/json" })
        .end(JSON.stringify(answer[1]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let count = 0;
  return {
    newUrl() {
      count += 1;
      return `${origin}/actions/${FAKE_WORKSPACE.teamId}/${count}/${randomBytes(8).toString("hex")}`;
    },
    requests,
    expired,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
