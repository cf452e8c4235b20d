// Moves committed outbox rows into the queues. A row leaves the outbox only in the transaction
// that saw Redis accept its job, so a Redis outage delays work but never loses it, and a
// decision that rolled back never had a row to dispatch. Several dispatchers may run at once:
// rows are claimed with SKIP LOCKED and job ids are deterministic.
import type { JobsOptions } from "bullmq";
import type { AppContext } from "../context.ts";
import type { Tx } from "../db/client.ts";
import {
  type ActionChanged,
  claimOutbox,
  deleteOutbox,
  OUTBOX_CHANNEL,
  type OutboxMessage,
  type Timer,
} from "../db/outbox.ts";
import { actionLanes } from "../db/queries/actions.ts";
import { markRepliesBehind } from "../db/queries/privateReplies.ts";
import { finishesWithin } from "../lib/deadline.ts";
import { createSleeper } from "../lib/sleeper.ts";
import {
  closeQueues,
  createQueues,
  EXECUTE_JOB_OPTIONS,
  type ExecuteJob,
  type ExecuteQueueJob,
  executeJobEntry,
  privateReplyJobEntry,
  SLACK_JOB_OPTIONS,
  type SlackPostJob,
  type SlackUpdateJob,
  slackUpdateJobEntry,
  type TimerJob,
  timerJobId,
} from "./queues.ts";

// Outbox rows per round: a burst's decisions write two rows each (the execute and the change's
// event), so a round makes a few batch jobs of up to EXECUTE_BATCH — enough to keep the batch
// slots of several workers busy, few enough that one device's actions seldom span rounds.
const BATCH = 2000;
const IDLE_POLL_MS = 1000;
const MAX_BACKOFF_MS = 10_000;
/** How long a stop waits for the round in progress (a round takes milliseconds with Postgres up). */
const STOP_MS = 1000;

type Bulk<T> = { name: string; data: T; opts: JobsOptions }[];

// New actions wait this long before posting, so the rest of an investigation's batch joins them
// in one message instead of a flood.
const POST_GATHER_MS = 1500;

/**
 * Actions per execute job when the backend runs them in the worker's transaction. A batch's cost
 * is mostly per action, but not all: at 500 rather than 200, a burst's Postgres time fell by a
 * fifth and its throughput rose by a third (docs/BENCHMARK-NOTES.md). A failure splits the
 * batch into single jobs, so a bigger batch costs nothing in correctness.
 */
export const EXECUTE_BATCH = 500;

/** What each action to execute works on (its device, or its URL), by action id. */
type Lanes = Map<number, string>;

type OutboxRow = { id: number; topic: string; payload: unknown };
/** An action to execute, the outbox row that asked for it and its place in that row. */
type Queued = { item: ExecuteJob; outboxId: number; seq: number };

/**
 * `lanes`, when the backend runs actions inside the worker's transaction (the simulated fleet):
 * the actions of a burst go in batches of up to EXECUTE_BATCH per job, by lane; a lone action,
 * and every action of a backend that runs them one by one, keeps a job of its own.
 */
