// Approve all, Reject all and Review on a message (a threat's, or an investigation's too large for
// per-action rows), answered in words for the person who clicked; the store and the rules are the
// services'.
import { getAction } from "../../db/queries/actions.ts";
import { getMessage, messageActions } from "../../db/queries/messages.ts";
import { type DecideAllOutcome, decideAllOnMessage } from "../../services/approveAll.ts";
import type { Refusal } from "../../services/refusals.ts";
import { approveAllText as investigationApproveAllText } from "../blocks/investigationMessage.ts";
import { approveAllModal, type ConfirmOrigin, rejectModal } from "../blocks/modals.ts";
import {
  rejectAllModal,
  reviewModal,
  approveAllText as threatApproveAllText,
  threatHeading,
} from "../blocks/threatMessage.ts";
import type { SlackDeps } from "../deps.ts";
import { escapeInline } from "../text.ts";
import { clearanceFor, decideInSlack, refusalAtClick } from "./decide.ts";

export const NOT_OURS_TEXT = "That message is not ours any more.";
const NOTHING_WAITING_TEXT = "Nothing is waiting for a decision here.";

type SlackRefusal = Refusal & { text: string };

function describeOutcome(outcome: DecideAllOutcome<SlackRefusal>, verb: "Approved" | "Rejected"): string {
  if (!outcome.ok) return outcome.message;
  const { decided, recorded, skipped, signInNeeded, refusals } = outcome;
  const lines = [
    `${verb} ${decided} action${decided === 1 ? "" : "s"}.`,
    recorded ? `${recorded} need another approver; your approval is recorded.` : "",
    skipped ? `${skipped} had been decided meanwhile or expired.` : "",
    signInNeeded
      ? `${signInNeeded} need${signInNeeded === 1 ? "s" : ""} a fresh sign-in first: approve ${signInNeeded === 1 ? "it" : "each"} with its own Approve button.`
      : "",
    ...new Set(refusals.map((refusal) => refusal.text)),
  ];
  return lines.filter(Boolean).join(" ");
}

export async function approveAllInSlack(
  deps: SlackDeps,
  request: { userId: string; messageKey: number },
): Promise<string> {
  const { userId, messageKey } = request;
  const outcome = await decideAllOnMessage(deps.ctx, {
    messageKey,
    decision: "approve",
    actor: userId,
    clearanceFor: (action) => clearanceFor(deps, action, userId, "approve"),
  });
  return describeOutcome(outcome, "Approved");
}

export async function rejectAllInSlack(
  deps: SlackDeps,
  request: { userId: string; messageKey: number; reason: string },
): Promise<{ ok: boolean; text: string }> {
  const { userId, messageKey, reason } = request;
  const outcome = await decideAllOnMessage(deps.ctx, {
    messageKey,
    decision: "reject",
    actor: userId,
    comment: reason,
    clearanceFor: (action) => clearanceFor(deps, action, userId, "reject"),
  });
  return { ok: outcome.ok, text: describeOutcome(outcome, "Rejected") };
}

/** The pending actions of a message, or the words to say when there are none. */
async function pendingOn(deps: SlackDeps, messageKey: number) {
  const input = await messageInput(deps, messageKey);
  if (!input) return { ok: false as const, text: NOT_OURS_TEXT };
  const pending = input.actions.filter((a) => a.status === "pending");
  if (pending.length === 0) return { ok: false as const, text: NOTHING_WAITING_TEXT };
  return { ok: true as const, input, pending };
}

/**
 * Approve all's confirmation modal, or the words to say instead: nothing waits, or the person
 * may approve none of it (refused at once, before any confirmation is shown).
 */
export async function approveAllModalFor(
  deps: SlackDeps,
  request: { userId: string; messageKey: number; origin: ConfirmOrigin },
) {
  const found = await pendingOn(deps, request.messageKey);
  if (!found.ok) return found;
  const { input, pending } = found;
  const refused = await refusalAtClick(deps, {
    userId: request.userId,
    actions: pending,
    decision: "approve",
  });
  if (refused) return { ok: false as const, text: refused };
  const text = input.threatKey
    ? threatApproveAllText({ threatKey: input.threatKey, actions: input.actions })
    : investigationApproveAllText({ investigationId: input.investigationId ?? "—", actions: input.actions });
  return {
    ok: true as const,
    view: approveAllModal({ messageKey: request.messageKey, pending: pending.length, text }, request.origin),
  };
}

/**
 * The Reject all reason modal, or the words to say instead: nothing waits, or the person may
 * reject none of it (refused at once, before the modal).
 */
export async function rejectAllModalFor(deps: SlackDeps, request: { userId: string; messageKey: number }) {
  const found = await pendingOn(deps, request.messageKey);
  if (!found.ok) return found;
  const refused = await refusalAtClick(deps, {
    userId: request.userId,
    actions: found.pending,
    decision: "reject",
  });
  if (refused) return { ok: false as const, text: refused };
  return { ok: true as const, view: rejectAllModal(found.input) };
}

/** The Review modal at `page`, with an optional line about the last decision. */
export async function reviewView(
  deps: SlackDeps,
  state: { messageKey: number; page: number; notice?: string },
) {
  const input = await messageInput(deps, state.messageKey);
  if (!input) return null;
  return reviewModal({ ...input, page: state.page, ...(state.notice && { notice: state.notice }) });
}

async function messageInput(deps: SlackDeps, messageKey: number) {
  const message = await getMessage(deps.ctx.db, messageKey);
  if (!message) return null;
  const actions = await messageActions(deps.ctx.db, messageKey);
  if (actions.length === 0) return null;
  const heading = message.threatKey
    ? threatHeading({ threatKey: message.threatKey, messageKey, actions })
    : `Investigation ${escapeInline(message.investigationId ?? "—", 80)}`;
  return {
    heading,
    messageKey,
    actions,
    threatKey: message.threatKey,
    investigationId: message.investigationId,
  };
}

/**
 * A row's decision in the Review modal: Approve is decided at once (the answer is the notice the
 * refreshed page shows); Reject answers with the reason modal to push over the review.
 */
export async function reviewDecision(
  deps: SlackDeps,
  request: { userId: string; actionId: number; option: string },
) {
  const { userId, actionId, option } = request;
  if (option === "reject") {
    const action = await getAction(deps.ctx.db, actionId);
    if (!action) return { kind: "notice" as const, text: "That action does not exist (any more)." };
    if (action.status !== "pending")
      return {
        kind: "notice" as const,
        text: `Nothing to reject: it is ${action.status.replace("_", " ")} already.`,
      };
    return { kind: "push" as const, view: rejectModal(action) };
  }
  const answer = await decideInSlack(deps, { userId, actionId, decision: "approve" });
  return { kind: "notice" as const, text: answer.message };
}
