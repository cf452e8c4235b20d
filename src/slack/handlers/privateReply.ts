// Private replies (`show`, `history`, `pending`) follow their actions. Slack changes an ephemeral
// message only through a response_url, so each reply is recorded with the latest URL that reaches
// it (db/queries/privateReplies.ts), its blocks tagged with the record's id (blocks/privateReply.ts):
// - a click in a reply is answered in that reply, replaced by the same reply as the store now has
//   it with the answer on top, so the answer shows where the person clicked and the buttons of
//   actions decided or undone since are gone; the click's URL takes over the record;
// - a change of one of its actions refreshes it (jobs/processors/privateReply.ts) while Slack
//   still takes the URL, the last use without buttons.

import type { RespondFn } from "@slack/bolt";
import { recordPrivateReply } from "../../db/queries/privateReplies.ts";
import type { PrivateReplyRow } from "../../db/schema.ts";
import type { SlackMessage } from "../blocks/actionMessage.ts";
import type { OriginReply } from "../blocks/bulkUndo.ts";
import { decodeListing, encodeListing, plainAnswer, withNote } from "../blocks/history.ts";
import { frozenReply, type ReplyContent, replyIdOf, taggedReply } from "../blocks/privateReply.ts";
import type { ReplyDeps, SlackDeps } from "../deps.ts";
import { listingPage } from "./commands/listing.ts";
import { type CommandFilters, filtersText, type ListView, parseCommand } from "./commands/parse.ts";
import { actionDetail } from "./detail.ts";

/** What a listing's first page is rebuilt from. */
export function listingSource(view: ListView, filters: CommandFilters): string {
  return encodeListing({ view, filters: filtersText(filters) });
}

/**
 * The reply `source` names as the store has it now: a listing's page (history.ts `Listing`), or
 * under `show` the action id. Null when it names neither, or the action is gone.
 */
export async function replyContent(
  deps: ReplyDeps,
  request: { userId: string; source: string },
): Promise<ReplyContent | null> {
  const { source } = request;
  const listing = decodeListing(source);
  if (listing) {
    const parsed = parseCommand(`${listing.view} ${listing.filters}`, {
      userId: request.userId,
      now: new Date(),
    });
    if (!parsed.ok || parsed.command.kind !== "list") return null;
    const position = listing.after !== undefined ? { after: listing.after } : { before: listing.before };
    return listingPage(deps.ctx.db, listing.view, parsed.command.filters, position);
  }
  const id = /^\d{1,15}$/.test(source) ? Number(source) : Number.NaN;
  if (!Number.isSafeInteger(id)) return null;
  const message = await actionDetail(deps, id);
  return message && { message, actionIds: [id] };
}

/** The reply as sent: the answer to the person's click (if any) on top. */
const withAnswer = (message: SlackMessage, note: string | null) => (note ? withNote(message, note) : message);

/**
 * Sends a reply through a response_url (its use) after recording it, so that it follows its
 * actions. `replyId`: the reply this one replaces, when a click in it gave the URL.
 */
export async function sendPrivateReply(
  deps: ReplyDeps,
  reply: {
    userId: string;
    responseUrl: string;
    replyId?: number;
    source: string;
    note: string | null;
    content: ReplyContent;
    post(message: SlackMessage): Promise<unknown>;
  },
): Promise<void> {
  const id = await recordPrivateReply(
    deps.ctx.db,
    {
      slackUserId: reply.userId,
      responseUrl: reply.responseUrl,
      source: reply.source,
      note: reply.note,
      actionIds: reply.content.actionIds,
    },
    reply.replyId,
  );
  await reply.post(taggedReply(withAnswer(reply.content.message, reply.note), id));
}

type Click = {
  body: {
    user: { id: string };
    container?: { is_ephemeral?: boolean };
    response_url?: string;
    actions?: readonly { block_id?: string }[];
  };
  /** The clicked button's value. */
  value: string | undefined;
  respond: RespondFn;
};

/**
 * Answers a click with `answer` (mrkdwn): in the clicked reply, refreshed, when the click came
 * from a private reply; otherwise as a private message of its own.
 */
export async function answerInReply(deps: SlackDeps, click: Click, answer: string): Promise<void> {
  const origin = originOf(click.body, click.value);
  if (origin) {
    const sent = await replaceReply(deps, {
      userId: click.body.user.id,
      reply: origin,
      note: answer,
      post: (message) => click.respond({ replace_original: true, ...message }),
    });
    if (sent) return;
  }
  await click.respond({ replace_original: false, ...plainAnswer(answer) });
}

/** The reply a click came from, for a modal it opens to refresh once it is done; none outside private replies. */
export function originOf(body: Click["body"], value: string | undefined): OriginReply | undefined {
  if (!body.container?.is_ephemeral || !body.response_url) return undefined;
  const replyId = replyIdOf(body.actions?.[0]?.block_id);
  return { url: body.response_url, value: value ?? "", ...(replyId !== undefined && { replyId }) };
}

/**
 * Replaces the reply `reply` names with what its source shows now (another page, for Previous and
 * Next) and `note` on top; false when the source shows nothing.
 */
export async function replaceReply(
  deps: ReplyDeps,
  request: {
    userId: string;
    reply: OriginReply;
    note: string | null;
    post(message: SlackMessage): Promise<unknown>;
  },
): Promise<boolean> {
  const { reply, userId } = request;
  const content = await replyContent(deps, { userId, source: reply.value });
  if (!content) return false;
  await sendPrivateReply(deps, {
    userId,
    responseUrl: reply.url,
    ...(reply.replyId !== undefined && { replyId: reply.replyId }),
    source: reply.value,
    note: request.note,
    content,
    post: request.post,
  });
  return true;
}

// Slack answers a response_url within a second; a stuck one must not hold the listener or the job.
const RESPONSE_URL_TIMEOUT_MS = 5000;

/** Replaces the message a response_url reaches; Slack's refusal comes back as the HTTP status. */
export async function replaceThroughUrl(url: string, message: SlackMessage): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ replace_original: true, ...message }),
    signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
  });
}

/**
 * Refreshes the reply a modal was opened from, with `note` on top, once the modal's work is
 * recorded: the response_url of the click that opened it stays valid for 30 minutes.
 */
export async function refreshOrigin(
  deps: SlackDeps,
  request: { userId: string; reply: OriginReply; note: string },
): Promise<void> {
  const { userId } = request;
  try {
    await replaceReply(deps, {
      ...request,
      post: async (message) => {
        const res = await replaceThroughUrl(request.reply.url, message);
        if (!res.ok)
          deps.ctx.log.warn({ status: res.status, userId }, "the private reply could not be refreshed");
      },
    });
  } catch (error) {
    deps.ctx.log.warn({ err: error, userId }, "the private reply could not be refreshed");
  }
}

/**
 * A followed reply as its refresh sends it: its content now, with its last answer on top, and
 * without controls on the URL's last use (`last`), after which it cannot change again. Null when
 * what it showed is gone.
 */
export async function refreshedContent(
  deps: ReplyDeps,
  reply: Pick<PrivateReplyRow, "id" | "slackUserId" | "source" | "note">,
  last: boolean,
): Promise<ReplyContent | null> {
  const content = await replyContent(deps, { userId: reply.slackUserId, source: reply.source });
  if (!content) return null;
  const message = withAnswer(content.message, reply.note);
  return {
    message: taggedReply(last ? frozenReply(message, reply.source) : message, reply.id),
    actionIds: content.actionIds,
  };
}
