// Every queue's worker in one list: which queue, what its jobs carry (checked), which processor
// runs them and how many at once. `startWorkers` starts them all; a new job goes here.
import type { WebClient } from "@slack/web-api";
import type { Backend } from "../backend/types.ts";
import type { AppContext } from "../context.ts";
import type { ApproverList } from "../domain/permissions.ts";
import { createExecuteProcessor } from "./processors/execute/index.ts";
import { createPrivateReplyProcessor } from "./processors/privateReply.ts";
import { createSlackPostProcessor } from "./processors/slackPost.ts";
import { createSlackUpdateProcessor } from "./processors/slackUpdate.ts";
import { createTimerProcessor } from "./processors/timers.ts";
import {
  executeQueueJobSchema,
  privateReplyJobSchema,
  QUEUE_NAMES,
  type QueueName,
  slackPostJobSchema,
  slackUpdateJobSchema,
  timerJobSchema,
} from "./queues.ts";
import { closeWorkers, type JobDefinition, type QueueWorker, startWorker } from "./worker.ts";

export type WorkerDeps = {
  ctx: AppContext;
  backend: Backend;
  /** The workers' Slack client: rate limits come back as errors, so the queue waits, not the call. */
  slack: WebClient;
  /** Who may decide (APPROVERS), mentioned by reminders that name nobody themselves. */
  approvers: ApproverList;
};

/** A queue's definition with its job type checked, ready to start. */
type RegisteredJob = { queue: QueueName; start(ctx: AppContext): QueueWorker };

function register<T>(definition: JobDefinition<T>): RegisteredJob {
  return { queue: definition.queue, start: (ctx) => startWorker(ctx, definition) };
}

function registeredJobs({ ctx, backend, slack, approvers }: WorkerDeps): RegisteredJob[] {
  const limits = backend.runs === "remote" ? backend.workerLimits : undefined;
  return [
    register({
      queue: QUEUE_NAMES.execute,
      data: executeQueueJobSchema,
      processor: createExecuteProcessor(ctx, backend),
      concurrency: Math.min(ctx.config.workerConcurrency, limits?.maxConcurrency ?? Number.POSITIVE_INFINITY),
      limiter: limits?.limiter,
    }),
    register({
      queue: QUEUE_NAMES.slackPost,
      data: slackPostJobSchema,
      processor: createSlackPostProcessor(ctx, slack),
      // Slack allows about one message per second per channel. The limiter spaces job starts, and
      // a post reads its message from the store before calling Slack, so the calls themselves
      // can come closer together by that read's jitter: a quarter second of margin absorbs it.
      concurrency: 1,
      limiter: { max: 1, duration: 1250 },
    }),
    register({
      queue: QUEUE_NAMES.slackUpdate,
      data: slackUpdateJobSchema,
      processor: createSlackUpdateProcessor(ctx, slack),
      // chat.update is a Tier 3 method (about 50 a minute); bursts are coalesced per message.
      concurrency: 4,
      limiter: { max: 50, duration: 60_000 },
    }),
    register({
      queue: QUEUE_NAMES.timers,
      data: timerJobSchema,
      processor: createTimerProcessor(ctx, slack, approvers),
      concurrency: 4,
    }),
    register({
      queue: QUEUE_NAMES.privateReplies,
      data: privateReplyJobSchema,
      // Through response_urls, not the Web API: no rate limit of Slack's applies.
      processor: createPrivateReplyProcessor(ctx),
      concurrency: 4,
    }),
  ];
}

/** Starts a worker per queue; `close` lets running jobs finish (or hands them back) first. */
export function startWorkers(deps: WorkerDeps): { close(): Promise<void> } {
  const workers = registeredJobs(deps).map((job) => job.start(deps.ctx));
  return { close: () => closeWorkers(deps.ctx, workers) };
}
