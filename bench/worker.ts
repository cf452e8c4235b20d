// Decision → completed throughput of the execute worker with the simulated backend, beside the
// throughput of bare BullMQ no-op jobs on the same Redis with the same worker concurrency.
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { startOutboxDispatcher } from "../src/queue/outboxDispatcher.ts";
import { decide } from "../src/services/decide.ts";
import { obliterateQueues, REDIS_URL, uniqueName } from "../test/support/db.ts";
import {
  type BenchApp,
  type BenchRow,
  fmt,
  mixedActionBodies,
  startBenchApp,
  storeActions,
} from "./support.ts";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

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

/**
 * As the bare reference is measured (jobs added, then the worker started): the decisions are
 * committed first, by a web process, with no worker running; then a worker starts on the same
 * store and queues, and the clock runs from its start until every action is completed. The
 * worker processes the outbox (the decisions' jobs and every change's Slack update), the
 * batches and the audit trail, as in production.
 */
async function decisionToCompleted(count: number, devices: number): Promise<BenchRow> {
  const web = await startBenchApp("worker", { role: "web" });
  try {
    const db = web.ctx.db;
    const ids = await storeActions(web, mixedActionBodies(count, 0, devices));
    // What ingest queued (posts, approval timers) goes to Redis now, as it would have long
    // before anyone decided: the measured outbox holds only what the decisions wrote.
    const dispatcher = startOutboxDispatcher(web.ctx);
    while ((await dispatcher.dispatchOnce()) > 0);
    await dispatcher.stop();
    const decideStarted = performance.now();
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids
          .slice(i, i + 100)
          .map((actionId) => decide(db, { actionId, decision: "approve", actor: "U0BENCHAPPR" })),
      );
    }
    const decidedIn = (performance.now() - decideStarted) / 1000;
    const started = performance.now();
    const worker = await startBenchApp("worker", {
      role: "worker",
      databaseUrl: web.databaseUrl,
      env: { WORKER_CONCURRENCY: String(CONCURRENCY), QUEUE_PREFIX: web.env.QUEUE_PREFIX! },
      slack: {},
    });
    try {
      await untilAllCompleted(db, count);
    } finally {
      await worker.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const [runs] = await db.execute<{ twice: number }>(
      sql`select count(*)::int as twice from backend_runs where count > 1`,
    );
    const endToEnd = count / seconds;
    const bare = await bareBullmq(count);
    return {
      benchmark: `decision committed → completed, ${count} actions on ${devices} devices, concurrency ${CONCURRENCY} (decisions committed first, ${fmt(count / decidedIn, 0)}/s; worker started after)`,
      figure: `${fmt(endToEnd, 0)} actions/s; ${runs!.twice} applied twice`,
      reference: `bare BullMQ no-op: ${fmt(bare, 0)} jobs/s (jobs added first, worker started after)`,
      ratio: fmt(endToEnd / bare, 2),
      target: "≥ 0.5",
      met: endToEnd / bare >= 0.5 ? "yes" : "no",
    };
  } finally {
    await web.close();
  }
}

/** Waits until every action completed; a failed one, or five minutes, ends the benchmark. */
async function untilAllCompleted(db: BenchApp["ctx"]["db"], count: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const [row] = await db.execute<{ completed: number; failed: number }>(
      sql`select count(*) filter (where status = 'completed')::int as completed,
                 count(*) filter (where status = 'failed')::int as failed
          from actions where status in ('completed', 'failed')`,
    );
    if (row!.failed > 0) throw new Error(`${row!.failed} actions failed in the worker benchmark`);
    if (row!.completed === count) return;
    if (Date.now() > deadline)
      throw new Error(`only ${row!.completed} of ${count} actions completed in 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fleet-wide outbreak (a few actions per device), then one concentrated on 50 devices. */
export async function runWorkerBench(count = 6000): Promise<BenchRow[]> {
  return [await decisionToCompleted(count, 2000), await decisionToCompleted(count, 50)];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runWorkerBench(Number(process.argv[2] ?? 6000));
  console.table(rows);
  process.exit(0);
}
