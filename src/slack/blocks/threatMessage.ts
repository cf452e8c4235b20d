// A threat message: the pending actions on one thing (a file's SHA-256, a URL, a registry value…)
// across devices and investigations, shown as one message that stays the same size whatever the
// count: what it is, how many devices and investigations, the first devices by name, live counts
// per status, and Approve all / Reject all / Review. Review opens a modal listing every action,
// page by page, each decided on its own. Pure: the same rows give the same message.
import type { Button, KnownBlock, ModalView, Overflow } from "@slack/types";
import { ACTION_TYPE_INFO, describeEntity, isUndoable } from "../../domain/actionTypes.ts";
import { describeStatus } from "../../domain/status.ts";
import { threatKindOf } from "../../domain/threats.ts";
import {
  actionId,
  REASON_INPUT_ID,
  REJECT_ALL_CALLBACK_ID,
  REVIEW_CALLBACK_ID,
  REVIEW_OPTION,
} from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { escapeInline, mrkdwn, plainInline, plainText, truncate } from "../text.ts";
import type { ActionView, SlackMessage } from "./actionMessage.ts";
import { devices, isPending, plural, statusCounts } from "./investigationMessage.ts";
import { REASON_MAX_LENGTH } from "./modals.ts";

export type ThreatMessageInput = {
  /** `file:<sha256>`, `url:<url>`… (domain/threats.ts). */
  threatKey: string;
  /** Our Slack message row id: the buttons act on the actions this message shows. */
  messageKey: number;
  /** Oldest first; never empty. */
  actions: readonly ActionView[];
};

/** How many device names the message lists before "and N more". */
export const THREAT_DEVICES_SHOWN = 8;
/** Actions per page of the Review modal: one block each, well inside a modal's 100 blocks. */
export const REVIEW_PAGE_SIZE = 40;

const KIND_WORDS = {
  file: "File",
  url: "URL",
  registry_value: "Registry value",
  service: "Service",
  driver: "Driver",
  scheduled_task: "Scheduled task",
  process_image: "Process",
} as const;

/** "File evil.exe (sha256 3f2a…9b1c)": what the actions act on, from the first of them. */
function thing(
  input: Pick<ThreatMessageInput, "threatKey" | "actions">,
  show: (text: string, max: number) => string,
): string {
  const first = input.actions[0]!;
  const kind = threatKindOf(input.threatKey);
  const what = describeEntity(first.type, first.entity);
  return `${kind ? KIND_WORDS[kind] : "Threat"} ${show(what, 120)}`;
}

const countOf = (actions: readonly ActionView[], pick: (a: ActionView) => string | null) =>
  new Set(actions.flatMap((a) => (pick(a) === null ? [] : [pick(a)]))).size;

function reach(actions: readonly ActionView[]): string {
  const needsDevice = ACTION_TYPE_INFO[actions[0]!.type].needsDevice;
  const deviceCount = countOf(actions, (a) => a.deviceId ?? a.deviceName);
  const investigations = countOf(actions, (a) => a.investigationId);
  return [
    needsDevice ? plural(deviceCount, "device") : "all devices (tenant-wide)",
    plural(investigations, "investigation"),
    plural(actions.length, "action"),
  ].join(" · ");
}

/** The full identity of the thing, for hunting: the whole hash or URL. */
function identity(action: ActionView): string {
  const { entity } = action;
  const line =
    entity.sha256 ?? entity.url ?? entity.key ?? entity.name ?? entity.path ?? entity.imagePath ?? "";
  return line ? `\`${escapeInline(line, 2000).replaceAll("`", "'")}\`` : "";
}

function notificationText(input: ThreatMessageInput): string {
  const pending = input.actions.filter(isPending).length;
  const what = thing(input, escapeInline);
  const where = reach(input.actions);
  return pending > 0
    ? `Threat: ${what} on ${where}; ${pending} waiting for approval`
    : `Threat: ${what} on ${where}; ${statusCounts(input.actions)}`;
}

function groupButton(id: string, messageKey: number, label: string, extra: Partial<Button> = {}): Button {
  return { type: "button", action_id: id, value: String(messageKey), text: plainText(label), ...extra };
}

/** What Approve all's confirmation modal says (modals.ts `approveAllModal`). */
export function approveAllText(input: Pick<ThreatMessageInput, "threatKey" | "actions">): string {
  const pending = input.actions.filter(isPending);
  return (
    `${thing(input, plainInline)}: this approves the ${plural(pending.length, "action")} still waiting, on ${reach(pending)}. ` +
    "Each is checked as if approved alone and runs as soon as it is approved."
  );
}

function buttons(input: ThreatMessageInput): Button[] {
  const pending = input.actions.filter(isPending);
  const { messageKey } = input;
  const decide: Button[] =
    pending.length === 0
      ? []
      : [
          // No `confirm`: Slack would show it to everyone; the server checks the person, then
          // confirms in a modal.
          groupButton(actionId.approveAll(messageKey), messageKey, `Approve all ${pending.length}`, {
            style: "primary",
          }),
          // Reject all opens a modal asking for the reason, which is its own confirmation.
          groupButton(actionId.rejectAll(messageKey), messageKey, "Reject all", { style: "danger" }),
        ];
  // A quarantine's Undo offers the file's other instances (the undo confirmation lists them).
  const undoable = input.actions.find((a) => a.status === "completed" && isUndoable(a.type));
  const undo: Button[] = undoable
    ? [
        {
          type: "button",
          action_id: actionId.confirmUndo(undoable.id),
          value: String(undoable.id),
          text: plainText("Undo…"),
        },
      ]
    : [];
  return [...decide, groupButton(actionId.review(messageKey), messageKey, "Review"), ...undo];
}

