import { type Processor, Worker } from "bullmq";
import type { AppContext } from "../context.ts";
import { createRedis } from "../lib/redis.ts";
import type { QUEUE_NAMES } from "./queues.ts";

/** Starts a BullMQ worker on one of our queues, counting outcomes and logging failures. */
export function startWorker<T, R>(
  ctx: AppContext,
  queue: (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES],
  processor: Processor<T, R>,
  options: { concurrency: number; limiter?: { max: number; duration: number } },
): Worker<T, R> {
  const worker = new Worker<T, R>(queue, processor, {
    connection: createRedis(ctx.config.redisUrl, "queue"),
    prefix: ctx.config.queuePrefix,
    concurrency: options.concurrency,
    limiter: options.limiter,
    lockDuration: ctx.config.jobLockMs,
    stalledInterval: ctx.config.jobLockMs,
    maxStalledCount: 5,
  });
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
  worker.on("error", (error) => ctx.log.warn({ queue, err: error }, "worker error"));
  return worker;
}
