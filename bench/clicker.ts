// Load generator for the ack benchmark, run as its own process so that the clients do not
// share an event loop (or a core) with the server they measure. Input: JSON on stdin
// { url, secret, userId, actionIds }. Output: the latencies in ms, as JSON on stdout.
import { Agent, request } from "node:http";
import { blockActionsPayload, signSlackRequest } from "../test/support/slackRequests.ts";

const input = JSON.parse(await new Response(process.stdin as unknown as ReadableStream).text()) as {
  url: string;
  secret: string;
  userId: string;
  actionIds: number[];
  verb?: string;
};
const endpoint = `${input.url}/slack/events`;
// Sign everything first: the measured part is only the HTTP round trip.
const requests = input.actionIds.map((id) => {
  const body = new URLSearchParams({
    payload: JSON.stringify(
      blockActionsPayload({
        userId: input.userId,
        actionId: `${input.verb ?? "approve"}:${id}`,
        value: String(id),
        channelId: "C0BENCH0001",
        messageTs: "1.000001",
      }),
    ),
  }).toString();
  return {
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", ...signSlackRequest(input.secret, body) },
  };
});
// node:http rather than fetch: fetch's own per-request work in this process (streams, promises)
// was counted as server latency, about 40 ms of a 100-click burst's p99 on this machine.
const agent = new Agent({ keepAlive: true, maxSockets: requests.length });
function send(method: string, url: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}
// Open the connections beforehand, as Slack's would be: keep-alive, one per concurrent click.
await Promise.all(requests.map(() => send("GET", `${input.url}/warm-up`, {})));
const latencies = await Promise.all(
  requests.map(async ({ body, headers }) => {
    const started = performance.now();
    const status = await send("POST", endpoint, headers, body);
    if (status !== 200) throw new Error(`click answered ${status}`);
    return performance.now() - started;
  }),
);
process.stdout.write(JSON.stringify(latencies));