export function threatMessage(input: ThreatMessageInput): SlackMessage {
  const { actions } = input;
  const first = actions[0]!;
  const blocks: KnownBlock[] = [
    {
      type: "header",
      text: plainText(truncate(`Threat: ${thing(input, plainInline)}`, LIMITS.headerText)),
    },
    {
      type: "section",
      text: mrkdwn(
        [`*${ACTION_TYPE_INFO[first.type].label}* on ${reach(actions)}`, identity(first)]
          .filter(Boolean)
          .join("\n"),
      ),
    },
    {
      type: "context",
      elements: [mrkdwn(`*Devices:* ${devices(actions, THREAT_DEVICES_SHOWN)}`)],
    },
    { type: "context", elements: [mrkdwn(`*Status:* ${statusCounts(actions)}`)] },
    { type: "actions", elements: buttons(input) },
  ];
  return { text: notificationText(input), blocks };
}

// --- Review: every action of the message, page by page -----------------------------------

/** What Review and Reject all show: a heading (mrkdwn), the message key, its actions. */
export type GroupInput = { heading: string; messageKey: number; actions: readonly ActionView[] };

/** The heading of a threat's Review and Reject all: "File evil.exe (sha256 3f2a…9b1c)". */
export function threatHeading(input: ThreatMessageInput): string {
  return thing(input, escapeInline);
}

export type ReviewInput = GroupInput & {
  /** 1 is the first page; past the last shows the last. */
  page: number;
  /** A line about the last decision taken here, shown on top. */
  notice?: string;
};

/** What the Review modal carries between clicks. */
export type ReviewState = { messageKey: number; page: number };

export function reviewState(privateMetadata: string): ReviewState | null {
  try {
    const parsed = JSON.parse(privateMetadata) as Partial<ReviewState>;
    const { messageKey, page } = parsed;
    return Number.isSafeInteger(messageKey) && Number.isSafeInteger(page) && messageKey! > 0 && page! > 0
      ? { messageKey: messageKey!, page: page! }
      : null;
  } catch {
    return null;
  }
}

export const pageCount = (actions: number) => Math.max(1, Math.ceil(actions / REVIEW_PAGE_SIZE));

function reviewRow(action: ActionView): KnownBlock {
  const device = ACTION_TYPE_INFO[action.type].needsDevice
    ? escapeInline(action.deviceName ?? action.deviceId ?? "an unknown device", 80)
    : "all devices";
  const investigation = action.investigationId ? ` · ${escapeInline(action.investigationId, 80)}` : "";
  const approvals =
    action.approvals && action.status === "pending"
      ? ` · ${action.approvals.by.length} of ${action.approvals.needed} approvals`
      : "";
  const text = mrkdwn(
    `*${device}*${investigation}\n${describeStatus(action.status)}${approvals} · #${action.id}`,
  );
  if (action.status !== "pending") return { type: "section", text };
  const menu: Overflow = {
    type: "overflow",
    action_id: actionId.reviewDecision(action.id),
    options: [
      { text: plainText("Approve"), value: REVIEW_OPTION.approve },
      { text: plainText("Reject…"), value: REVIEW_OPTION.reject },
    ],
  };
  return { type: "section", text, accessory: menu };
}

export function reviewModal(input: ReviewInput): ModalView {
  const pages = pageCount(input.actions.length);
  const page = Math.min(Math.max(1, input.page), pages);
  const start = (page - 1) * REVIEW_PAGE_SIZE;
  const shown = input.actions.slice(start, start + REVIEW_PAGE_SIZE);
  const nav: Button[] = [
    ...(page > 1
      ? [{ type: "button" as const, action_id: actionId.reviewPage(page - 1), text: plainText("Previous") }]
      : []),
    ...(page < pages
      ? [{ type: "button" as const, action_id: actionId.reviewPage(page + 1), text: plainText("Next") }]
      : []),
  ];
  return {
    type: "modal",
    callback_id: REVIEW_CALLBACK_ID,
    private_metadata: JSON.stringify({ messageKey: input.messageKey, page } satisfies ReviewState),
    title: plainText("Review"),
    close: plainText("Close"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(`*${input.heading}*\n${reach(input.actions)}\n*Status:* ${statusCounts(input.actions)}`),
      },
      ...(input.notice
        ? [{ type: "context" as const, elements: [mrkdwn(truncate(input.notice, 2000))] }]
        : []),
      { type: "divider" },
      ...shown.map(reviewRow),
      {
        type: "context",
        elements: [
          mrkdwn(
            `Actions ${start + 1}–${start + shown.length} of ${input.actions.length} · page ${page} of ${pages}`,
          ),
        ],
      },
      ...(nav.length > 0 ? [{ type: "actions" as const, elements: nav }] : []),
    ],
  };
}

/** The reason for Reject all; `private_metadata` carries the message key. */
export function rejectAllModal(input: GroupInput): ModalView {
  const pending = input.actions.filter(isPending);
  return {
    type: "modal",
    callback_id: REJECT_ALL_CALLBACK_ID,
    private_metadata: String(input.messageKey),
    title: plainText("Reject all"),
    submit: plainText(truncate(`Reject ${pending.length}`, LIMITS.modalButton)),
    close: plainText("Cancel"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(
          `*${input.heading}*\nRejects the ${plural(pending.length, "action")} still waiting, on ${reach(pending)}.`,
        ),
      },
      {
        type: "input",
        block_id: REASON_INPUT_ID,
        label: plainText("Reason"),
        hint: plainText("Kept on every one of these actions in the audit trail."),
        element: {
          type: "plain_text_input",
          action_id: REASON_INPUT_ID,
          multiline: true,
          max_length: REASON_MAX_LENGTH,
          placeholder: plainText("Why should none of these run?"),
        },
      },
    ],
  };
}
