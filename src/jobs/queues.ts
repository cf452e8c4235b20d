// The queues that carry work. Postgres decides what must happen; Redis only carries it, so every
// job is safe to run twice (the processors re-check the store) and ids are deterministic.
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { createRedis } from "../lib/redis.ts";

export const QUEUE_NAMES = {
  execute: "execute",
  slackPost: "slack-post",
  slackUpdate: "slack-update",
  timers: "approval-timers",
  privateReplies: "private-replies",
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

const actionId = z.number().int().positive();
const attempt = z.number().int().nonnegative();

export const executeJobSchema = z.object({ actionId, operation: z.enum(["apply", "undo"]), attempt });
export type ExecuteJob = z.infer<typeof executeJobSchema>;
/** Several actions at once, for a backend that runs them inside the worker's transaction. */
const executeBatchJobSchema = z.object({ batch: z.array(executeJobSchema).min(1) });
export const executeQueueJobSchema = z.union([executeJobSchema, executeBatchJobSchema]);
export type ExecuteQueueJob = z.infer<typeof executeQueueJobSchema>;
/** Post a new message (its pending actions were assigned to it at ingest). */
export const slackPostJobSchema = z.object({ messageId: z.number().int().positive() });
export type SlackPostJob = z.infer<typeof slackPostJobSchema>;
/** Bring a posted message up to at least `version`. */
export const slackUpdateJobSchema = z.object({
  messageId: z.number().int().positive(),
  version: z.number().int(),
});
export type SlackUpdateJob = z.infer<typeof slackUpdateJobSchema>;
/**
 * A pending action's clock: expire it, remind its approvers, or escalate; or the end of a sign-in
 * it waits for. Due when the job runs.
 */
export const timerJobSchema = z.discriminatedUnion("kind", [
  z.object({ actionId, kind: z.enum(["expire", "remind", "escalate"]) }),
  z.object({ actionId, kind: z.literal("sign_in_expiry"), stepUpId: z.number().int().positive() }),
]);
export type TimerJob = z.infer<typeof timerJobSchema>;
/** Bring a private reply up to date with its actions (db/queries/privateReplies.ts). */
export const privateReplyJobSchema = z.object({ replyId: z.number().int().positive() });
export type PrivateReplyJob = z.infer<typeof privateReplyJobSchema>;

/** `apply-42-1`: one job per action, operation and attempt. BullMQ ids may not contain `:`. */
export function executeJobId(job: ExecuteJob): string {
  return `${job.operation}-${job.actionId}-${job.attempt}`;
}

/** One action's job, as added to the execute queue. */
export function executeJobEntry(job: ExecuteJob) {
  return { name: job.operation, data: job, opts: { ...EXECUTE_JOB_OPTIONS, jobId: executeJobId(job) } };
}

/**
 * A message's update job, as added to the Slack update queue: one per message, so that while it
 * waits, later changes join it instead of adding a chat.update of their own.
 */
export function slackUpdateJobEntry(messageId: number, version: number) {
  return {
    name: "update",
    data: { messageId, version } satisfies SlackUpdateJob,
    opts: { ...SLACK_UPDATE_JOB_OPTIONS, jobId: slackUpdateJobId(messageId) },
  };
}

// A reply waits this long before its refresh, so that a decision and the run it starts (or a
// burst of changes on a listing's page) spend one of its response_url's five uses, not several.
const REPLY_GATHER_MS = 1000;

/**
 * A private reply's refresh: one per reply, removed when done, so that while it waits later
 * changes join it, and the next change after it gets a fresh job (a change landing while it runs
 * is picked up by the job's own re-check).
 */
export function privateReplyJobEntry(replyId: number) {
  return {
    name: "refresh",
    data: { replyId } satisfies PrivateReplyJob,
    opts: {
      attempts: 3,
      backoff: { type: "exponential", delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
      jobId: `reply-${replyId}`,
      delay: REPLY_GATHER_MS,
    } satisfies JobsOptions,
  };
}

/** `remind-42`: an action has each of its timers once; a step-up each of its ends once. */
export function timerJobId(job: TimerJob): string {
  if (job.kind === "sign_in_expiry") return `${job.kind}-${job.stepUpId}`;
  return `${job.kind}-${job.actionId}`;
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

export const SLACK_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
};

/**
 * Updates are keyed by message, not by change, and removed when done, so that the next change
 * after a render gets a fresh job. A change that lands while the job is running is picked up by
 * the job's own re-check, and the reconciler sweeps any message still behind.
 */
const SLACK_UPDATE_JOB_OPTIONS: JobsOptions = {
  ...SLACK_JOB_OPTIONS,
  removeOnComplete: true,
  removeOnFail: true,
};

function slackUpdateJobId(messageId: number): string {
  return `update-${messageId}`;
}

export type Queues = {
  execute: Queue<ExecuteQueueJob>;
  slackPost: Queue<SlackPostJob>;
  slackUpdate: Queue<SlackUpdateJob>;
  timers: Queue<TimerJob>;
  privateReplies: Queue<PrivateReplyJob>;
  connection: Redis;
};

/** `producer`: a connection that fails fast while Redis is away, for callers that keep the work elsewhere. */
export function createQueues(
  redisUrl: string,
  prefix: string,
  purpose: "queue" | "producer" = "queue",
): Queues {
  const connection = createRedis(redisUrl, purpose);
  const queues = {
    connection,
    execute: new Queue<ExecuteQueueJob>(QUEUE_NAMES.execute, { connection, prefix }),
    slackPost: new Queue<SlackPostJob>(QUEUE_NAMES.slackPost, { connection, prefix }),
    slackUpdate: new Queue<SlackUpdateJob>(QUEUE_NAMES.slackUpdate, { connection, prefix }),
    timers: new Queue<TimerJob>(QUEUE_NAMES.timers, { connection, prefix }),
    privateReplies: new Queue<PrivateReplyJob>(QUEUE_NAMES.privateReplies, { connection, prefix }),
  };
  // Failed commands surface where they are awaited; this only keeps BullMQ from printing them.
  for (const queue of allQueues(queues)) queue.on("error", () => {});
  return queues;
}

export function allQueues(queues: Omit<Queues, "connection">): Queue[] {
  return [
    queues.execute,
    queues.slackPost,
    queues.slackUpdate,
    queues.timers,
    queues.privateReplies,
  ] as Queue[];
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(allQueues(queues).map((queue) => queue.close()));
  queues.connection.disconnect();
}