export function routeOutbox(rows: OutboxRow[], lanes?: Lanes) {
  const executeItems: Queued[] = [];
  const slackPost: Bulk<SlackPostJob> = [];
  const latestVersion = new Map<number, number>();
  const timers: Bulk<TimerJob> = [];
  // Every change, rendered in a channel message or not: a private reply may show the action.
  const changedActions = new Set<number>();
  const renderChange = ({
    messageId,
    messageVersion,
    render,
  }: Pick<ActionChanged, "messageId" | "messageVersion" | "render">) => {
    if (messageId === null || messageVersion === null || render === false) return;
    // One job per message: while it waits, further changes join it instead of adding their own
    // chat.update, so a burst of changes costs one call against Slack's limit.
    latestVersion.set(messageId, Math.max(messageVersion, latestVersion.get(messageId) ?? 0));
  };
  for (const row of rows) {
    const message = { topic: row.topic, payload: row.payload } as OutboxMessage;
    switch (message.topic) {
      case "execute":
        executeItems.push({ item: message.payload, outboxId: row.id, seq: 0 });
        break;
      case "executes":
        message.payload.items.forEach((item, seq) => {
          executeItems.push({ item, outboxId: row.id, seq });
        });
        break;
      case "message.created":
        slackPost.push({
          name: "post",
          data: { messageId: message.payload.messageId },
          opts: { ...SLACK_JOB_OPTIONS, jobId: `post-${message.payload.messageId}`, delay: POST_GATHER_MS },
        });
        break;
      case "action.changed":
        renderChange(message.payload);
        changedActions.add(message.payload.actionId);
        break;
      case "message.changed":
        // The update job waits for the post if it has not landed yet; the post renders the latest.
        renderChange(message.payload);
        break;
      case "actions.changed":
        for (const change of message.payload.changes) {
          renderChange(change);
          changedActions.add(change.actionId);
        }
        break;
      case "timer":
        timers.push(timerJob(message.payload));
        break;
      case "timers":
        for (const timer of message.payload.timers) timers.push(timerJob(timer));
        break;
      case "timerGroups":
        for (const { kind, dueAt, actionIds } of message.payload.groups)
          for (const actionId of actionIds) timers.push(timerJob({ actionId, kind, dueAt }));
        break;
      default:
        throw new Error(`unknown outbox topic ${(message as { topic: string }).topic}`);
    }
  }
  const slackUpdate: Bulk<SlackUpdateJob> = [...latestVersion].map(([messageId, version]) =>
    slackUpdateJobEntry(messageId, version),
  );
  return {
    execute: executeJobs(executeItems, lanes),
    slackPost,
    slackUpdate,
    timers,
    changedActions: [...changedActions],
  };
}

function timerJob(timer: Timer): Bulk<TimerJob>[number] {
  const { actionId, kind, dueAt } = timer;
  const data: TimerJob =
    timer.kind === "sign_in_expiry"
      ? { actionId, kind: timer.kind, stepUpId: timer.stepUpId }
      : { actionId, kind: timer.kind };
  return {
    name: kind,
    data,
    // The due time is absolute, so a row that waited in the outbox is not scheduled late.
    opts: { ...SLACK_JOB_OPTIONS, jobId: timerJobId(data), delay: Math.max(0, dueAt - Date.now()) },
  };
}

/**
 * Batches of at most EXECUTE_BATCH, each action in its lane's batch: actions on one device (or
 * one URL) share a batch, so batches running side by side do not queue for each other's locks.
 * Lanes are packed into as few batches as hold them (5,000 actions on 5,000 devices make ten
 * full batches, not ten uneven ones and their overflow); each batch runs in the order queued.
 */
function executeJobs(queued: Queued[], lanes: Lanes | undefined): Bulk<ExecuteQueueJob> {
  if (!lanes || queued.length === 1) return queued.map(({ item }) => executeJobEntry(item));
  const byLane = new Map<string, Queued[]>();
  for (const entry of queued) {
    const lane = lanes.get(entry.item.actionId) ?? String(entry.item.actionId);
    const group = byLane.get(lane);
    if (group) group.push(entry);
    else byLane.set(lane, [entry]);
  }
  const position = new Map(queued.map((entry, i) => [entry, i]));
  const batches: Queued[][] = [];
  let open: Queued[] = [];
  for (const group of byLane.values()) {
    for (let i = 0; i < group.length; i += EXECUTE_BATCH) {
      const part = group.slice(i, i + EXECUTE_BATCH);
      if (open.length + part.length > EXECUTE_BATCH) {
        batches.push(open);
        open = [];
      }
      open.push(...part);
    }
  }
  if (open.length > 0) batches.push(open);
  return batches.map((batch) => {
    const chunk = batch.sort((a, b) => position.get(a)! - position.get(b)!);
    return {
      name: "batch",
      data: { batch: chunk.map(({ item }) => item) },
      // Named after its first outbox row (and place in it): the same rows dispatched again (a
      // dispatcher that died before deleting them) make the same job, and no later batch can
      // take its name.
      opts: { ...EXECUTE_JOB_OPTIONS, jobId: batchJobId(chunk[0]!, chunk.length) },
    };
  });
}

