// Load generator for the ack benchmark, run as its own process so that the clients do not
// share an event loop (or a core) with the server they measure. Input: JSON on stdin
// { url, secret, userId, actionIds, verb? } (verb "approve", the default, submits Approve's
// confirmation; another verb clicks that button). Output: the latencies in ms, as JSON on stdout.
//
// Raw keep-alive sockets and requests written out beforehand: what is timed is the server's
// answer, not this process building 100 requests at once (node:http's client spent about as
// long on that as the server spent answering).
import { connect, type Socket } from "node:net";
import { DECISION_CALLBACK_ID } from "../src/slack/actionIds.ts";
import { decisionMetadata } from "../src/slack/blocks/modals.ts";
import {
  blockActionsPayload,
  signSlackRequest,
  viewSubmissionPayload,
} from "../test/support/slackRequests.ts";

const input = JSON.parse(await new Response(process.stdin as unknown as ReadableStream).text()) as {
  url: string;
  secret: string;
  userId: string;
  actionIds: number[];
  verb?: string;
};
const target = new URL(input.url);
const requests = input.actionIds.map((id) => {
  const channelId = "C0BENCH0001";
  // "approve" is the request that decides: the submission of Approve's confirmation modal.
  const payload =
    (input.verb ?? "approve") === "approve"
      ? viewSubmissionPayload({
          userId: input.userId,
          callbackId: DECISION_CALLBACK_ID,
          privateMetadata: decisionMetadata(id, "approve", { channel: channelId }),
          values: {},
        })
      : blockActionsPayload({
          userId: input.userId,
          actionId: `${input.verb}:${id}`,
          value: String(id),
          channelId,
          messageTs: "1.000001",
        });
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const headers: Record<string, string> = {
    host: target.host,
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(Buffer.byteLength(body)),
    ...signSlackRequest(input.secret, body),
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  return Buffer.from(`POST /slack/events HTTP/1.1\r\n${head}\r\n${body}`);
});

/** One keep-alive connection; `send` resolves with the status once the whole answer is in. */
function connection(): Promise<{ send(request: Buffer): Promise<number>; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(target.port), target.hostname, () => resolve({ send, close }));
    socket.setNoDelay(true);
    socket.on("error", reject);
    let received = Buffer.alloc(0);
    let done: ((status: number) => void) | undefined;
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0 || !done) return;
      const head = received.subarray(0, end).toString();
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
      const chunked = /transfer-encoding:\s*chunked/i.test(head);
      const rest = received.subarray(end + 4);
      const complete = chunked
        ? rest.includes("0\r\n\r\n")
        : rest.length >= (Number.isNaN(length) ? 0 : length);
      if (!complete) return;
      received = Buffer.alloc(0);
      const finish = done;
      done = undefined;
      finish(Number(head.split(" ", 3)[1]));
    });
    function send(request: Buffer): Promise<number> {
      return new Promise((resolveSend) => {
        done = resolveSend;
        socket.write(request);
      });
    }
    function close() {
      socket.end();
    }
  });
}

// Opened beforehand, as Slack's would be: keep-alive, one per concurrent click, each used once
// so that the server has taken every connection before the clicks come.
const sockets = await Promise.all(requests.map(() => connection()));
const warmUp = Buffer.from(`GET /warm-up HTTP/1.1\r\nhost: ${target.host}\r\n\r\n`);
await Promise.all(sockets.map((socket) => socket.send(warmUp)));
const latencies = await Promise.all(
  requests.map(async (request, i) => {
    const started = performance.now();
    const status = await sockets[i]!.send(request);
    if (status !== 200) throw new Error(`click answered ${status}`);
    return performance.now() - started;
  }),
);
for (const socket of sockets) socket.close();
process.stdout.write(JSON.stringify(latencies));
