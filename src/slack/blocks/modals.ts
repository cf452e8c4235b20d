// The modals the buttons open (reject with a reason, go hunt, the confirmations of a decision)
// and the one-line audit events posted in the thread under an action's message.

import type { ModalView } from "@slack/types";
import { z } from "zod";
import type { ActionEventRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { EVENT_WORDS } from "../../domain/auditEvents.ts";
import { huntQuery } from "../../hunting/kql.ts";
import {
  APPROVE_ALL_CALLBACK_ID,
  DECISION_CALLBACK_ID,
  type DecisionKind,
  OPEN_HUNTING_ACTION_ID,
  REASON_INPUT_ID,
  REJECT_CALLBACK_ID,
} from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { actorText, escapeInline, mrkdwn, plainText, slackDate, truncate } from "../text.ts";
import { type ActionView, decisionQuestion, huntingLink, target } from "./actionMessage.ts";
import { type OriginReply, originReplySchema } from "./bulkUndo.ts";

export const REASON_MAX_LENGTH = 1000;

const heading = (action: ActionView) =>
  `*${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}`;

/** A modal that only tells: what came of a submission, shown in place of the form submitted. */
export function noticeModal(title: string, text: string): ModalView {
  return {
    type: "modal",
    title: plainText(truncate(title, LIMITS.modalTitle)),
    close: plainText("Close"),
    blocks: [{ type: "section", text: mrkdwn(truncate(text, LIMITS.sectionText)) }],
  };
}

/** Asks for the reason of a rejection; `private_metadata` carries the action id. */
export function rejectModal(action: ActionView): ModalView {
  return {
    type: "modal",
    callback_id: REJECT_CALLBACK_ID,
    private_metadata: String(action.id),
    title: plainText("Reject action"),
    submit: plainText("Reject"),
    close: plainText("Cancel"),
    blocks: [
      { type: "section", text: mrkdwn(heading(action)) },
      {
        type: "input",
        block_id: REASON_INPUT_ID,
        label: plainText("Reason"),
        hint: plainText("Shown in the channel and kept in the audit trail."),
        element: {
          type: "plain_text_input",
          action_id: REASON_INPUT_ID,
          multiline: true,
          max_length: REASON_MAX_LENGTH,
          placeholder: plainText("Why should this action not run?"),
        },
      },
    ],
  };
}

/**
 * Where a confirmation modal's decision is answered: the channel the button was clicked in (for
 * a private line there) and, for a click in a private reply, that reply (its response_url, kept
 * server-side by Slack in private_metadata, never logged) to refresh in place.
 */
export type ConfirmOrigin = { channel?: string; reply?: OriginReply };

const originSchema = {
  channel: z.string().max(50).optional(),
  reply: originReplySchema.optional(),
};
const decisionMetadataSchema = z.object({
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  kind: z.enum(["approve", "undo", "retry", "retry_undo"] satisfies DecisionKind[]),
  ...originSchema,
});
const approveAllMetadataSchema = z.object({
  messageKey: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  ...originSchema,
});

/** A modal that remembers what it is for, in private_metadata. */
type MemoryModal = ModalView & { private_metadata: string };

/** The modal's memory as JSON; the reply is left out where it would not fit in Slack's 3,000 characters. */
function metadata(state: { reply?: OriginReply } & Record<string, unknown>): string {
  const full = JSON.stringify(state);
  if (full.length <= LIMITS.privateMetadata) return full;
  const { reply: _tooLong, ...rest } = state;
  return JSON.stringify(rest);
}

function parsed<T>(schema: z.ZodType<T>, privateMetadata: string): T | null {
  try {
    const result = schema.safeParse(JSON.parse(privateMetadata));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/** What a decision's confirmation remembers: the action, the decision and where to answer. */
export function decisionMetadata(id: number, kind: DecisionKind, origin: ConfirmOrigin): string {
  return metadata({ id, kind, ...origin });
}

/**
 * The confirmation of Approve, Undo, Retry or Retry undo on one action, opened only for a person
 * the server has found allowed to decide it; its submission takes the decision.
 */
export function decisionModal(action: ActionView, kind: DecisionKind, origin: ConfirmOrigin): MemoryModal {
  const { question, text, label } = decisionQuestion(action, kind);
  return confirmationModal({
    callbackId: DECISION_CALLBACK_ID,
    privateMetadata: decisionMetadata(action.id, kind, origin),
    label,
    question,
    text,
  });
}

/** A confirmation: the question in bold over what it does, submitted with `label`. */
function confirmationModal(input: {
  callbackId: string;
  privateMetadata: string;
  label: string;
  question: string;
  text: string;
}): MemoryModal {
  return {
    type: "modal",
    callback_id: input.callbackId,
    private_metadata: input.privateMetadata,
    title: plainText(truncate(input.label, LIMITS.modalTitle)),
    submit: plainText(input.label),
    close: plainText("Cancel"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(`*${escapeInline(input.question, 200)}*\n${escapeInline(input.text, 2500)}`),
      },
    ],
  };
}

/** The action and decision a confirmation modal was opened for, with its origin; null if not ours. */
export function decisionOfModal(privateMetadata: string) {
  return parsed(decisionMetadataSchema, privateMetadata);
}

/** The confirmation of Approve all on a message; `text` is the message builder's (approveAllText). */
export function approveAllModal(
  input: { messageKey: number; pending: number; text: string },
  origin: ConfirmOrigin,
): MemoryModal {
  const actions = `${input.pending.toLocaleString("en")} action${input.pending === 1 ? "" : "s"}`;
  return confirmationModal({
    callbackId: APPROVE_ALL_CALLBACK_ID,
    privateMetadata: metadata({ messageKey: input.messageKey, ...origin }),
    label: "Approve all",
    question: `Approve ${actions}?`,
    text: input.text,
  });
}

/** The message an Approve all modal was opened for, with its origin; null if not ours. */
export function approveAllOfModal(privateMetadata: string) {
  return parsed(approveAllMetadataSchema, privateMetadata);
}

export function goHuntModal(action: ActionView): ModalView {
  return {
    type: "modal",
    title: plainText("Go hunt"),
    close: plainText("Close"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(`${heading(action)}\nCopy this query into Microsoft Defender advanced hunting:`),
      },
      // A preformatted rich text block shows and copies the query exactly: no mrkdwn escaping.
      {
        type: "rich_text",
        elements: [{ type: "rich_text_preformatted", elements: [{ type: "text", text: huntQuery(action) }] }],
      },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            action_id: OPEN_HUNTING_ACTION_ID,
            text: plainText("Open advanced hunting"),
            // The portal opens with the query in its editor, ready to run.
            url: huntingLink(action),
          },
        ],
      },
    ],
  };
}

/** "*Rejected* by <@U123> · today 3:12 AM — not malicious, a pentest tool": one audit event. */
export function threadEventText(event: Pick<ActionEventRow, "kind" | "actor" | "at" | "detail">): string {
  const words = EVENT_WORDS[event.kind] ?? escapeInline(event.kind.replaceAll("_", " "), 60);
  const { comment, reason, error, attempt, decision } = event.detail;
  const details = [
    event.kind === "decision_refused" && typeof decision === "string" ? decision.replaceAll("_", " ") : "",
    typeof attempt === "number" && attempt > 1 ? `attempt ${attempt}` : "",
    typeof comment === "string" ? escapeInline(comment, 500) : "",
    typeof reason === "string" ? escapeInline(reason, 500) : "",
    typeof error === "string" ? `error: ${escapeInline(error, 500)}` : "",
  ].filter(Boolean);
  const line = `*${words}* by ${actorText(event.actor)} · ${slackDate(event.at)}`;
  return details.length > 0 ? `${line} — ${details.join(" · ")}` : line;
}
