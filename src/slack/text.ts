// Turning untrusted text (device names, entities, comments, errors) into Slack mrkdwn that shows
// exactly what was sent: never a mention, a link or formatting, and never longer than a limit.

import type { MrkdwnElement, PlainTextElement } from "@slack/types";
import type { ApproverList } from "../domain/permissions.ts";

const ZWSP = "\u200B";

// `&`, `<` and `>` are Slack's control characters: as entities they render literally, so
// `<!channel>` or `<@U123>` in user text can never become a mention or a link.
// `*`, `_`, `~` and `` ` `` only format when they touch a word on one side and a boundary on the
// other. A zero-width space on both sides breaks that whichever way Slack classes the space (as a
// word character the marker sits inside a word; as a boundary it no longer touches the text), so
// the character still shows, copies as itself plus invisible spaces, and needs no backslash
// (mrkdwn has no backslash escape and would show it).
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "*": `${ZWSP}*${ZWSP}`,
  _: `${ZWSP}_${ZWSP}`,
  "~": `${ZWSP}~${ZWSP}`,
  "`": `${ZWSP}\`${ZWSP}`,
};

/** Escapes user text for a mrkdwn text object: literal `&<>`, no `*_~`` ` `` formatting. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>*_~`]/g, (char) => ESCAPES[char] ?? char);
}

/**
 * One line of text: line breaks and other control characters become spaces (a value cannot fake
 * extra lines of the message), and bidirectional overrides become U+FFFD so a file name such as
 * `invoice\u202Eexe.pdf` cannot pose as another.
 */
export function oneLine(text: string): string {
  return text
    .replace(/[\u202A-\u202E\u2066-\u2069]/g, "\uFFFD")
    .replace(/[\s\p{Cc}]+/gu, " ")
    .trim();
}

/** At most `max` UTF-16 units, ending in `…` when cut; never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * User text for mrkdwn, on one line, escaped, and at most `max` characters once escaped: the cut
 * happens between escaped characters so no entity or guarded marker is left half.
 */
export function escapeInline(text: string, max: number): string {
  const line = oneLine(text);
  const escaped = escapeMrkdwn(line);
  if (escaped.length <= max) return escaped;
  let out = "";
  for (const char of line) {
    const piece = escapeMrkdwn(char);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/** User text for a plain_text object (no markup to escape there), on one line and cut to `max`. */
export function plainInline(text: string, max: number): string {
  return truncate(oneLine(text), max);
}

/** `<@U…>` for a Slack user ID; anything else (`system`, `api`) is shown as escaped text. */
export function actorText(actor: string): string {
  return /^[UW][A-Z0-9]+$/.test(actor) ? `<@${actor}>` : escapeInline(actor, 80);
}

/** `<@U…>, <!subteam^S…>`: mentions of the users and user groups in `list`. */
export function mentionList(list: ApproverList): string {
  return [...list.userIds.map((id) => `<@${id}>`), ...list.groupIds.map((id) => `<!subteam^${id}>`)].join(
    ", ",
  );
}

/** "just now", "5 min ago", "3 h ago", "2 d ago"; a future `from` gives "in 5 min" and so on. */
export function formatAge(from: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - from.getTime()) / 1000);
  const size = Math.abs(seconds);
  if (size < 60) return "just now";
  const amount =
    size < 3600
      ? `${Math.floor(size / 60)} min`
      : size < 86_400
        ? `${Math.floor(size / 3600)} h`
        : `${Math.floor(size / 86_400)} d`;
  return seconds > 0 ? `${amount} ago` : `in ${amount}`;
}

/** "2024-05-01 03:12 UTC": what clients that cannot localise a date show instead. */
function utcFallback(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A date each reader sees in their own time zone, e.g. "today 3:12 AM"; `fallback` elsewhere. */
export function slackDate(date: Date, fallback: string = utcFallback(date)): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${escapeInline(fallback, 100)}>`;
}

/**
 * A mrkdwn text object. `verbatim` stops Slack from turning bare URLs, domains and channel names in
 * user text into links; our own `<@U…>` and `<!date…>` markup still works.
 */
export function mrkdwn(text: string): MrkdwnElement {
  return { type: "mrkdwn", text, verbatim: true };
}

export function plainText(text: string): PlainTextElement {
  return { type: "plain_text", text };
}
