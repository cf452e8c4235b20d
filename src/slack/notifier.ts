// Keeps the channel in step with the store. Posts: each message row (one per investigation's
// batch of new actions, assigned at ingest) is posted once, never lost and never duplicated: a
// retry looks for its own message in the channel before posting again. Updates: each message is re-rendered from
// the store, serialised per message, and many changes in a burst collapse into one chat.update.

import type { WebClient } from "@slack/web-api";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { and, asc, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { defenderPortalLinks } from "../backend/defender/links.ts";
import type { Config } from "../config/env.ts";
import type { AppContext } from "../context.ts";
import type { DbOrTx } from "../db/client.ts";
import { transactionLock } from "../db/locks.ts";
import { type ActionRow, actionApprovals, actionEvents, actions, slackMessages } from "../db/schema.ts";
import { type SlackPostJob, type SlackUpdateJob, slackUpdateJobEntry } from "../jobs/queues.ts";
import {
  type ActionView,
  actionMessage,
  type MessageOptions,
  type SlackMessage,
} from "./blocks/actionMessage.ts";
import { investigationMessage } from "./blocks/investigationMessage.ts";
import { threadEventText } from "./blocks/modals.ts";
import { truncate } from "./text.ts";

export const MESSAGE_EVENT_TYPE = "action_center_message";
// Audit events not worth a line in the thread: the message itself says the action arrived.
// Reminders and escalations are posts of their own.
const UNTHREADED_KINDS = ["received", "recorded_completed", "reminded", "escalated"];
const THREAD_LINES_PER_POST = 20;

/** An action as its message shows it: with the approvals so far when it needs more than one. */
export type MessageAction = ActionRow & Pick<ActionView, "approvals">;

export async function messageActions(db: DbOrTx, messageId: number): Promise<MessageAction[]> {
  const rows = await db
    .select()
    .from(actions)
    .where(eq(actions.slackMessageId, messageId))
    .orderBy(asc(actions.id));
  const counted = rows.filter((row) => row.approvalsNeeded > 1).map((row) => row.id);
  if (counted.length === 0) return rows;
  const given = await db
    .select()
    .from(actionApprovals)
    .where(inArray(actionApprovals.actionId, counted))
    .orderBy(asc(actionApprovals.at), asc(actionApprovals.userId));
  return rows.map((row) =>
    row.approvalsNeeded > 1
      ? {
          ...row,
          approvals: {
            needed: row.approvalsNeeded,
            by: given.filter((a) => a.actionId === row.id).map((a) => a.userId),
          },
        }
      : row,
  );
}

export function renderMessage(
  message: { id: number; investigationId: string | null },
  rows: MessageAction[],
  options: MessageOptions,
): SlackMessage {
  if (rows.length === 1 || message.investigationId === null) return actionMessage(rows[0]!, options);
  return investigationMessage(
    { investigationId: message.investigationId, messageKey: message.id, actions: rows },
    options,
  );
}

/** Our links, and the Defender portal's pages when Defender runs the actions. */
export function messageOptions(config: Config): MessageOptions {
  return { publicUrl: config.publicUrl, ...(config.defender && { portalLinks: defenderPortalLinks }) };
}

/** What Slack's rate-limit error carries; the client raises it instead of waiting itself. */
function retryAfterMs(error: unknown): number | null {
  const e = error as { code?: string; retryAfter?: number };
  return e?.code === "slack_webapi_rate_limited_error" ? Math.max(1, e.retryAfter ?? 1) * 1000 : null;
}

/** Calls Slack for a queue worker: a rate limit pauses the whole queue instead of failing the job. */
export async function slackCall<T>(
  ctx: AppContext,
  worker: Worker,
  method: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    const result = await call();
    ctx.metrics.slackCalls.inc({ method, outcome: "ok" });
    return result;
  } catch (error) {
    const wait = retryAfterMs(error);
    if (wait === null) {
      ctx.metrics.slackCalls.inc({ method, outcome: "error" });
      throw error;
    }
    // Slack asked us to slow down: the whole queue waits, and this job is not charged an attempt.
    ctx.metrics.slackCalls.inc({ method, outcome: "rate_limited" });
    await worker.rateLimit(wait);
    throw Worker.RateLimitError();
  }
}

export function createPostProcessor(ctx: AppContext, client: WebClient, getWorker: () => Worker) {
  return async function post(job: Job<SlackPostJob>): Promise<string> {
    const { messageId } = job.data;
    const [message] = await ctx.db.select().from(slackMessages).where(eq(slackMessages.id, messageId));
    if (!message) throw new UnrecoverableError(`message ${messageId} vanished`);
    if (message.ts !== null) return "already_posted";
    // An earlier attempt may have posted and died before storing the ts: look before posting again.
    if (job.attemptsMade > 0) {
      const found = await findPostedMessage(ctx, client, getWorker(), message.channel, messageId);
      if (found) {
        await storeTs(ctx.db, messageId, found, -1);
        await renderLaterChanges(ctx, messageId, -1);
        return "recovered";
      }
    }
    const version = message.version;
    const rendered = renderMessage(
      message,
      await messageActions(ctx.db, messageId),
      messageOptions(ctx.config),
    );
    const answer = await slackCall(ctx, getWorker(), "chat.postMessage", () =>
      client.chat.postMessage({
        channel: message.channel,
        text: rendered.text,
        blocks: rendered.blocks,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: MESSAGE_EVENT_TYPE, event_payload: { messageId } },
      }),
    );
    await storeTs(ctx.db, messageId, answer.ts!, version);
    await renderLaterChanges(ctx, messageId, version);
    return "posted";
  };
}

