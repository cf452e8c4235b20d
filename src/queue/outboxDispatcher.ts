// Moves committed outbox rows into the queues. A row leaves the outbox only in the transaction
// that saw Redis accept its job, so a Redis outage delays work but never loses it, and a
// decision that rolled back never had a row to dispatch. Several dispatchers may run at once:
// rows are claimed with SKIP LOCKED and job ids are deterministic.
import { type JobsOptions, Queue } from "bullmq";
import { inArray } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { OUTBOX_CHANNEL, type OutboxMessage } from "../db/queries/actions.ts";
import { outbox } from "../db/schema.ts";
import {
  createRedis,
  EXECUTE_JOB_OPTIONS,
  type ExecuteJob,
  executeJobId,
  NOTIFY_JOB_OPTIONS,
  type NotifyJob,
  QUEUE_NAMES,
} from "./queues.ts";

const BATCH = 500;
const IDLE_POLL_MS = 1000;
const MAX_BACKOFF_MS = 10_000;

type Bulk<T> = { name: string; data: T; opts: JobsOptions }[];

export function routeOutbox(rows: { topic: string; payload: unknown }[]) {
  const execute: Bulk<ExecuteJob> = [];
  const notify: Bulk<NotifyJob> = [];
  for (const row of rows) {
    const message = { topic: row.topic, payload: row.payload } as OutboxMessage;
    switch (message.topic) {
      case "execute":
        execute.push({
          name: message.payload.operation,
          data: message.payload,
          opts: { ...EXECUTE_JOB_OPTIONS, jobId: executeJobId(message.payload) },
        });
        break;
      case "action.created":
        notify.push({
          name: "post",
          data: { kind: "post", ...message.payload },
          opts: { ...NOTIFY_JOB_OPTIONS, jobId: `post-${message.payload.actionId}` },
        });
        break;
      case "action.changed":
        notify.push({
          name: "refresh",
          data: { kind: "refresh", actionId: message.payload.actionId, eventId: message.payload.eventId },
          opts: {
            ...NOTIFY_JOB_OPTIONS,
            jobId: `refresh-${message.payload.actionId}-${message.payload.eventId}`,
          },
        });
        break;
      default:
        throw new Error(`unknown outbox topic ${(message as { topic: string }).topic}`);
    }
  }
  return { execute, notify };
}

export type OutboxDispatcher = { stop(): Promise<void>; dispatchOnce(): Promise<number> };

export function startOutboxDispatcher(ctx: AppContext): OutboxDispatcher {
  // Its own connection, failing fast while Redis is away, so a transaction is never held open
  // waiting for Redis; the rows simply stay for the next round.
  const connection = createRedis(ctx.config.redisUrl, "producer");
  const prefix = ctx.config.queuePrefix;
  const executeQueue = new Queue<ExecuteJob>(QUEUE_NAMES.execute, { connection, prefix });
  const notifyQueue = new Queue<NotifyJob>(QUEUE_NAMES.notify, { connection, prefix });
  executeQueue.on("error", () => {});
  notifyQueue.on("error", () => {});

  let running = true;
  let wake: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  async function dispatchOnce(): Promise<number> {
    return ctx.db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(outbox)
        .orderBy(outbox.id)
        .limit(BATCH)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return 0;
      const { execute, notify } = routeOutbox(rows);
      if (execute.length > 0) await executeQueue.addBulk(execute);
      if (notify.length > 0) await notifyQueue.addBulk(notify);
      await tx.delete(outbox).where(
        inArray(
          outbox.id,
          rows.map((r) => r.id),
        ),
      );
      return rows.length;
    });
  }

  const listening = ctx.sql
    .listen(OUTBOX_CHANNEL, () => wake?.())
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
      wake?.();
      await loop;
      const subscription = await listening;
      await subscription?.unlisten().catch(() => {});
      await Promise.all([executeQueue.close(), notifyQueue.close()]);
      connection.disconnect();
    },
  };
}
