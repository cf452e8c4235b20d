// The audit trail as thread replies under an action's message: every event a line, in order, packed
// into as few replies as Slack's limits allow. Pure: the Slack update job posts what this returns.
import type { ActionEventRow } from "../../db/schema.ts";
import { truncate } from "../text.ts";
import { threadEventText } from "./modals.ts";

/** Slack shows a message's `text` whole up to about 4,000 characters; keep a margin. */
export const THREAD_REPLY_MAX_CHARS = 3900;

/** The metadata of each reply: which message's thread, and the newest event it holds. */
export const THREAD_EVENT_TYPE = "action_center_thread";

// Audit events not worth a line in the thread: the message itself says the action arrived.
// Reminders and escalations are posts of their own.
const UNTHREADED_KINDS = new Set(["received", "recorded_completed", "reminded", "escalated"]);

export type ThreadEvent = Pick<ActionEventRow, "id" | "actionId" | "kind" | "actor" | "at" | "detail">;

export type ThreadReply = {
  text: string;
  /** The newest event whose line is in this reply: the thread's cursor once it is posted. */
  throughEventId: number;
  lines: number;
};

/**
 * The replies that thread `events` (oldest first): each line once, in order, no reply over
 * `maxChars`. On a message of several actions (`grouped`) each line names its action.
 */
export function threadReplies(
  events: readonly ThreadEvent[],
  grouped: boolean,
  maxChars = THREAD_REPLY_MAX_CHARS,
): ThreadReply[] {
  const replies: ThreadReply[] = [];
  let current: ThreadReply | null = null;
  for (const event of events) {
    if (UNTHREADED_KINDS.has(event.kind)) continue;
    // A line is bounded by its parts' own limits; a single one over a reply is cut, not dropped.
    const line = truncate((grouped ? `#${event.actionId} ` : "") + threadEventText(event), maxChars);
    if (current && current.text.length + 1 + line.length <= maxChars) {
      current.text += `\n${line}`;
      current.throughEventId = event.id;
      current.lines += 1;
    } else {
      current = { text: line, throughEventId: event.id, lines: 1 };
      replies.push(current);
    }
  }
  return replies;
}

export function threadReplyMetadata(messageId: number, reply: ThreadReply) {
  return {
    event_type: THREAD_EVENT_TYPE,
    event_payload: { messageId, throughEventId: reply.throughEventId },
  };
}

/** The newest event a reply posted by `threadReplyMetadata` says it holds, for `messageId`. */
export function threadedThrough(
  messageId: number,
  metadata: { event_type?: string; event_payload?: unknown } | undefined,
): number | null {
  if (metadata?.event_type !== THREAD_EVENT_TYPE) return null;
  const payload = metadata.event_payload as { messageId?: unknown; throughEventId?: unknown } | undefined;
  if (Number(payload?.messageId) !== messageId) return null;
  const through = Number(payload?.throughEventId);
  return Number.isSafeInteger(through) ? through : null;
}