/**
 * Changes to a message not yet posted queue no render (the post shows the state of its moment),
 * so those committed while the post was on its way are rendered now.
 */
async function renderLaterChanges(ctx: AppContext, messageId: number, posted: number): Promise<void> {
  const [now] = await ctx.db
    .select({ version: slackMessages.version })
    .from(slackMessages)
    .where(eq(slackMessages.id, messageId));
  if (!now || now.version <= posted) return;
  const job = slackUpdateJobEntry(messageId, now.version);
  await ctx.queues.slackUpdate.add(job.name, job.data, job.opts);
}

async function storeTs(db: DbOrTx, messageId: number, ts: string, version: number): Promise<void> {
  await db
    .update(slackMessages)
    .set({ ts, renderedVersion: sql`greatest(${slackMessages.renderedVersion}, ${version})` })
    .where(and(eq(slackMessages.id, messageId), isNull(slackMessages.ts)));
}

async function findPostedMessage(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  channel: string,
  messageId: number,
): Promise<string | null> {
  const history = await slackCall(ctx, worker, "conversations.history", () =>
    client.conversations.history({ channel, limit: 200, include_all_metadata: true }),
  );
  const mine = history.messages?.find(
    (m) =>
      m.metadata?.event_type === MESSAGE_EVENT_TYPE &&
      Number((m.metadata.event_payload as { messageId?: unknown } | undefined)?.messageId) === messageId,
  );
  return mine?.ts ?? null;
}

export function createUpdateProcessor(ctx: AppContext, client: WebClient, getWorker: () => Worker) {
  return async function update(job: Job<SlackUpdateJob>): Promise<string> {
    const { messageId } = job.data;
    const [peek] = await ctx.db.select().from(slackMessages).where(eq(slackMessages.id, messageId));
    if (!peek) throw new UnrecoverableError(`message ${messageId} does not exist`);
    if (peek.renderedVersion >= peek.version) return "coalesced";
    // The post has not landed yet; it will, and this job retries after a backoff.
    if (peek.ts === null) throw new Error(`message ${messageId} is not posted yet`);
    // Changes committed while a render was on its way to Slack are rendered again here: the job
    // id is taken until this returns, so nobody else would.
    let renders = 0;
    while (renders < MAX_RENDERS_PER_JOB && (await renderOnce(ctx, client, getWorker(), messageId)))
      renders += 1;
    return renders > 0 ? "updated" : "coalesced";
  };
}

const MAX_RENDERS_PER_JOB = 5;

/** Renders the message if it is behind; returns whether it called Slack. */
async function renderOnce(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  messageId: number,
): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    // One render at a time per message, so an older render can never land after a newer one.
    await tx.execute(transactionLock("messageRender", messageId));
    const [message] = await tx.select().from(slackMessages).where(eq(slackMessages.id, messageId));
    if (!message || message.ts === null || message.renderedVersion >= message.version) return false;
    const rows = await messageActions(tx, messageId);
    const rendered = renderMessage(message, rows, messageOptions(ctx.config));
    await slackCall(ctx, worker, "chat.update", () =>
      client.chat.update({
        channel: message.channel,
        ts: message.ts!,
        text: rendered.text,
        blocks: rendered.blocks,
      }),
    );
    await tx
      .update(slackMessages)
      .set({ renderedVersion: message.version })
      .where(eq(slackMessages.id, messageId));
    await postThread(ctx, client, worker, tx, message, rows);
    return true;
  });
}

/** Posts the audit events not yet in the message's thread, as one reply. */
async function postThread(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  tx: DbOrTx,
  message: typeof slackMessages.$inferSelect,
  rows: ActionRow[],
): Promise<void> {
  const events = await tx
    .select()
    .from(actionEvents)
    .where(
      and(
        inArray(
          actionEvents.actionId,
          rows.map((r) => r.id),
        ),
        gt(actionEvents.id, message.threadedEventId),
      ),
    )
    .orderBy(asc(actionEvents.id))
    .limit(THREAD_LINES_PER_POST * 5);
  const lines = events.filter((e) => !UNTHREADED_KINDS.includes(e.kind));
  const last = events[events.length - 1];
  if (!last) return;
  if (lines.length > 0) {
    const grouped = rows.length > 1;
    const text = lines
      .slice(-THREAD_LINES_PER_POST)
      .map((e) => (grouped ? `#${e.actionId} ` : "") + threadEventText(e))
      .join("\n");
    await slackCall(ctx, worker, "chat.postMessage", () =>
      client.chat.postMessage({
        channel: message.channel,
        thread_ts: message.ts!,
        text: truncate(text, 3900),
      }),
    );
  }
  await tx.update(slackMessages).set({ threadedEventId: last.id }).where(eq(slackMessages.id, message.id));
}
