// Approve all / Reject all on a message (a threat's, or an investigation's too large for
// per-action rows): every action the message still shows as waiting gets the checks of a single
// decision (per-type approvers, no self-approval, expiry, the two-person rule), each refusal
// audited on its action; then the decisions commit as one set operation (services/bulkDecide.ts).
// Who may decide is the caller's check, as for every decision.
import type { Db } from "../db/client.ts";
import { pendingActionsOnMessage } from "../db/queries/actions.ts";
import { getMessage } from "../db/queries/messages.ts";
import type { ActionRow } from "../db/schema.ts";
import type { Policy } from "../domain/policy.ts";
import { type Result, refuse } from "../domain/result.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { decideMany } from "./bulkDecide.ts";
import { type Clearance, type Refusal, recordRefusal } from "./refusals.ts";
import { SIGN_IN_NEEDED } from "./stepUpGate.ts";

export type WaitingOnMessage = {
  investigationId: string | null;
  threatKey: string | null;
  pending: ActionRow[];
};

/** What one of our messages still shows as waiting, or null when the message is not ours. */
export async function waitingOnMessage(db: Db, messageKey: number): Promise<WaitingOnMessage | null> {
  const message = await getMessage(db, messageKey);
  if (!message) return null;
  return {
    investigationId: message.investigationId,
    threatKey: message.threatKey,
    pending: await pendingActionsOnMessage(db, message.id),
  };
}

export type DecideAllOutcome<R extends Refusal> = Result<
  {
    /** Approved (or rejected) now. */
    decided: number;
    /** Approvals counted under the two-person rule (or for a requester nobody can name): each action waits for another approver. */
    recorded: number;
    /** Decided by someone else between the read and the decision, or expired. */
    skipped: number;
    /** Not decided: the policy asks for a fresh sign-in, which each action gets from its own message. */
    signInNeeded: number;
    /** One per action the person may not decide, in the actions' order. */
    refusals: R[];
  },
  "not_our_message" | "nothing_waiting"
>;

export type DecideAllRequest<R extends Refusal> = {
  messageKey: number;
  decision: "approve" | "reject";
  /** The verified user id. */
  actor: string;
  /** The reason of a Reject all, kept on every action. */
  comment?: string;
  clearanceFor: (action: ActionRow) => Promise<Clearance<R>>;
};

export async function decideAllOnMessage<R extends Refusal>(
  ctx: { db: Db; metrics: Metrics; config: { policy: Policy } },
  request: DecideAllRequest<R>,
): Promise<DecideAllOutcome<R>> {
  const { db, metrics } = ctx;
  const { actor, decision } = request;
  const waiting = await waitingOnMessage(db, request.messageKey);
  if (!waiting) return refuse("not_our_message", "That message is not ours any more.");
  if (waiting.pending.length === 0)
    return refuse("nothing_waiting", "Nothing is waiting for a decision here.");
  // Whether a person may decide depends on the action's type and requester only: asked once each.
  const answers = new Map<string, Promise<Clearance<R>>>();
  const clearanceOf = (action: ActionRow) => {
    const key = `${action.type}\u0000${action.requestedBy ?? ""}`;
    if (!answers.has(key)) answers.set(key, request.clearanceFor(action));
    return answers.get(key)!;
  };
  const allowed: number[] = [];
  const approvalsAtLeast = new Map<number, number>();
  const refused = new Map<R, number[]>();
  const refusals: R[] = [];
  for (const action of waiting.pending) {
    const clearance = await clearanceOf(action);
    if (clearance.ok) {
      allowed.push(action.id);
      if (clearance.approvalsAtLeast > 1) approvalsAtLeast.set(action.id, clearance.approvalsAtLeast);
      continue;
    }
    const { refusal } = clearance;
    refused.set(refusal, [...(refused.get(refusal) ?? []), action.id]);
    refusals.push(refusal);
  }
  for (const [refusal, actionIds] of refused)
    await recordRefusal(ctx, { actionIds, decision, actor, refusal });
  const outcome = await db.transaction((tx) =>
    decideMany(tx, {
      actionIds: allowed,
      decision,
      actor,
      approvalsAtLeast,
      ...(request.comment !== undefined && { comment: request.comment }),
      policy: ctx.config.policy,
    }),
  );
  metrics.decisions.inc({ decision, outcome: "done" }, outcome.decided.length);
  if (outcome.recorded.length)
    metrics.decisions.inc({ decision, outcome: "recorded" }, outcome.recorded.length);
  return {
    ok: true,
    decided: outcome.decided.length,
    recorded: outcome.recorded.length,
    skipped: outcome.skipped.filter((s) => s.message !== SIGN_IN_NEEDED).length,
    signInNeeded: outcome.skipped.filter((s) => s.message === SIGN_IN_NEEDED).length,
    refusals,
  };
}
