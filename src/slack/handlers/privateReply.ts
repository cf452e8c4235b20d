// A click in a private reply (`show`, `history`, `pending`) is answered in that reply: it is
// replaced, through the click's response_url (the only way Slack lets an app change an ephemeral
// message), by the same reply as the store now has it, with the answer on top. So the answer shows
// where the person clicked, not at the bottom of the channel, and the buttons of actions decided
// or undone since are gone.

import type { RespondFn } from "@slack/bolt";
import type { SlackMessage } from "../blocks/actionMessage.ts";
import type { OriginReply } from "../blocks/bulkUndo.ts";
import { decodeListing, plainAnswer, withNote } from "../blocks/history.ts";
import type { SlackDeps } from "../deps.ts";
import { listingPage } from "./commands/listing.ts";
import { parseCommand } from "./commands/parse.ts";
import { actionDetail } from "./detail.ts";

/**
 * The reply a button belongs to, refreshed, with `note` (mrkdwn, escaped) on top. A listing's
 * buttons carry their page (history.ts `Listing`); `show`'s carry the action id. Null when the
 * value names neither, or the action is gone.
 */
async function refreshedReply(
  deps: SlackDeps,
  request: { userId: string; buttonValue: string | undefined; note: string },
): Promise<SlackMessage | null> {
  const value = request.buttonValue ?? "";
  const listing = decodeListing(value);
  if (listing) {
    const parsed = parseCommand(`${listing.view} ${listing.filters}`, {
      userId: request.userId,
      now: new Date(),
    });
    if (!parsed.ok || parsed.command.kind !== "list") return null;
    const position = listing.after !== undefined ? { after: listing.after } : { before: listing.before };
    const page = await listingPage(deps.ctx.db, listing.view, parsed.command.filters, position);
    return withNote(page, request.note);
  }
  const id = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(id) ? actionDetail(deps, id, request.note) : null;
}

type Click = {
  body: { user: { id: string }; container?: { is_ephemeral?: boolean } };
  /** The clicked button's value. */
  value: string | undefined;
  respond: RespondFn;
};

/**
 * Answers a click with `answer` (mrkdwn): in the clicked reply, refreshed, when the click came
 * from a private reply; otherwise as a private message of its own.
 */
export async function answerInReply(deps: SlackDeps, click: Click, answer: string): Promise<void> {
  if (click.body.container?.is_ephemeral) {
    const reply = await refreshedReply(deps, {
      userId: click.body.user.id,
      buttonValue: click.value,
      note: answer,
    });
    if (reply) return void (await click.respond({ replace_original: true, ...reply }));
  }
  await click.respond({ replace_original: false, ...plainAnswer(answer) });
}

/** The reply a click came from, for a modal it opens to refresh once it is done; none outside private replies. */
export function originOf(
  body: Click["body"] & { response_url?: string },
  value: string | undefined,
): OriginReply | undefined {
  return body.container?.is_ephemeral && body.response_url
    ? { url: body.response_url, value: value ?? "" }
    : undefined;
}

// Slack answers a response_url within a second; a stuck one must not hold the listener.
const RESPONSE_URL_TIMEOUT_MS = 5000;

/**
 * Refreshes the reply a modal was opened from, with `note` on top, once the modal's work is
 * recorded: the response_url of the click that opened it stays valid for 30 minutes.
 */
export async function refreshOrigin(
  deps: SlackDeps,
  request: { userId: string; reply: OriginReply; note: string },
): Promise<void> {
  const { reply, userId, note } = request;
  try {
    const message = await refreshedReply(deps, { userId, buttonValue: reply.value, note });
    if (!message) return;
    const res = await fetch(reply.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ replace_original: true, ...message }),
      signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
    });
    if (!res.ok)
      deps.ctx.log.warn({ status: res.status, userId }, "the private reply could not be refreshed");
  } catch (error) {
    deps.ctx.log.warn({ err: error, userId }, "the private reply could not be refreshed");
  }
}
