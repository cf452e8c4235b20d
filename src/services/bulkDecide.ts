// One person's decision on many actions at once (Approve all / Reject all on a threat or an
// investigation, a bulk undo), as set operations: every action gets the status machine's verdict
// and its own audit event, and thousands commit in a few statements rather than a few per action.
// Actions under the two-person rule are counted one by one (each approval is a row of its own).
// Who may decide is the caller's check, as for every decision.
import type { Tx } from "../db/client.ts";
import type { ActionRow } from "../db/schema.ts";
import { transitionActions } from "../db/transitions.ts";
import { needsStepUp, type Policy } from "../domain/policy.ts";
import type { Decision } from "../domain/status.ts";
import { countedApproval, decideInTransaction } from "./decide.ts";
import { type DecisionRequest, decisionTransition } from "./decisionTransition.ts";
import { SIGN_IN_NEEDED } from "./stepUpGate.ts";

export type ManyDecisions = {
  actionIds: readonly number[];
  decision: Decision;
  /** The verified Slack user ID. */
  actor: string;
  comment?: string;
  /** More for every audit event, e.g. the request id that one confirmation's undos share. */
  detail?: Record<string, unknown>;
  /** Per action: distinct approvers its approval needs at least (a requester nobody can name). */
  approvalsAtLeast?: ReadonlyMap<number, number>;
  /** Actions whose decision needs a fresh sign-in (its `stepUp`) are skipped: each needs its own. */
  policy: Policy;
};

export type ManyOutcome = {
  /** Moved to their next status. */
  decided: ActionRow[];
  /** Approvals (or undo approvals) counted under the two-person rule: each waits for another approver. */
  recorded: ActionRow[];
  /** Not moved, each with the reason (decided meanwhile, expired, already approved by them…). */
  skipped: { actionId: number; action: ActionRow | null; message: string }[];
};

/** A pending action past its expiry is not decided, even before the sweep has marked it expired. */
export function expiredRefusal(action: ActionRow, now: Date): string | null {
  return action.status === "pending" && action.expiresAt !== null && action.expiresAt <= now
    ? "expired before the decision"
    : null;
}

export async function decideMany(tx: Tx, request: ManyDecisions): Promise<ManyOutcome> {
  const ids = [...new Set(request.actionIds)].sort((a, b) => a - b);
  const now = new Date();
  const outcome: ManyOutcome = { decided: [], recorded: [], skipped: [] };
  const counted: ActionRow[] = [];
  const { actionIds: _, approvalsAtLeast, policy, ...common } = request;
  const one = (actionId: number): DecisionRequest => {
    const atLeast = approvalsAtLeast?.get(actionId);
    return { ...common, actionId, ...(atLeast !== undefined && { approvalsAtLeast: atLeast }) };
  };
  const results = await transitionActions(
    tx,
    ids.map((actionId) => decisionTransition(one(actionId))),
    (current) => {
      if (request.decision === "approve" || request.decision === "reject") {
        const expired = expiredRefusal(current, now);
        if (expired) return expired;
      }
      // Left for the one-by-one path below, where each approver is a row (and whether this one is
      // the last needed, for the sign-in, is known).
      if (countedApproval(current, one(current.id))) {
        counted.push(current);
        return TWO_PERSON;
      }
      const stepUp =
        request.decision === "approve" ? "approve" : request.decision === "request_undo" ? "undo" : null;
      if (stepUp && needsStepUp(policy, current, stepUp, true)) return SIGN_IN_NEEDED;
      return null;
    },
  );
  results.forEach((result, i) => {
    if (result.ok) outcome.decided.push(result.action);
    else if (result.message !== TWO_PERSON)
      outcome.skipped.push({ actionId: ids[i]!, action: result.action, message: result.message });
  });
  for (const action of counted) {
    const single = await decideInTransaction(tx, one(action.id), { policy, mode: "refuse" });
    if (single.ok && "approvals" in single) outcome.recorded.push(single.action);
    else if (single.ok) outcome.decided.push(single.action);
    else outcome.skipped.push({ actionId: action.id, action: single.action, message: single.message });
  }
  return outcome;
}

const TWO_PERSON = "counted one approver at a time";