function batchJobId(first: Queued, length: number): string {
  return first.seq === 0
    ? `batch-${first.outboxId}-${length}`
    : `batch-${first.outboxId}.${first.seq}-${length}`;
}

async function lanesOf(tx: Tx, rows: OutboxRow[]): Promise<Lanes> {
  const ids = rows.flatMap((row) => {
    const message = { topic: row.topic, payload: row.payload } as OutboxMessage;
    if (message.topic === "execute") return [message.payload.actionId];
    if (message.topic === "executes") return message.payload.items.map((item) => item.actionId);
    return [];
  });
  if (ids.length < 2) return new Map();
  return actionLanes(tx, ids);
}

type OutboxDispatcher = { stop(): Promise<void>; dispatchOnce(): Promise<number> };

export function startOutboxDispatcher(ctx: AppContext): OutboxDispatcher {
  // Its own connection, failing fast while Redis is away, so a transaction is never held open
  // waiting for Redis; the rows simply stay for the next round.
  const queues = createQueues(ctx.config.redisUrl, ctx.config.queuePrefix, "producer");

  let running = true;
  const { sleep, wake } = createSleeper();

  async function dispatchOnce(): Promise<number> {
    return ctx.db.transaction(async (tx) => {
      const rows = await claimOutbox(tx, BATCH);
      if (rows.length === 0) return 0;
      const jobs = routeOutbox(
        rows,
        ctx.backend.runs === "in_transaction" ? await lanesOf(tx, rows) : undefined,
      );
      if (jobs.execute.length > 0) await queues.execute.addBulk(jobs.execute);
      if (jobs.slackPost.length > 0) await queues.slackPost.addBulk(jobs.slackPost);
      if (jobs.slackUpdate.length > 0) await queues.slackUpdate.addBulk(jobs.slackUpdate);
      if (jobs.timers.length > 0) await queues.timers.addBulk(jobs.timers);
      const replies = await markRepliesBehind(tx, jobs.changedActions);
      if (replies.length > 0) await queues.privateReplies.addBulk(replies.map(privateReplyJobEntry));
      await deleteOutbox(
        tx,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
  }

  const listening = ctx.sql
    .listen(OUTBOX_CHANNEL, () => wake())
    .catch((error: unknown) => {
      ctx.log.warn({ err: error }, "outbox LISTEN failed; polling only");
      return null;
    });

  const loop = (async () => {
    let backoff = 100;
    while (running) {
      try {
        const n = await dispatchOnce();
        backoff = 100;
        if (n < BATCH) await sleep(IDLE_POLL_MS);
      } catch (error) {
        if (!running) {
          // A round abandoned at stop (already logged) fails once its connection is closed; its
          // rows stay in the outbox for the next start.
          ctx.log.debug({ err: error }, "outbox round cut off by the stop");
          break;
        }
        ctx.log.warn({ err: error, retryInMs: backoff }, "outbox dispatch failed; will retry");
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  })();

  return {
    dispatchOnce,
    async stop() {
      running = false;
      wake();
      const finished = (async () => {
        await loop;
        const subscription = await listening;
        await subscription?.unlisten().catch(() => {});
      })();
      if (!(await finishesWithin(finished, STOP_MS))) {
        // Its transaction never commits, so the rows it claimed are still there for the next round.
        ctx.log.warn({ waitedMs: STOP_MS }, "outbox round abandoned: Postgres does not answer");
      }
      await closeQueues(queues);
    },
  };
}
