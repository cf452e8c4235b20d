// The queues that carry work. Postgres decides what must happen; Redis only carries it, so every
// job is safe to run twice (the processors re-check the store) and ids are deterministic.
import { type JobsOptions, Queue } from "bullmq";
import { Redis } from "ioredis";

export const QUEUE_NAMES = { execute: "execute", notify: "notify" } as const;

export type ExecuteJob = { actionId: number; operation: "apply" | "undo"; attempt: number };
export type NotifyJob =
  | { kind: "post"; actionId: number; investigationId: string | null }
  | { kind: "refresh"; actionId: number; eventId: number };

/** `apply-42-1`: one job per action, operation and attempt. BullMQ ids may not contain `:`. */
export function executeJobId(job: ExecuteJob): string {
  return `${job.operation}-${job.actionId}-${job.attempt}`;
}

/**
 * `queue`: workers block on Redis and wait out an outage (BullMQ requires no retry limit).
 * `producer` and `probe`: fail fast while Redis is away, so callers can keep the work elsewhere.
 */
export function createRedis(url: string, purpose: "queue" | "producer" | "probe"): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: purpose === "queue" ? null : 1,
    enableOfflineQueue: purpose === "queue",
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Connection errors are reported by the commands that fail; without a listener ioredis would
  // also print each reconnect attempt to stderr.
  redis.on("error", () => {});
  return redis;
}

// Kept for a day so that a re-dispatch of the same id is recognised and ignored.
const KEEP_COMPLETED = { age: 24 * 3600, count: 100_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600 };

export const EXECUTE_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
};

export const NOTIFY_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
};

export type Queues = { execute: Queue<ExecuteJob>; notify: Queue<NotifyJob>; connection: Redis };

export function createQueues(redisUrl: string, prefix: string): Queues {
  const connection = createRedis(redisUrl, "queue");
  const execute = new Queue<ExecuteJob>(QUEUE_NAMES.execute, { connection, prefix });
  const notify = new Queue<NotifyJob>(QUEUE_NAMES.notify, { connection, prefix });
  // Failed commands surface where they are awaited; this only keeps BullMQ from printing them.
  for (const queue of [execute, notify]) queue.on("error", () => {});
  return { connection, execute, notify };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all([queues.execute.close(), queues.notify.close()]);
  queues.connection.disconnect();
}
