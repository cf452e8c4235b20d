// Load generator for the ack benchmark, run as its own process so that the clients do not
// share an event loop (or a core) with the server they measure. Input: JSON on stdin
// { url, secret, userId, actionIds }. Output: the latencies in ms, as JSON on stdout.
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
// Open the connections beforehand, as Slack's would be: keep-alive, one per concurrent click.
await Promise.all(requests.map(() => fetch(`${input.url}/warm-up`).then((r) => r.arrayBuffer())));
const latencies = await Promise.all(
  requests.map(async ({ body, headers }) => {
    const started = performance.now();
    const res = await fetch(endpoint, { method: "POST", headers, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`click answered ${res.status}`);
    return performance.now() - started;
  }),
);
process.stdout.write(JSON.stringify(latencies));
