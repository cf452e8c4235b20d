// One BullMQ worker on one of our queues: its job data parsed before the processor sees it,
// outcomes counted and failures logged the same way for every queue.
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { z } from "zod";
import type { AppContext } from "../context.ts";
import { finishesWithin } from "../lib/deadline.ts";
import { createRedis } from "../lib/redis.ts";
import type { QueueName } from "./queues.ts";

/** What a processor may ask of the worker running it: a queue-wide pause, a delay with its lock. */
export type JobRun = { worker: Worker; token: string | undefined };
/** A plain async processor: its result names the outcome, counted by the worker's metrics. */
export type JobProcessor<T> = (job: Job<T>, run: JobRun) => Promise<string>;

export type JobDefinition<T> = {
  queue: QueueName;
  /** What a job of this queue carries; a job that does not parse fails at once, unretried. */
  data: z.ZodType<T>;
  processor: JobProcessor<T>;
  concurrency: number;
  limiter?: { max: number; duration: number };
};

/**
 * A started worker, when none of its processors is running (for shutdown), and its connection:
 * BullMQ leaves a connection it was given open when the worker closes, so the stop closes it.
 */
export type QueueWorker = { worker: Worker; idle(): Promise<void>; connection: Redis };

export function startWorker<T>(ctx: AppContext, definition: JobDefinition<T>): QueueWorker {
  const { queue, data, processor } = definition;
  let running = 0;
  const whenIdle: (() => void)[] = [];
  const connection = createRedis(ctx.config.redisUrl, "queue");
  const worker: Worker<T, string> = new Worker<T, string>(
    queue,
    async (job, token) => {
      const parsed = data.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `job ${job.id} on ${queue} carries unexpected data: ${parsed.error.message}`,
        );
      }
      job.data = parsed.data;
      running += 1;
      try {
        return await processor(job, { worker: worker as Worker, token });
      } finally {
        running -= 1;
        if (running === 0) for (const resolve of whenIdle.splice(0)) resolve();
      }
    },
    {
      connection,
      prefix: ctx.config.queuePrefix,
      concurrency: definition.concurrency,
      limiter: definition.limiter,
      lockDuration: ctx.config.jobLockMs,
      stalledInterval: ctx.config.jobLockMs,
      maxStalledCount: 5,
    },
  );
  worker.on("completed", (_job, result) => {
    ctx.metrics.jobs.inc({ queue, outcome: typeof result === "string" ? result : "completed" });
  });
  worker.on("failed", (job, error) => {
    ctx.metrics.jobs.inc({ queue, outcome: "error" });
    ctx.log.warn(
      { queue, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
      "job attempt failed",
    );
  });
  worker.on("stalled", (jobId) => {
    ctx.log.info({ queue, jobId }, "job taken over: its worker stopped holding it (stalled)");
  });
  worker.on("error", (error) => ctx.log.warn({ queue, err: error }, "worker error"));
  return {
    worker: worker as unknown as Worker,
    connection,
    idle: () => (running === 0 ? Promise.resolve() : new Promise((resolve) => whenIdle.push(resolve))),
  };
}

/** How long running jobs may take to finish once the process is asked to stop. */
const JOB_GRACE_MS = 5000;
/** Whether Redis answers decides how the workers close; a dead one must not be waited for. */
const REDIS_CHECK_MS = 1000;
const CLOSE_MS = 2000;

/**
 * Stops the workers taking jobs, gives the running ones JOB_GRACE_MS to finish, then closes them.
 * Only with nothing running and Redis answering do they close gracefully (BullMQ records the last
 * outcomes and releases the locks); otherwise they close at once, without waiting on Redis. A job
 * still running then keeps its lock in Redis until JOB_LOCK_MS runs out and is picked up again as
 * stalled, by another worker or by this one after its restart: nothing is lost, and the processors
 * re-check the store, so nothing runs twice.
 */
export async function closeWorkers(ctx: AppContext, workers: QueueWorker[]): Promise<void> {
  const log = ctx.log;
  // Pausing touches no Redis: it only stops the workers fetching more jobs.
  await Promise.all(workers.map(({ worker }) => worker.pause(true)));
  const finished = await finishesWithin(Promise.all(workers.map((w) => w.idle())), JOB_GRACE_MS);
  if (!finished) {
    log.warn(
      { graceMs: JOB_GRACE_MS, lockMs: ctx.config.jobLockMs },
      "jobs still running after the grace period: left to their locks, picked up again as stalled",
    );
  }
  const redisAnswers =
    finished && (await finishesWithin(ctx.probe.ping(), REDIS_CHECK_MS).catch(() => false));
  if (finished && !redisAnswers) {
    log.warn("Redis does not answer: closing the workers without waiting for it");
  }
  const graceful = finished && redisAnswers;
  const closed = await finishesWithin(
    Promise.all(workers.map(({ worker }) => worker.close(!graceful))),
    CLOSE_MS,
  );
  if (!closed) log.warn({ closeMs: CLOSE_MS }, "workers did not close in time; leaving them to the exit");
  for (const { connection } of workers) connection.disconnect();
}
