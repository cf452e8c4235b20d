// Keeps a posted message in step with the store: re-rendered from the store, serialised per
// message, many changes in a burst collapsed into one chat.update, and every audit event that
// followed threaded under it, once, in order.
import type { WebClient } from "@slack/web-api";
import { DelayedError, UnrecoverableError, type Worker } from "bullmq";
import type { AppContext } from "../../context.ts";
import { transactionLock } from "../../db/locks.ts";
import {
  claimThreadReply,
  clearThreadPending,
  getMessage,
  markRendered,
  markThreaded,
  messageActionCount,
  messageBeingWritten,
  messageEventsAfter,
} from "../../db/queries/messages.ts";
import type { SlackMessageRow } from "../../db/schema.ts";
import { threadedThrough, threadReplies, threadReplyMetadata } from "../../slack/blocks/threadReply.ts";
import { renderStoredMessage } from "../../slack/messages.ts";
import type { SlackUpdateJob } from "../queues.ts";
import { slackCall } from "../slackCall.ts";
import type { JobProcessor } from "../worker.ts";

const MAX_RENDERS_PER_JOB = 5;
/** A job that ends with its message still behind (or being written) runs again this much later. */
const RUN_AGAIN_AFTER_MS = 1000;
/** How many runs a job spends waiting for one writer of its message. */
const WRITER_RUNS = 5;
/** How often, and how long each time, a job waits for a status change of its message to commit. */
const WRITER_WAITS = 40;
const WRITER_WAIT_MS = 50;
/** Events read per round of replies; a round posts as many replies as they fill. */
const THREAD_EVENTS_PER_ROUND = 500;
/**
 * Between two replies of one thread: Slack allows about one message a second per channel, shared
 * with the posts (spaced 1,250 ms apart by their queue's limiter).
 */
export const THREAD_REPLY_SPACING_MS = 1250;

export function createSlackUpdateProcessor(ctx: AppContext, client: WebClient): JobProcessor<SlackUpdateJob> {
  return async function update(job, { worker, token }) {
    const { messageId } = job.data;
    const peek = await getMessage(ctx.db, messageId);
    if (!peek) throw new UnrecoverableError(`message ${messageId} does not exist`);
    if (peek.ts === null) {
      if (peek.renderedVersion >= peek.version) return "coalesced";
      // The post has not landed yet; it will, and this job retries after a backoff.
      throw new Error(`message ${messageId} is not posted yet`);
    }
    // Changes committed while a render or the thread was on its way to Slack are rendered (and
    // threaded) again here: the job id is taken until this returns, so nobody else would.
    let renders = 0;
    let replies = 0;
    let waits = 0;
    let writerInFlight = false;
    for (;;) {
      const rendered = renders < MAX_RENDERS_PER_JOB && (await renderOnce(ctx, client, worker, messageId));
      if (rendered) renders += 1;
      // After the render, and on its own: a thread behind (a crash, a rate limit) catches up even
      // when the message itself is up to date.
      const thread = await threadEvents(ctx, client, worker, messageId, renders < MAX_RENDERS_PER_JOB);
      replies += thread.posted;
      writerInFlight = thread.writerInFlight;
      // A status change was being written: its commit queued nothing while this job holds the
      // id, so it is rendered and threaded here.
      if (writerInFlight && waits < WRITER_WAITS) {
        waits += 1;
        await new Promise((r) => setTimeout(r, WRITER_WAIT_MS));
        continue;
      }
      if (!rendered && !thread.renderDue) break;
    }
    // Past its renders or its waits for a writer, with changes left that queued nothing while
    // this job held the id: the job runs again for them shortly, with its budgets anew. A writer
    // that stays in flight (a long transaction) is left to the reconciler after a few runs, so
    // that it does not spend the queue's Slack budget on runs that render nothing.
    const writerRerun = writerInFlight && job.attemptsStarted <= WRITER_RUNS;
    if (writerRerun || (await renderBehind(ctx, messageId))) {
      await job.moveToDelayed(Date.now() + RUN_AGAIN_AFTER_MS, token);
      throw new DelayedError();
    }
    return renders > 0 ? "updated" : replies > 0 ? "threaded" : "coalesced";
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
    if (!message || !behind(message)) return false;
    const { rendered } = await renderStoredMessage(tx, message, ctx.config);
    await slackCall(ctx, worker, "chat.update", () =>
      client.chat.update({
        channel: message.channel,
        ts: message.ts!,
        text: rendered.text,
        blocks: rendered.blocks,
      }),
    );
    await markRendered(tx, messageId, message.version);
    return true;
  });
}

