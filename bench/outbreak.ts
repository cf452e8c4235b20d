// The day a worm hits: 10,000 pending actions across 200 investigations arrive within a minute,
// and Slack allows one message per second per channel. How many messages, how long until every
// action can be seen in Slack, how many 429s, how many actions lost, and peak memory. Two
// outbreaks: every action unique (the per-investigation path), and a realistic one where 20 files
// and URLs account for 90 % of the actions (threat messages), plus a tail of unique actions.
import { sql } from "drizzle-orm";
import { actionBody, sha256Of } from "../test/support/fixtures.ts";
import { freePort } from "../test/support/process.ts";
import { peakRssOfThisProcessMb, startWorkerProcess, waitUntil } from "./processes.ts";
import { type BenchRow, fmt, startBenchApp } from "./support.ts";

const ACTIONS = 10_000;
const INVESTIGATIONS = 200;
const BATCH = 500;
const SPREAD_MS = 60_000;
const PER_INVESTIGATION = ACTIONS / INVESTIGATIONS;
/** Realistic: one investigation in ten found only things of its own; the rest the worm's. */
const TAIL_EVERY = 10;
const HOT_THINGS = 20;

type Outbreak = "unique" | "realistic";

/** Action `n` of the outbreak; an investigation's actions are contiguous, as AIR proposes them. */
function outbreakAction(kind: Outbreak, n: number): Record<string, unknown> {
  const investigation = Math.floor(n / PER_INVESTIGATION);
  const base = { externalId: `outbreak-${n}`, investigationId: `inv-worm-${investigation}` };
  const device = { id: `dev-worm-${n % 2000}`, name: `PC-WORM-${n % 2000}` };
  if (kind === "unique") return actionBody(n % 3 ? "quarantine_file" : "stop_service", n, base);
  if (investigation % TAIL_EVERY === 0)
    return actionBody(n % 3 ? "quarantine_file" : "stop_service", n, { ...base, device });
  const thing = n % HOT_THINGS;
  return thing % 2 === 0
    ? actionBody("quarantine_file", n, {
        ...base,
        device,
        entity: { sha256: sha256Of(900_000 + thing), path: `C:\\Users\\Public\\worm-${thing}.exe` },
      })
    : actionBody("block_url", n, { ...base, entity: { url: `https://c2-${thing}.example.net/beacon` } });
}

export async function runOutbreakBench(): Promise<BenchRow[]> {
  return [...(await runOutbreak("unique")), ...(await runOutbreak("realistic"))];
}

async function runOutbreak(kind: Outbreak): Promise<BenchRow[]> {
  const app = await startBenchApp("outbreak", { role: "web", slack: { postsPerSecondPerChannel: 1 } });
  const worker = startWorkerProcess(app.env, await freePort());
  try {
    await new Promise((r) => setTimeout(r, 4000));
    const batches = ACTIONS / BATCH;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const due = started + (b * SPREAD_MS) / batches;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const actions = Array.from({ length: BATCH }, (_, i) => outbreakAction(kind, b * BATCH + i));
      const res = await fetch(`${app.url}/api/v1/actions`, {
        method: "POST",
        headers: { authorization: `Bearer ${app.env.INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ actions }),
      });
      if (res.status !== 201) throw new Error(`ingest answered ${res.status}`);
      await res.arrayBuffer();
    }
    const ingestEnded = performance.now();
    const ingestSeconds = (ingestEnded - started) / 1000;
    // Visible: on a posted message whose last render includes it (a threat message is updated
    // as later instances join).
    const visible = async () =>
      Number(
        (
          await app.ctx.db.execute<{ n: number }>(
            sql`select count(*)::int as n from actions a join slack_messages m on m.id = a.slack_message_id
                where m.ts is not null and m.rendered_version >= m.version`,
          )
        )[0]!.n,
      );
    await waitUntil(
      async () => (await visible()) === ACTIONS,
      600_000,
      "every action to be visible in Slack",
    );
    const allVisibleSeconds = (performance.now() - started) / 1000;
    const afterLastIngest = (performance.now() - ingestEnded) / 1000;
    const posts = app.slackApi
      .callsTo("chat.postMessage")
      .filter((c) => c.status === 200 && !(c.args as { thread_ts?: string }).thread_ts).length;
    const lost = ACTIONS - (await visible());
    const threats = Number(
      (
        await app.ctx.db.execute<{ n: number }>(
          sql`select count(*)::int as n from slack_messages where threat_key is not null`,
        )
      )[0]!.n,
    );
    if (kind === "realistic")
      return [
        {
          benchmark: `outbreak, realistic: ${ACTIONS.toLocaleString("en")} actions, ${INVESTIGATIONS} investigations, ${HOT_THINGS} files and URLs = 90 %, a tail of ${ACTIONS / TAIL_EVERY} unique actions in ${INVESTIGATIONS / TAIL_EVERY} investigations, in ${fmt(ingestSeconds, 0)} s`,
          figure: `${posts} messages (${threats} threat messages); all visible ${fmt(afterLastIngest, 0)} s after the last ingest`,
          reference: `per investigation: ${INVESTIGATIONS} messages, ${INVESTIGATIONS} s at 1 msg/s`,
          ratio: fmt(posts / INVESTIGATIONS, 2),
          target: "≤ 40 messages; visible ≤ 30 s after the last ingest",
          met: posts <= 40 && afterLastIngest <= 30 && lost === 0 ? "yes" : "no",
        },
        {
          benchmark: "outbreak, realistic: 429s received, actions lost",
          figure: `${app.slackApi.rateLimitedCount} × 429, ${lost} lost`,
          reference: "—",
          ratio: "—",
          target: "0 × 429; 0 lost",
          met: lost === 0 && app.slackApi.rateLimitedCount === 0 ? "yes" : "no",
        },
      ];
    return [
      {
        benchmark: `outbreak, all unique: ${ACTIONS.toLocaleString("en")} actions, ${INVESTIGATIONS} investigations, in ${fmt(ingestSeconds, 0)} s; Slack at 1 msg/s/channel`,
        figure: `${posts} messages; all visible after ${fmt(allVisibleSeconds, 0)} s`,
        reference: `${INVESTIGATIONS} investigations (the fewest messages possible); 1 msg/s allows ${INVESTIGATIONS} in ${INVESTIGATIONS} s`,
        ratio: fmt(posts / INVESTIGATIONS, 2),
        target: "messages ≈ investigations; 0 lost",
        met: lost === 0 && posts <= INVESTIGATIONS * 1.2 ? "yes" : "no",
      },
      {
        benchmark: "outbreak, all unique: 429s received, actions lost",
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
