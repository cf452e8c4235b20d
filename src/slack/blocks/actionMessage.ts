// The channel message for one action: what it is, where, who asked, its status, and the buttons
// that fit that status. Pure: the same action gives the same message, so an update after each
// status change simply rebuilds it.
import type { ActionsBlock, Button, KnownBlock, MrkdwnElement } from "@slack/types";
import type { ActionRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, describeEntity, SOURCE_LABELS } from "../../domain/actionTypes.ts";
import type { Status } from "../../domain/status.ts";
import { ADVANCED_HUNTING_URL, advancedHuntingUrl, huntQuery } from "../../hunting/kql.ts";
import { actionId, type DecisionKind } from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { actorText, escapeInline, mrkdwn, plainInline, plainText, slackDate } from "../text.ts";

/** What the message shows of an action; an `ActionRow` is one. */
export type ActionView = Pick<
  ActionRow,
  | "id"
  | "type"
  | "status"
  | "source"
  | "deviceName"
  | "deviceId"
  | "entity"
  | "investigationId"
  | "incidentId"
  | "requestedBy"
  | "comment"
  | "createdAt"
  | "decidedBy"
  | "decidedAt"
  | "decisionComment"
  | "completedAt"
  | "error"
> & {
  expiresAt?: Date | null;
  /** The two-person rule: how many approvals the action needs and who has given one. */
  approvals?: { needed: number; by: string[] };
  /** Undo under the two-person rule: who has asked for it so far, of how many needed. */
  undoApprovals?: { needed: number; by: string[] };
  /** Who asked for the undo and when (from the audit trail), in the undo statuses. */
  undo?: { by: string; at: Date; doneAt: Date | null };
  /** Decisions held for a fresh sign-in (step-up): by whom, until when. */
  awaitingSignIn?: { userId: string; until: Date }[];
  /**
   * A completed quarantine: how many other devices have (or may soon have) the same file
   * quarantined, which its Undo offers to restore too.
   */
  otherInstances?: number;
};

export type SlackMessage = { text: string; blocks: KnownBlock[] };
/** Pages in the backend's own portal (Defender) beside ours, and where "Go hunt" queries run. */
export type PortalLinks = { pages: { label: string; url: string }[]; hunting: string };
export type MessageOptions = {
  /** Base of our own links (PUBLIC_URL). */
  publicUrl: string;
  portalLinks?: (action: ActionView) => PortalLinks;
};

/** Escapes and cuts user text for the surface it goes to: mrkdwn or plain_text. */
type Show = (text: string, max: number) => string;

/** "on LAPTOP-7", or "for all devices" for tenant-wide actions (URL blocks). */
function where(action: ActionView, show: Show): string {
  if (!ACTION_TYPE_INFO[action.type].needsDevice) return "for all devices";
  return `on ${show(action.deviceName ?? action.deviceId ?? "an unknown device", 100)}`;
}

/** What the action acts on and where: "evil.exe (sha256 3f2a…9b1c) on LAPTOP-7". */
export function target(action: ActionView, show: Show): string {
  const entity = describeEntity(action.type, action.entity);
  return entity ? `${show(entity, 120)} ${where(action, show)}` : where(action, show);
}

/** "Quarantine file evil.exe (sha256 3f2a…9b1c) on LAPTOP-7". */
function subject(action: ActionView, show: Show): string {
  return `${ACTION_TYPE_INFO[action.type].label} ${target(action, show)}`;
}

const STATUS_EMOJI: Record<Status, string> = {
  pending: ":hourglass_flowing_sand:",
  approved: ":white_check_mark:",
  running: ":gear:",
  completed: ":heavy_check_mark:",
  failed: ":x:",
  rejected: ":no_entry_sign:",
  expired: ":alarm_clock:",
  undo_requested: ":leftwards_arrow_with_hook:",
  undoing: ":gear:",
  undone: ":leftwards_arrow_with_hook:",
  undo_failed: ":x:",
};

function approvalsText(approvals: ActionView["approvals"]): string {
  if (!approvals) return "";
  const by = approvals.by.slice(0, 10).map(actorText).join(", ");
  return ` · ${approvals.by.length} of ${approvals.needed} approvals${by ? `: ${by}` : ""}`;
}

