// Scale-out: 1, 2 and 4 worker processes against one Postgres and Redis (throughput, nothing
// twice), and decision → completed latency at a steady 200 approvals/second.
import { sql } from "drizzle-orm";
import { decide } from "../src/services/decide.ts";
import { freePort } from "../test/support/process.ts";
import { startWorkerProcess, type WorkerProcess, waitUntil } from "./processes.ts";
import {
  type BenchApp,
  type BenchRow,
  fmt,
  mixedActionBodies,
  percentile,
  startBenchApp,
  storeActions,
} from "./support.ts";

async function completed(app: BenchApp, ids: number[]): Promise<number> {
  const [row] = await app.ctx.db.execute<{ n: number }>(
    sql`select count(*)::int as n from actions where status = 'completed' and id between ${ids[0]} and ${ids[ids.length - 1]}`,
  );
  return row!.n;
}

async function appliedTwice(app: BenchApp): Promise<number> {
  const [row] = await app.ctx.db.execute<{ n: number }>(
    sql`select count(*)::int as n from backend_runs where count > 1`,
  );
  return row!.n;
}

async function withWorkers<T>(
  app: BenchApp,
  count: number,
  run: (workers: WorkerProcess[]) => Promise<T>,
): Promise<T> {
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < count; i++)
    workers.push(startWorkerProcess({ ...app.env, WORKER_CONCURRENCY: "16" }, await freePort()));
  try {
    // Give them time to connect before measuring.
    await new Promise((r) => setTimeout(r, 4000));
    return await run(workers);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

export async function runScaleBench(): Promise<BenchRow[]> {
  // The web role only: the workers are separate processes, as in a scaled-out deployment.
  const app = await startBenchApp("scale", { role: "web" });
  const rows: BenchRow[] = [];
  try {
    const rates: number[] = [];
    for (const n of [1, 2, 4]) {
      const ids = await storeActions(app, mixedActionBodies(2000, n * 100_000));
      const rate = await withWorkers(app, n, async () => {
        const started = performance.now();
        for (let i = 0; i < ids.length; i += 100) {
          await Promise.all(
            ids
              .slice(i, i + 100)
              .map((actionId) => decide(app.ctx.db, { actionId, decision: "approve", actor: "U0BENCHAPPR" })),
          );
        }
        await waitUntil(
          async () => (await completed(app, ids)) === ids.length,
          120_000,
          `${n} workers to finish`,
        );
        return ids.length / ((performance.now() - started) / 1000);
      });
      rates.push(rate);
      rows.push({
        benchmark: `scale-out: ${n} worker process${n > 1 ? "es" : ""}, 2,000 approved actions`,
        figure: `${fmt(rate, 0)} actions/s`,
        reference: n === 1 ? "—" : `1 worker: ${fmt(rates[0]!, 0)} actions/s`,
        ratio: n === 1 ? "1.00" : fmt(rate / rates[0]!, 2),
        target: "rises with workers; none applied twice",
        met: (await appliedTwice(app)) === 0 ? "none twice" : "APPLIED TWICE",
      });
    }

    // 200 approvals a second for 10 seconds, with two workers.
    const ids = await storeActions(app, mixedActionBodies(2000, 900_000));
    const { latencies, peak } = await withWorkers(app, 2, async (workers) => {
      const started = performance.now();
      for (let i = 0; i < ids.length; i++) {
        const due = started + i * 5;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        void decide(app.ctx.db, { actionId: ids[i]!, decision: "approve", actor: "U0BENCHAPPR" });
      }
      await waitUntil(
        async () => (await completed(app, ids)) === ids.length,
        120_000,
        "paced approvals to finish",
      );
      const rowsMs = await app.ctx.db.execute<{ ms: number }>(
        sql`select extract(epoch from (completed_at - decided_at)) * 1000 as ms from actions
            where id between ${ids[0]} and ${ids[ids.length - 1]}`,
      );
      return {
        latencies: rowsMs.map((r) => Number(r.ms)),
        peak: Math.max(...workers.map((w) => w.peakRssMb())),
      };
    });
    const p99 = percentile(latencies, 99);
    rows.push({
      benchmark: "decision → completed at 200 approvals/s for 10 s, 2 worker processes",
      figure: `p50 ${fmt(percentile(latencies, 50), 0)} ms, p99 ${fmt(p99, 0)} ms`,
      reference: `worker peak RSS ${fmt(peak, 0)} MB`,
      ratio: "—",
      target: "p99 < 500 ms",
      met: p99 < 500 ? "yes" : "no",
    });
    return rows;
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runScaleBench());
  process.exit(0);
}
