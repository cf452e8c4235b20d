// Decision → completed throughput of the execute worker with the simulated backend, beside the
// throughput of bare BullMQ no-op jobs on the same Redis with the same worker concurrency.
// Each figure is the median of a few rounds, ours and the reference's alternating, since a
// shared two-core machine drifts by a third from one second to the next.
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { startOutboxDispatcher } from "../src/jobs/outboxDispatcher.ts";
import { decideInTransaction } from "../src/services/decide.ts";
import { obliterateQueues, REDIS_URL, uniqueName } from "../test/support/db.ts";
import {
  type BenchApp,
  type BenchRow,
  fmt,
  mixedActionBodies,
  percentile,
  startBenchApp,
  storeActions,
} from "./support.ts";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = 5;

/**
 * Bare BullMQ: a worker whose processor does nothing. `addedFirst`: the jobs are all in Redis
 * before the clock starts; otherwise they are added (in bulks of 500) while the worker runs, so
 * the figure includes getting them into the queue, as ours does (the outbox dispatcher adds
 * the decisions' jobs inside the measured time).
 */
async function bareBullmq(jobs: number, addedFirst: boolean): Promise<number> {
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
  const add = async () => {
    for (let i = 0; i < jobs; i += 500) {
      await queue.addBulk(
        Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({
          name: "noop",
          data: { n: i + k },
          opts: { jobId: `noop-${i + k}` },
        })),
      );
    }
  };
  if (addedFirst) await add();
  else await worker.waitUntilReady();
  const started = performance.now();
  void worker.run();
  if (!addedFirst) await add();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.close();
  connection.disconnect();
  await obliterateQueues(prefix);
  return jobs / seconds;
}

/**
 * The decisions are committed first, by a web process, with no worker running; then a worker
 * starts on the same store and queues, and the clock runs from its start until every action is
 * completed. In that time the worker does all that follows a decision in production: the outbox
 * rows into jobs, the batches against the fleet, the audit trail and the Slack messages' new
 * versions (none of the messages is posted yet, at Slack's one post per second, so no update
 * job is queued for them).
 */
async function decisionToCompleted(count: number, devices: number): Promise<number> {
  const web = await startBenchApp("worker", { role: "web" });
  try {
    const db = web.ctx.db;
    const ids = await storeActions(web, mixedActionBodies(count, 0, devices));
    // What ingest queued (posts, approval timers) goes to Redis now, as it would have long
    // before anyone decided: the measured outbox holds only what the decisions wrote.
    const dispatcher = startOutboxDispatcher(web.ctx);
    while ((await dispatcher.dispatchOnce()) > 0);
    await dispatcher.stop();
    for (let i = 0; i < ids.length; i += 200) {
      await db.transaction(async (tx) => {
        for (const actionId of ids.slice(i, i + 200)) {
          await decideInTransaction(tx, { actionId, decision: "approve", actor: "U0BENCHAPPR" });
        }
      });
    }
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
    if (runs!.twice > 0) throw new Error(`${runs!.twice} actions were applied twice`);
    return count / seconds;
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

async function workerRow(count: number, devices: number): Promise<BenchRow> {
  const ours: number[] = [];
  const endToEnd: number[] = [];
  const processOnly: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    ours.push(await decisionToCompleted(count, devices));
    endToEnd.push(await bareBullmq(count, false));
    processOnly.push(await bareBullmq(count, true));
  }
  const [figure, bare, bareFirst] = [ours, endToEnd, processOnly].map((v) => percentile(v, 50)) as [
    number,
    number,
    number,
  ];
  return {
    benchmark: `decision committed → completed, ${count} actions on ${devices} devices, concurrency ${CONCURRENCY} (median of ${ROUNDS}; none applied twice)`,
    figure: `${fmt(figure, 0)} actions/s (rounds: ${ours.map((v) => fmt(v, 0)).join(", ")})`,
    reference: `bare BullMQ no-op, jobs added and run in the timed window as ours are: ${fmt(bare, 0)} jobs/s; jobs added before the clock starts: ${fmt(bareFirst, 0)} jobs/s (ratio to that ${fmt(figure / bareFirst, 2)})`,
    ratio: fmt(figure / bare, 2),
    target: "≥ 0.5",
    met: figure / bare >= 0.5 ? "yes" : "no",
  };
}

/** A fleet-wide outbreak (three actions per device), then one concentrated on 50 devices. */
export async function runWorkerBench(count = 6000): Promise<BenchRow[]> {
  return [await workerRow(count, 2000), await workerRow(count, 50)];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runWorkerBench(Number(process.argv[2] ?? 6000));
  console.table(rows);
  process.exit(0);
}
