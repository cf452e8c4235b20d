// The modals the buttons open (reject with a reason, go hunt) and the one-line audit events
// posted in the thread under an action's message.

import type { ModalView } from "@slack/types";
import type { ActionEventRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { EVENT_WORDS } from "../../domain/auditEvents.ts";
import { huntQuery } from "../../hunting/kql.ts";
import { OPEN_HUNTING_ACTION_ID, REASON_INPUT_ID, REJECT_CALLBACK_ID } from "../actionIds.ts";
import { actorText, escapeInline, mrkdwn, plainText, slackDate } from "../text.ts";
import { type ActionView, huntingLink, target } from "./actionMessage.ts";

export const REASON_MAX_LENGTH = 1000;

const heading = (action: ActionView) =>
  `*${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}`;

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
