// Ack latency of a button click under N concurrent clicks: our app (full listener: decision,
// audit, outbox) beside a bare Bolt app that only acks the same click, in the same run.
import { spawn } from "node:child_process";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { App, ExpressReceiver } from "@slack/bolt";
import express from "express";
import { actionBody } from "../test/support/fixtures.ts";
import { type BenchRow, fmt, percentile, startBenchApp, storeActions } from "./support.ts";

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
  const http = express();
  const receiver = new ExpressReceiver({ signingSecret: secret, app: http });
  const bolt = new App({ token: "xoxb-bench", receiver, clientOptions: { slackApiUrl } });
  bolt.action(/^approve:\d+$/, async ({ ack }) => {
    await ack();
  });
  const server = await new Promise<Server>((resolve) => {
    const s = http.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function runAckBench(concurrency: number): Promise<BenchRow[]> {
  // The web role, as deployed: clicks are answered by web processes, actions run in workers elsewhere.
  const app = await startBenchApp("ack", { role: "web" });
  const bare = await startBareBolt(app.env.SLACK_SIGNING_SECRET!, app.slackApi.url);
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
    await clickLatencies(app.url, app.env.SLACK_SIGNING_SECRET!, warm.slice(0, 10), "U0BENCHAPPR");
    await clickLatencies(bare.url, app.env.SLACK_SIGNING_SECRET!, warm.slice(0, 10), "U0BENCHAPPR");
    const ids = await make(100_000);
    const ours = await clickLatencies(app.url, app.env.SLACK_SIGNING_SECRET!, ids, "U0BENCHAPPR");
    const reference = await clickLatencies(bare.url, app.env.SLACK_SIGNING_SECRET!, ids, "U0BENCHAPPR");
    // The same clicks on a button whose listener only acks: our pipeline without the decisions.
    const ackOnly = await clickLatencies(
      app.url,
      app.env.SLACK_SIGNING_SECRET!,
      ids,
      "U0BENCHAPPR",
      "open_investigation",
    );
    const p99 = percentile(ours, 99);
    const p99Bare = percentile(reference, 99);
    return [
      {
        benchmark: `button click ack latency, ${concurrency} concurrent clicks`,
        figure: `p50 ${fmt(percentile(ours, 50))} ms, p99 ${fmt(p99)} ms`,
        reference: `bare Bolt: p50 ${fmt(percentile(reference, 50))} ms, p99 ${fmt(p99Bare)} ms; ours, ack-only button: p99 ${fmt(percentile(ackOnly, 99))} ms`,
        ratio: fmt(p99 / p99Bare, 2),
        target: "p99 < 50 ms and ≤ 1.5× bare",
        met: p99 < 50 && p99 / p99Bare <= 1.5 ? "yes" : "no",
      },
    ];
  } finally {
    await bare.close();
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runAckBench(Number(process.argv[2] ?? 100)));
  process.exit(0);
}
