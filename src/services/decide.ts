// A person's decision on an action, committed with its audit event and the work it starts.
// Who may decide is checked by the caller (the Slack layer knows the verified user); this is
// the single place where a decision turns into a status change and queued work.

import type { Db, Tx } from "../db/client.ts";
import { lockAction } from "../db/queries/actions.ts";
import { addApproval, approversOf, raiseApprovalsNeeded } from "../db/queries/approvals.ts";
import type { ActionRow, ApprovalOperation } from "../db/schema.ts";
import { recordChange, type TransitionOutcome, transitionAction } from "../db/transitions.ts";
import { type Refusal, refuse } from "../domain/result.ts";
import { isPastExpiry } from "../domain/status.ts";
import { type DecisionRequest, decisionTransition } from "./decisionTransition.ts";
import { decideOnce } from "./inbox.ts";
import { type Held, holdForSignIn, type StepUpGate } from "./stepUpGate.ts";

export type { DecisionRequest } from "./decisionTransition.ts";

/** The two-person rule's count: who has approved the operation so far, of how many needed. */
export type Approvals = { operation: ApprovalOperation; count: number; needed: number; by: string[] };

export type DecisionOutcome =
  | TransitionOutcome
  /** The approval counts, but the action waits for more approvers before it runs. */
  | { ok: true; action: ActionRow; approvals: Approvals }
  /** Refused: this person has already approved it, and the same person twice does not count. */
  | (Refusal<"already_approved"> & { action: ActionRow; approvals: Approvals })
  /** The Slack request deciding it was already settled by a concurrent handling of it. */
  | (Refusal<"already_handled"> & { action: null })
  /**
   * Not committed: held until the person signs in afresh (policy `stepUp`; services/stepUp.ts),
   * or refused where it cannot be held (several actions at once).
   */
  | Held;

/**
 * `gate`: what to do where the policy asks for a fresh sign-in first. Every decision on a
 * person's behalf passes one (the Slack handlers do); code that decides for no person (tests,
 * benchmarks) leaves it out and is not held.
 */
export async function decide(db: Db, request: DecisionRequest, gate?: StepUpGate): Promise<DecisionOutcome> {
  return decideOnce(
    db,
    (tx) => decideInTransaction(tx, request, gate),
    () => ({ ...refuse("already_handled", "this request was already handled"), action: null }),
  );
}

/** `decide` inside the caller's transaction, so that several decisions commit as one. */
export async function decideInTransaction(
  tx: Tx,
  request: DecisionRequest,
  gate?: StepUpGate,
): Promise<DecisionOutcome> {
  // Locked before counting, so concurrent approvals of one action are counted one at a time.
  const current = await lockAction(tx, request.actionId);
  if (current && isPastExpiry(current, new Date())) return expireInstead(tx, current, request);
  const counted = current && countedApproval(current, request);
  const held = current && gate && (await holdForSignIn(tx, current, request, gate, counted));
  if (held) return held;
  if (counted) return recordApproval(tx, current, counted, request);
  return transitionAction(tx, { ...decisionTransition(request), locked: current });
}

/**
 * Which approval the decision gives and how many distinct people it needs, when the action waits
 * for several (the two-person rule, for running it or for undoing it, or a requester nobody can
 * name); null when the decision takes effect alone.
 */
export function countedApproval(
  action: ActionRow,
  request: Pick<DecisionRequest, "decision" | "approvalsAtLeast">,
): { operation: ApprovalOperation; needed: number } | null {
  if (request.decision === "approve" && action.status === "pending") {
    const needed = Math.max(action.approvalsNeeded, request.approvalsAtLeast ?? 1);
    return needed > 1 ? { operation: "approve", needed } : null;
  }
  if (
    request.decision === "request_undo" &&
    action.status === "completed" &&
    action.undoApprovalsNeeded > 1
  ) {
    return { operation: "undo", needed: action.undoApprovalsNeeded };
  }
  return null;
}

/**
 * A decision that arrives after the expiry time, before the expiry job (or with it lost): the
 * action expires here, audited as the job would have, and the decision is refused.
 */
async function expireInstead(tx: Tx, action: ActionRow, request: DecisionRequest): Promise<DecisionOutcome> {
  const expired = await transitionAction(tx, {
    actionId: action.id,
    transition: "expire",
    actor: "system",
    detail: { reason: "expired before this decision", decision: request.decision, decidedBy: request.actor },
    locked: action,
  });
  return {
    ...refuse("not_now", "it expired before the decision arrived"),
    action: expired.ok ? expired.action : action,
  };
}

/** Counts one person's approval; only the last one needed approves the action (or its undo). */
async function recordApproval(
  tx: Tx,
  locked: ActionRow,
  counted: { operation: ApprovalOperation; needed: number },
  request: DecisionRequest,
): Promise<DecisionOutcome> {
  const { operation, needed } = counted;
  // Kept on the row, so that the message counts towards it and every later approver needs it too.
  const action = operation === "approve" ? await raiseApprovalsNeeded(tx, locked, needed) : locked;
  const added = await addApproval(tx, action.id, request.actor, operation);
  const by = await approversOf(tx, action.id, operation);
  const approvals = { operation, count: by.length, needed, by };
  if (!added) return { ...refuse("already_approved", "already approved by this person"), action, approvals };
  if (by.length >= needed) {
    const approvedBy = operation === "approve" ? { approvedBy: by } : { undoApprovedBy: by };
    return transitionAction(
      tx,
      decisionTransition({ ...request, detail: { ...request.detail, ...approvedBy } }),
    );
  }
  await recordChange(tx, action, {
    kind: operation === "approve" ? "approval_recorded" : "undo_approval_recorded",
    actor: request.actor,
    detail: {
      ...request.detail,
      ...(request.comment ? { comment: request.comment } : {}),
      approvals: by.length,
      needed,
      ...(needed > locked.approvalsNeeded && operation === "approve" && { reason: "requester unknown" }),
    },
  });
  return { ok: true, action, approvals };
}