/** " · undo waiting for 1 more approver (1 of 2 undo approvals: @alice)", once somebody asked. */
function undoApprovalsText(approvals: ActionView["undoApprovals"]): string {
  if (!approvals || approvals.by.length === 0) return "";
  const more = approvals.needed - approvals.by.length;
  const by = approvals.by.slice(0, 10).map(actorText).join(", ");
  return ` · undo waiting for ${more} more approver${more === 1 ? "" : "s"} (${approvals.by.length} of ${approvals.needed} undo approvals: ${by})`;
}

/** " · awaiting sign-in by @ann (until 10:42)": a decision held for a fresh sign-in. */
function signInText(action: ActionView): string {
  const waiting = action.awaitingSignIn ?? [];
  if (waiting.length === 0) return "";
  const who = waiting
    .slice(0, 5)
    .map((w) => `${actorText(w.userId)} (until ${slackDate(w.until)})`)
    .join(", ");
  return ` · :closed_lock_with_key: awaiting sign-in by ${who}`;
}

/** One mrkdwn line that follows the status: who decided, when, and the outcome. */
export function statusLine(action: ActionView): string {
  const by = action.decidedBy ? ` by ${actorText(action.decidedBy)}` : "";
  const approvedBy = action.decidedBy ? ` · approved by ${actorText(action.decidedBy)}` : "";
  const error = escapeInline(action.error ?? "no error recorded", 500);
  const undo = ACTION_TYPE_INFO[action.type].undoLabel ?? "Undo";
  const asked = action.undo;
  const undoBy = asked ? ` by ${actorText(asked.by)} ${slackDate(asked.at)}` : "";
  const undoAsked = asked ? ` · requested by ${actorText(asked.by)} ${slackDate(asked.at)}` : "";
  const line = ((): string => {
    switch (action.status) {
      case "pending":
        return `Waiting for approval${approvalsText(action.approvals)}`;
      case "approved":
        return `Approved${by}${action.decidedAt ? ` at ${slackDate(action.decidedAt)}` : ""} · queued to run`;
      case "running":
        return `Running${approvedBy}`;
      case "completed":
        return `Completed${action.completedAt ? ` ${slackDate(action.completedAt)}` : ""}${approvedBy}${undoApprovalsText(action.undoApprovals)}`;
      case "failed":
        return `Failed: ${error}${approvedBy}`;
      case "rejected":
        return `Rejected${by}${action.decisionComment ? `: ${escapeInline(action.decisionComment, 500)}` : ""}`;
      case "expired":
        return "Expired — not run";
      case "undo_requested":
        return `Undo requested${undoBy}: ${undo}`;
      case "undoing":
        return `Undoing: ${undo}${undoAsked}`;
      case "undone":
        return `Undone${action.undo?.doneAt ? ` ${slackDate(action.undo.doneAt)}` : ""}: ${undo} ran${undoAsked}`;
      case "undo_failed":
        return `Undo failed: ${error}${undoAsked}`;
    }
  })();
  return `${STATUS_EMOJI[action.status]} ${line}${signInText(action)}`;
}

/** The lock-screen line: it must say, without the blocks, what happened to what and where. */
function notificationText(action: ActionView): string {
  const what = subject(action, escapeInline);
  const by = action.decidedBy ? ` — by ${actorText(action.decidedBy)}` : "";
  const approvedBy = action.decidedBy ? ` — approved by ${actorText(action.decidedBy)}` : "";
  const error = ` — ${escapeInline(action.error ?? "no error recorded", 200)}`;
  switch (action.status) {
    case "pending": {
      const count = action.approvals ? ` (${action.approvals.by.length} of ${action.approvals.needed})` : "";
      return `Approval needed${count}: ${what} (${origin(action)})`;
    }
    case "approved":
      return `Approved: ${what}${by}`;
    case "running":
      return `Running: ${what}${approvedBy}`;
    case "completed":
      return `Completed: ${what}${approvedBy}`;
    case "failed":
      return `Failed: ${what}${error}`;
    case "rejected":
      return `Rejected: ${what}${by}`;
    case "expired":
      return `Expired without a decision: ${what}`;
    case "undo_requested":
      return `Undo requested: ${what}`;
    case "undoing":
      return `Undoing: ${what}`;
    case "undone":
      return `Undone: ${what}`;
    case "undo_failed":
      return `Undo failed: ${what}${error}`;
  }
}