/** A posted message whose last render is older than its version. */
const behind = (message: SlackMessageRow) => message.ts !== null && message.renderedVersion < message.version;

async function renderBehind(ctx: AppContext, messageId: number): Promise<boolean> {
  const message = await getMessage(ctx.db, messageId);
  return message !== undefined && behind(message);
}

/**
 * Posts every audit event of the message's actions not yet in its thread, in order, as few
 * replies as Slack's limits allow; says how many were posted, and whether it stopped for a
 * status change of the message still being written. The cursor
 * (`threaded_event_id`) moves after each reply, so a retry goes on from there; a reply posted
 * by an attempt that died before moving it is found in the thread by its metadata, so it is
 * never posted twice.
 */
async function threadEvents(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  messageId: number,
  mayRender: boolean,
): Promise<{ posted: number; writerInFlight: boolean; renderDue: boolean }> {
  let posted = 0;
  const done = (writerInFlight: boolean, renderDue = false) => ({ posted, writerInFlight, renderDue });
  for (;;) {
    // A status change of the message in flight may hold an event older than one already
    // committed: the caller waits for its commit rather than move the cursor past it.
    if (await messageBeingWritten(ctx.db, messageId)) return done(true);
    const message = await getMessage(ctx.db, messageId);
    if (!message || message.ts === null) return done(false);
    if (message.threadPendingEventId !== null) {
      await settleReplyInFlight(ctx, client, worker, message);
      continue;
    }
    const events = await messageEventsAfter(
      ctx.db,
      messageId,
      message.threadedEventId,
      THREAD_EVENTS_PER_ROUND,
    );
    const last = events.at(-1);
    if (!last) return done(false);
    // On a message of several actions each line says which.
    const grouped = (await messageActionCount(ctx.db, messageId)) > 1;
    let cursor = message.threadedEventId;
    for (const reply of threadReplies(events, grouped)) {
      if (posted > 0) {
        // The message's own state comes first: a change committed meanwhile (the threat's
        // actions completing) is rendered before the thread's next paced reply.
        if (mayRender && (await renderBehind(ctx, messageId))) return done(false, true);
        await new Promise((r) => setTimeout(r, THREAD_REPLY_SPACING_MS));
      }
      // One poster per thread (the update job's id is the message's); should a stalled job's
      // takeover make two, only the one whose claim lands posts.
      if (!(await claimThreadReply(ctx.db, messageId, cursor, reply.throughEventId))) return done(false);
      await slackCall(ctx, worker, "chat.postMessage", () =>
        client.chat.postMessage({
          channel: message.channel,
          thread_ts: message.ts!,
          text: reply.text,
          metadata: threadReplyMetadata(messageId, reply),
        }),
      );
      await markThreaded(ctx.db, messageId, reply.throughEventId);
      cursor = reply.throughEventId;
      posted += 1;
    }
    // Events that have no line (the action arrived, a reminder) move the cursor too.
    await markThreaded(ctx.db, messageId, last.id);
  }
}

/**
 * A reply was about to be posted when the last attempt ended: if it is in the thread, the cursor
 * moves past its events; if not, it is posted again by the next round.
 */
async function settleReplyInFlight(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  message: SlackMessageRow,
): Promise<void> {
  const pending = message.threadPendingEventId!;
  let cursor: string | undefined;
  let landed = false;
  do {
    const page = await slackCall(ctx, worker, "conversations.replies", () =>
      client.conversations.replies({
        channel: message.channel,
        ts: message.ts!,
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      }),
    );
    landed = (page.messages ?? []).some((m) => threadedThrough(message.id, m.metadata) === pending);
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (!landed && cursor);
  if (landed) await markThreaded(ctx.db, message.id, pending);
  else await clearThreadPending(ctx.db, message.id, pending);
}
