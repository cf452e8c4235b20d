// The day a worm hits: 10,000 pending actions across 200 investigations arrive within a minute,
// and Slack allows one message per second per channel. How many messages, how long until every
// action can be seen in Slack, how many 429s, how many actions lost, and peak memory.
import { sql } from "drizzle-orm";
import { actionBody } from "../test/support/fixtures.ts";
import { freePort } from "../test/support/process.ts";
import { peakRssOfThisProcessMb, startWorkerProcess, waitUntil } from "./processes.ts";
import { type BenchRow, fmt, startBenchApp } from "./support.ts";

const ACTIONS = 10_000;
const INVESTIGATIONS = 200;
const BATCH = 500;
const SPREAD_MS = 60_000;

export async function runOutbreakBench(): Promise<BenchRow[]> {
  const app = await startBenchApp("outbreak", { role: "web", slack: { postsPerSecondPerChannel: 1 } });
  const worker = startWorkerProcess(app.env, await freePort());
  try {
    await new Promise((r) => setTimeout(r, 4000));
    const perInvestigation = ACTIONS / INVESTIGATIONS;
    const batches = ACTIONS / BATCH;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const due = started + (b * SPREAD_MS) / batches;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const actions = Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        return actionBody(n % 3 ? "quarantine_file" : "stop_service", n, {
          externalId: `outbreak-${n}`,
          investigationId: `inv-worm-${Math.floor(n / perInvestigation)}`,
        });
      });
      const res = await fetch(`${app.url}/api/v1/actions`, {
        method: "POST",
        headers: { authorization: `Bearer ${app.env.INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ actions }),
      });
      if (res.status !== 201) throw new Error(`ingest answered ${res.status}`);
      await res.arrayBuffer();
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    const visible = async () =>
      Number(
        (
          await app.ctx.db.execute<{ n: number }>(
            sql`select count(*)::int as n from actions a join slack_messages m on m.id = a.slack_message_id where m.ts is not null`,
          )
        )[0]!.n,
      );
    await waitUntil(
      async () => (await visible()) === ACTIONS,
      600_000,
      "every action to be visible in Slack",
    );
    const allVisibleSeconds = (performance.now() - started) / 1000;
    const posts = app.slackApi.callsTo("chat.postMessage").filter((c) => c.status === 200).length;
    const lost = ACTIONS - (await visible());
    return [
      {
        benchmark: `outbreak: ${ACTIONS.toLocaleString("en")} actions, ${INVESTIGATIONS} investigations, in ${fmt(ingestSeconds, 0)} s; Slack at 1 msg/s/channel`,
        figure: `${posts} messages; all visible after ${fmt(allVisibleSeconds, 0)} s`,
        reference: `${INVESTIGATIONS} investigations (the fewest messages possible); 1 msg/s allows ${INVESTIGATIONS} in ${INVESTIGATIONS} s`,
        ratio: fmt(posts / INVESTIGATIONS, 2),
        target: "messages ≈ investigations; 0 lost",
        met: lost === 0 && posts <= INVESTIGATIONS * 1.2 ? "yes" : "no",
      },
      {
        benchmark: "outbreak: 429s received, actions lost",
        figure: `${app.slackApi.rateLimitedCount} × 429, ${lost} lost`,
        reference: "—",
        ratio: "—",
        target: "0 lost",
        met: lost === 0 ? "yes" : "no",
      },
      {
        benchmark: "outbreak: peak memory (RSS)",
        figure: `worker ${fmt(worker.peakRssMb(), 0)} MB; web (with the bench and the fake Slack) ${fmt(peakRssOfThisProcessMb(), 0)} MB`,
        reference: "—",
        ratio: "—",
        target: "—",
        met: "—",
      },
    ];
  } finally {
    await worker.stop();
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runOutbreakBench());
  process.exit(0);
}
