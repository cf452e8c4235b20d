// Keeps a posted message in step with the store: re-rendered from the store, serialised per
// message, many changes in a burst collapsed into one chat.update, and the audit events that
// followed threaded under it.
import type { WebClient } from "@slack/web-api";
import { UnrecoverableError, type Worker } from "bullmq";
import type { AppContext } from "../../context.ts";
import type { DbOrTx } from "../../db/client.ts";
import { transactionLock } from "../../db/locks.ts";
import {
  eventsAfter,
  getMessage,
  type MessageAction,
  markRendered,
  markThreaded,
} from "../../db/queries/messages.ts";
import type { SlackMessageRow } from "../../db/schema.ts";
import { threadEventText } from "../../slack/blocks/modals.ts";
import { renderStoredMessage } from "../../slack/messages.ts";
import { truncate } from "../../slack/text.ts";
import type { SlackUpdateJob } from "../queues.ts";
import { slackCall } from "../slackCall.ts";
import type { JobProcessor } from "../worker.ts";

// Audit events not worth a line in the thread: the message itself says the action arrived.
// Reminders and escalations are posts of their own.
const UNTHREADED_KINDS = ["received", "recorded_completed", "reminded", "escalated"];
const THREAD_LINES_PER_POST = 20;
const MAX_RENDERS_PER_JOB = 5;

export function createSlackUpdateProcessor(ctx: AppContext, client: WebClient): JobProcessor<SlackUpdateJob> {
  return async function update(job, { worker }) {
    const { messageId } = job.data;
    const peek = await getMessage(ctx.db, messageId);
    if (!peek) throw new UnrecoverableError(`message ${messageId} does not exist`);
    if (peek.renderedVersion >= peek.version) return "coalesced";
    // The post has not landed yet; it will, and this job retries after a backoff.
    if (peek.ts === null) throw new Error(`message ${messageId} is not posted yet`);
    // Changes committed while a render was on its way to Slack are rendered again here: the job
    // id is taken until this returns, so nobody else would.
    let renders = 0;
    while (renders < MAX_RENDERS_PER_JOB && (await renderOnce(ctx, client, worker, messageId))) renders += 1;
    return renders > 0 ? "updated" : "coalesced";
  };
}

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
    const message = await getMessage(tx, messageId);
    if (!message || message.ts === null || message.renderedVersion >= message.version) return false;
    const { rendered, actions: rows } = await renderStoredMessage(tx, message, ctx.config);
    await slackCall(ctx, worker, "chat.update", () =>
      client.chat.update({
        channel: message.channel,
        ts: message.ts!,
        text: rendered.text,
        blocks: rendered.blocks,
      }),
    );
    await markRendered(tx, messageId, message.version);
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
  message: SlackMessageRow,
  rows: MessageAction[],
): Promise<void> {
  // A notice of its own (a Defender investigation) shows no action, so it has no trail to thread.
  if (rows.length === 0) return;
  const events = await eventsAfter(
    tx,
    rows.map((r) => r.id),
    message.threadedEventId,
    THREAD_LINES_PER_POST * 5,
  );
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
  await markThreaded(tx, message.id, last.id);
}
