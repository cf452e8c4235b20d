// Ack latency of a decision under N concurrent ones (Approve's confirmation submitted): our app
// (inbox, then decision, audit, outbox) beside a bare Bolt app (Bolt's default receiver, one
// listener that only acks) answering the same requests, in the same run, in alternating bursts;
// and, for the machine's floor, node:http answering without reading them.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { App, LogLevel } from "@slack/bolt";
import { DECISION_CALLBACK_ID } from "../src/slack/actionIds.ts";
import { actionBody } from "../test/support/fixtures.ts";
import { type BenchApp, type BenchRow, fmt, percentile, startBenchApp, storeActions } from "./support.ts";

/** Fires all clicks at once from a separate process and returns each one's latency. */
async function clickLatencies(
  url: string,
  secret: string,
  actionIds: number[],
  userId: string,
  verb = "approve",
): Promise<number[]> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./clicker.ts", import.meta.url))],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  child.stdin.end(JSON.stringify({ url, secret, userId, actionIds, verb }));
  let out = "";
  child.stdout.on("data", (chunk) => (out += String(chunk)));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`clicker exited with ${code}`);
  return JSON.parse(out) as number[];
}

async function startBareBolt(
  secret: string,
  slackApiUrl: string,
): Promise<{ url: string; close(): Promise<void> }> {
  // Bolt as its README starts it: the default receiver (HTTPReceiver on node:http), one listener.
  const bolt = new App({
    token: "xoxb-bench",
    signingSecret: secret,
    clientOptions: { slackApiUrl },
    logLevel: LogLevel.ERROR,
  });
  bolt.view(DECISION_CALLBACK_ID, async ({ ack }) => {
    await ack();
  });
  const server = (await bolt.start({ port: 0, host: "127.0.0.1" })) as Server;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => bolt.stop().then(() => undefined),
  };
}

/** The floor: node:http answering every POST with an empty 200, without looking at it. */
async function startDoNothingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Bursts of `concurrency` clicks, `rounds` times: p99 over the pooled latencies is steadier than one burst's. */
const ROUNDS = 5;

export async function runAckBench(concurrency: number): Promise<BenchRow[]> {
  // The web role, as deployed: clicks are answered by web processes, actions run in workers elsewhere.
  const app = await startBenchApp("ack", { role: "web" });
  const secret = app.env.SLACK_SIGNING_SECRET!;
  const bare = await startBareBolt(secret, app.slackApi.url);
  const nothing = await startDoNothingServer();
  try {
    const make = (offset: number) =>
      storeActions(
        app,
        Array.from({ length: concurrency }, (_, i) =>
          actionBody("stop_service", offset + i, { investigationId: undefined }),
        ),
      );
    // A warm-up round each, so both have authorised and compiled their paths.
    const warm = await make(0);
    await clickLatencies(app.url, secret, warm.slice(0, 10), APPROVER);
    await clickLatencies(bare.url, secret, warm.slice(0, 10), APPROVER);
    const ours: number[] = [];
    const reference: number[] = [];
    const ackOnly: number[] = [];
    const floor: number[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const ids = await make(round * 100_000);
      ours.push(...(await clickLatencies(app.url, secret, ids, APPROVER)));
      // Our decisions run after the acks; the reference is measured once they are all committed.
      await untilApproved(app, ids);
      reference.push(...(await clickLatencies(bare.url, secret, ids, APPROVER)));
      // The same clicks on a button whose listener only acks: our pipeline without the decisions.
      ackOnly.push(...(await clickLatencies(app.url, secret, ids, APPROVER, "open_investigation")));
      floor.push(...(await clickLatencies(nothing.url, secret, ids, APPROVER)));
    }
    const p99 = percentile(ours, 99);
    const p99Bare = percentile(reference, 99);
    return [
      {
        benchmark: `decision ack latency, ${concurrency} concurrent Approve confirmations submitted (${ROUNDS} bursts)`,
        figure: `p50 ${fmt(percentile(ours, 50))} ms, p99 ${fmt(p99)} ms`,
        reference: `bare Bolt: p50 ${fmt(percentile(reference, 50))} ms, p99 ${fmt(p99Bare)} ms; ours, ack-only button: p99 ${fmt(percentile(ackOnly, 99))} ms; node:http doing nothing: p99 ${fmt(percentile(floor, 99))} ms`,
        ratio: fmt(p99 / p99Bare, 2),
        target: "p99 < 50 ms and ≤ 1.5× bare",
        met: p99 < 50 && p99 / p99Bare <= 1.5 ? "yes" : "no",
      },
    ];
  } finally {
    await nothing.close();
    await bare.close();
    await app.close();
  }
}

const APPROVER = "U0BENCHAPPR";

async function untilApproved(app: BenchApp, ids: number[]): Promise<void> {
  for (;;) {
    const [row] = await app.ctx.sql<{ n: number }[]>`
      select count(*)::int as n from actions where id = any(${ids}) and status = 'approved'`;
    if (row!.n === ids.length) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runAckBench(Number(process.argv[2] ?? 100)));
  process.exit(0);
}