/** "automated investigation inv-42", "manual response by alice@example.com", … */
function origin(action: ActionView): string {
  const investigation = action.investigationId ? escapeInline(action.investigationId, 80) : "";
  if (action.source === "automated_investigation") {
    return investigation ? `automated investigation ${investigation}` : "automated investigation";
  }
  const source =
    action.source === "manual"
      ? `manual response${action.requestedBy ? ` by ${escapeInline(action.requestedBy, 80)}` : ""}`
      : SOURCE_LABELS[action.source];
  return investigation ? `${source}, investigation ${investigation}` : source;
}

const field = (label: string, value: string): MrkdwnElement => mrkdwn(`*${label}*\n${value}`);

function fields(action: ActionView): MrkdwnElement[] {
  const entity = describeEntity(action.type, action.entity);
  const requestedBy =
    action.source === "manual" && action.requestedBy
      ? ` · requested by ${escapeInline(action.requestedBy, 200)}`
      : "";
  const investigation = [
    action.investigationId && escapeInline(action.investigationId, 200),
    action.incidentId && `incident ${escapeInline(action.incidentId, 200)}`,
  ].filter(Boolean);
  return [
    field(
      "Device",
      ACTION_TYPE_INFO[action.type].needsDevice
        ? escapeInline(action.deviceName ?? action.deviceId ?? "unknown", 300)
        : "All devices (tenant-wide)",
    ),
    ...(entity ? [field("Entity", escapeInline(entity, 1000))] : []),
    field("Source", `${SOURCE_LABELS[action.source]}${requestedBy}`),
    field("Investigation", investigation.join(" · ") || "—"),
    field("Requested", slackDate(action.createdAt)),
    ...(action.status === "pending" && action.expiresAt
      ? [field("Expires", slackDate(action.expiresAt))]
      : []),
  ];
}

/**
 * What a decision's confirmation modal asks (modals.ts `decisionModal`), opened only once the
 * server has checked the person may decide: Slack would show a button's own `confirm` dialog to
 * everyone, approvers or not, before the app hears of the click.
 */
export function decisionQuestion(
  action: ActionView,
  kind: DecisionKind,
): { question: string; text: string; label: string } {
  const what = subject(action, plainInline);
  const error = plainInline(action.error ?? "no error recorded", 150);
  const undoLabel = ACTION_TYPE_INFO[action.type].undoLabel ?? "Undo";
  switch (kind) {
    case "approve": {
      const needed = action.approvals?.needed ?? 1;
      const when = needed > 1 ? `once ${needed} people have approved it` : "as soon as you approve it";
      return { question: "Approve this action?", text: `${what}. It runs ${when}.`, label: "Approve" };
    }
    case "undo":
      return {
        question: `Undo: ${undoLabel} ${where(action, plainInline)}?`,
        text: `${undoLabel} reverses "${what}".`,
        label: "Undo",
      };
    case "retry":
      return {
        question: "Retry this action?",
        text: `${what} failed: ${error}. Run it again?`,
        label: "Retry",
      };
    case "retry_undo":
      return {
        question: "Retry the undo?",
        text: `${undoLabel} ${where(action, plainInline)} failed: ${error}. Try again?`,
        label: "Retry undo",
      };
  }
}

/** A button about one action; `id` builds its action_id (`approve:42`) from the action's id. */
function button(
  id: (actionId: number) => string,
  action: ActionView,
  label: string,
  extra: Partial<Button> = {},
): Button {
  return {
    type: "button",
    action_id: id(action.id),
    value: String(action.id),
    text: plainText(label),
    // Screen readers hear which action a button belongs to, also among the rows of an investigation.
    accessibility_label: plainInline(`${label}: ${subject(action, plainInline)}`, LIMITS.accessibilityLabel),
    ...extra,
  };
}

