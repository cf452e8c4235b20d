// One BullMQ worker on one of our queues: its job data parsed before the processor sees it,
// outcomes counted and failures logged the same way for every queue.
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { z } from "zod";
import type { AppContext } from "../context.ts";
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

export function startWorker<T>(ctx: AppContext, definition: JobDefinition<T>): Worker<T, string> {
  const { queue, data, processor } = definition;
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
      return processor(job, { worker: worker as Worker, token });
    },
    {
      connection: createRedis(ctx.config.redisUrl, "queue"),
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
  worker.on("error", (error) => ctx.log.warn({ queue, err: error }, "worker error"));
  return worker;
}
