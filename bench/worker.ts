// Decision → completed throughput of the execute worker with the simulated backend, beside the
// throughput of bare BullMQ no-op jobs on the same Redis with the same concurrency.
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { decide } from "../src/services/decide.ts";
import { obliterateQueues, REDIS_URL, uniqueName } from "../test/support/db.ts";
import { type BenchRow, fmt, mixedActionBodies, percentile, startBenchApp, storeActions } from "./support.ts";

const CONCURRENCY = 32;

async function bareBullmq(jobs: number): Promise<number> {
  const prefix = uniqueName("bench_bare");
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue("noop", { connection, prefix });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker("noop", async () => "ok", {
    connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: CONCURRENCY,
    autorun: false,
    removeOnComplete: { count: 100_000 },
  });
  worker.on("completed", () => {
    done += 1;
    if (done === jobs) finish();
  });
  for (let i = 0; i < jobs; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
        name: "noop",
        data: { n: i + k },
        opts: { jobId: `noop-${i + k}` },
      })),
    );
  }
  const started = performance.now();
  void worker.run();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.close();
  connection.disconnect();
  await obliterateQueues(prefix);
  return jobs / seconds;
}

export async function runWorkerBench(count = 2000): Promise<BenchRow[]> {
  const app = await startBenchApp("worker", { env: { WORKER_CONCURRENCY: String(CONCURRENCY) } });
  try {
    const db = app.ctx.db;
    const _types = [
      "isolate_device",
      "stop_service",
      "disable_driver",
      "block_url",
      "quarantine_file",
    ] as const;
    const ids = await storeActions(app, mixedActionBodies(count, 0));
    const started = performance.now();
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids
          .slice(i, i + 100)
          .map((actionId) => decide(db, { actionId, decision: "approve", actor: "U0BENCHAPPR" })),
      );
    }
    const decidedIn = (performance.now() - started) / 1000;
    for (;;) {
      const [row] = await db.execute<{ n: number }>(
        sql`select count(*)::int as n from actions where status = 'completed'`,
      );
      if (row!.n === count) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const latencies = (
      await db.execute<{ ms: number }>(
        sql`select extract(epoch from (completed_at - decided_at)) * 1000 as ms from actions where status = 'completed'`,
      )
    ).map((r) => Number(r.ms));
    const endToEnd = count / seconds;
    const bare = await bareBullmq(count);
    return [
      {
        benchmark: `decision → completed, ${count} actions, concurrency ${CONCURRENCY} (decisions committed in ${fmt(decidedIn)} s)`,
        figure: `${fmt(endToEnd, 0)} actions/s`,
        reference: `bare BullMQ no-op: ${fmt(bare, 0)} jobs/s`,
        ratio: fmt(endToEnd / bare, 2),
        target: "≥ 0.5",
        met: endToEnd / bare >= 0.5 ? "yes" : "no",
      },
      {
        benchmark: "decision → completed latency under that load",
        figure: `p50 ${fmt(percentile(latencies, 50), 0)} ms, p99 ${fmt(percentile(latencies, 99), 0)} ms`,
        reference: "—",
        ratio: "—",
        target: "—",
        met: "—",
      },
    ];
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runWorkerBench(Number(process.argv[2] ?? 2000));
  console.table(rows);
  process.exit(0);
}