/** The buttons that decide on the action in its current status (none once nothing is left to decide). */
export function decisionButtons(action: ActionView): Button[] {
  const what = subject(action, plainInline);
  const undoLabel = ACTION_TYPE_INFO[action.type].undoLabel;
  switch (action.status) {
    // No button carries Slack's `confirm`: the click is checked on the server first, and only a
    // person allowed to decide gets the confirmation (a modal, decisionQuestion).
    case "pending":
      return [
        button(actionId.approve, action, "Approve", { style: "primary" }),
        // Reject opens a modal asking for the reason, which is its own confirmation.
        button(actionId.reject, action, "Reject", { style: "danger" }),
      ];
    case "completed":
      if (!undoLabel) return [];
      // The file is quarantined elsewhere too: Undo opens the confirmation, which offers "Apply to
      // N more instances" as they are when it opens. A lone quarantine keeps the one-tap Undo.
      if ((action.otherInstances ?? 0) > 0)
        return [
          button(actionId.confirmUndo, action, "Undo…", {
            accessibility_label: plainInline(
              `Undo, with ${action.otherInstances} other instance${action.otherInstances === 1 ? "" : "s"}: ${what}`,
              LIMITS.accessibilityLabel,
            ),
          }),
        ];
      return [button(actionId.undo, action, "Undo")];
    case "failed":
      return [button(actionId.retry, action, "Retry")];
    case "undo_failed":
      return [button(actionId.retryUndo, action, "Retry undo")];
    default:
      return [];
  }
}

/** Our investigation page, or the action's own page when it belongs to no investigation. */
export function investigationUrl(
  action: Pick<ActionView, "id" | "investigationId">,
  publicUrl: string,
): string {
  const base = publicUrl.replace(/\/+$/, "");
  const url = action.investigationId
    ? `${base}/investigations/${encodeURIComponent(action.investigationId)}`
    : "";
  return url && url.length <= LIMITS.buttonUrl ? url : `${base}/actions/${action.id}`;
}

function openInvestigationButton(action: ActionView, publicUrl: string): Button {
  return button(actionId.openInvestigation, action, "Open investigation", {
    url: investigationUrl(action, publicUrl),
  });
}

/** Advanced hunting opened on the action's hunt; the bare page when the link would be too long for a button. */
export function huntingLink(action: ActionView, base = ADVANCED_HUNTING_URL): string {
  const url = advancedHuntingUrl(huntQuery(action), base);
  return url.length <= LIMITS.buttonUrl ? url : base;
}

/**
 * Go hunt, whatever the status: before a decision it weighs it, after one it checks it (did the
 * file come back, is it elsewhere). With a portal it also opens the hunt there.
 */
export function goHuntButton(action: ActionView, portal: PortalLinks | undefined): Button {
  return button(
    actionId.goHunt,
    action,
    "Go hunt",
    portal ? { url: huntingLink(action, portal.hunting) } : {},
  );
}

function buttons(action: ActionView, publicUrl: string, portal: PortalLinks | undefined): ActionsBlock {
  return {
    type: "actions",
    elements: [
      ...decisionButtons(action),
      openInvestigationButton(action, publicUrl),
      goHuntButton(action, portal),
    ],
  };
}

export function actionMessage(action: ActionView, options: MessageOptions): SlackMessage {
  const portal = options.portalLinks?.(action);
  const portalPages = (portal?.pages ?? []).map((page) => `<${page.url}|${page.label}>`);
  return {
    text: notificationText(action),
    blocks: [
      { type: "header", text: plainText(ACTION_TYPE_INFO[action.type].label) },
      { type: "section", fields: fields(action) },
      ...(action.comment
        ? [{ type: "section" as const, text: mrkdwn(`*Comment*\n${escapeInline(action.comment, 2000)}`) }]
        : []),
      { type: "context", elements: [mrkdwn(statusLine(action))] },
      ...(portalPages.length > 0
        ? [{ type: "context" as const, elements: [mrkdwn(portalPages.join(" · "))] }]
        : []),
      buttons(action, options.publicUrl, portal),
    ],
  };
}
