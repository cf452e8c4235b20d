// One message for the actions of one investigation that arrive together: a row per action with
// its status and its own buttons while they fit in Slack's 50 blocks, otherwise a summary with
// the first rows and "Approve all" / "Review" for the whole group.
import type { Button, KnownBlock } from "@slack/types";
import { ACTION_TYPE_INFO, ACTION_TYPES } from "../../domain/actionTypes.ts";
import { describeStatus, STATUSES } from "../../domain/status.ts";
import { actionId } from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { escapeInline, mrkdwn, plainInline, plainText } from "../text.ts";
import {
  type ActionView,
  decisionButtons,
  goHuntButton,
  investigationUrl,
  type MessageOptions,
  type PortalLinks,
  type SlackMessage,
  statusLine,
  target,
} from "./actionMessage.ts";

export type InvestigationMessageInput = {
  investigationId: string;
  /** Our Slack message row id: the group buttons act on the actions that message shows. */
  messageKey: number;
  actions: readonly ActionView[];
};

/** How many rows the summary of an investigation too large for one message still shows. */
export const SUMMARY_ROWS = 10;

export const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
export const isPending = (action: ActionView) => action.status === "pending";

function row(action: ActionView, portal: PortalLinks | undefined): KnownBlock[] {
  const text = `*${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}\n${statusLine(action)}`;
  const buttons = decisionButtons(action);
  return [
    // Go hunt beside the row, as in a single action's message: no block of its own to count.
    { type: "section", text: mrkdwn(text), accessory: goHuntButton(action, portal) },
    ...(buttons.length > 0 ? [{ type: "actions" as const, elements: buttons }] : []),
  ];
}

/** "5 pending approval, 2 completed", in the order of the status machine. */
export function statusCounts(actions: readonly ActionView[]): string {
  return STATUSES.map(
    (status) => [status, actions.filter((action) => action.status === status).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${describeStatus(status)}`)
    .join(", ");
}

/** "Quarantine file ×3, Stop process ×2". */
function typeCounts(actions: readonly ActionView[]): string {
  return ACTION_TYPES.map((type) => [type, actions.filter((action) => action.type === type).length] as const)
    .filter(([, count]) => count > 0)
    .map(([type, count]) => `${ACTION_TYPE_INFO[type].label} ×${count}`)
    .join(", ");
}

/** "LAPTOP-7, LAPTOP-9 and 3 more", escaped; "all devices" when only tenant-wide actions. */
export function devices(actions: readonly ActionView[], shown: number): string {
  const names = [
    ...new Set(
      actions
        .filter((action) => ACTION_TYPE_INFO[action.type].needsDevice)
        .map((action) => action.deviceName ?? action.deviceId ?? "an unknown device"),
    ),
  ];
  if (names.length === 0) return "all devices";
  const listed = names.slice(0, shown).map((name) => escapeInline(name, 60));
  return names.length > shown ? `${listed.join(", ")} and ${names.length - shown} more` : listed.join(", ");
}

function headline(investigation: string, actions: readonly ActionView[]): string {
  const pending = actions.filter(isPending).length;
  const waiting =
    pending === 0
      ? `${plural(actions.length, "action")}, none waiting`
      : pending === actions.length
        ? `${plural(pending, "action")} waiting`
        : `${pending} of ${plural(actions.length, "action")} waiting`;
  return `Investigation ${plainInline(investigation, 80)}: ${waiting}`;
}

function notificationText(investigation: string, actions: readonly ActionView[]): string {
  const pending = actions.filter(isPending);
  const escaped = escapeInline(investigation, 80);
  if (pending.length === 0) return `Investigation ${escaped}: ${statusCounts(actions) || "no actions"}`;
  const need = pending.length === 1 ? "1 action needs" : `${pending.length} actions need`;
  return `${need} approval in investigation ${escaped} on ${devices(pending, 3)}`;
}

/** A button about the whole message; `id` builds its action_id (`approve_all:7`) from the message key. */
function groupButton(
  id: (messageKey: number) => string,
  messageKey: number,
  label: string,
  extra: Partial<Button> = {},
): Button {
  return {
    type: "button",
    action_id: id(messageKey),
    value: String(messageKey),
    text: plainText(label),
    ...extra,
  };
}

/** What Approve all's confirmation modal says (modals.ts `approveAllModal`). */
export function approveAllText(
  input: Pick<InvestigationMessageInput, "actions" | "investigationId">,
): string {
  const pending = input.actions.filter(isPending);
  const investigation = plainInline(input.investigationId, 80);
  return (
    `This approves the ${plural(pending.length, "action")} still waiting in investigation ${investigation} ` +
    `(${typeCounts(pending)}). Each runs as soon as it is approved.`
  );
}

// No `confirm`: Slack would show it to everyone; the server checks the person, then confirms in a modal.
function approveAllButton(input: InvestigationMessageInput): Button {
  return groupButton(actionId.approveAll, input.messageKey, "Approve all", { style: "primary" });
}

export function investigationMessage(
  input: InvestigationMessageInput,
  options: MessageOptions,
): SlackMessage {
  const { actions, investigationId } = input;
  const first = actions[0];
  const openInvestigation: Button[] = first
    ? [
        {
          type: "button",
          action_id: actionId.openInvestigation(first.id),
          value: String(first.id),
          text: plainText("Open investigation"),
          url: investigationUrl({ id: first.id, investigationId }, options.publicUrl),
        },
      ]
    : [];
  const top: KnownBlock[] = [
    { type: "header", text: plainText(headline(investigationId, actions)) },
    {
      type: "context",
      elements: [
        mrkdwn(`*Devices:* ${devices(actions, 5)} · *Status:* ${statusCounts(actions) || "no actions"}`),
      ],
    },
  ];
  const text = notificationText(investigationId, actions);

  const full = [
    ...top,
    ...actions.flatMap((action) => row(action, options.portalLinks?.(action))),
    ...(openInvestigation.length > 0 ? [{ type: "actions" as const, elements: openInvestigation }] : []),
  ];
  if (full.length <= LIMITS.messageBlocks) return { text, blocks: full };

  const shown = actions.slice(0, SUMMARY_ROWS);
  const blocks: KnownBlock[] = [
    ...top,
    {
      type: "section",
      text: mrkdwn(`*Too many actions to list one by one.* By type: ${typeCounts(actions)}`),
    },
    { type: "divider" },
    ...shown.flatMap((action) => row(action, options.portalLinks?.(action))),
    {
      type: "context",
      elements: [
        mrkdwn(`Showing the first ${shown.length} of ${actions.length} actions. *Review* goes through all.`),
      ],
    },
    {
      type: "actions",
      elements: [
        ...(actions.some(isPending) ? [approveAllButton(input)] : []),
        groupButton(actionId.review, input.messageKey, "Review"),
        ...openInvestigation,
      ],
    },
  ];
  return { text, blocks };
}
