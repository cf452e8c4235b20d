// A decision asked for in Slack: who may decide is settled from the verified user id, the policy
// and the store, never from anything the client echoes back; every refusal is audited; the
// person always gets a plain answer.

import { getAction } from "../../db/queries/actions.ts";
import type { ActionRow, StepUpRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { type Decision, describeStatus } from "../../domain/status.ts";
import { decide } from "../../services/decide.ts";
import { type Refusal, recordRefusal } from "../../services/refusals.ts";
import type { SlackDeps } from "../deps.ts";
import { slackDate } from "../text.ts";
import { signInAnswer } from "./stepUp.ts";

/**
 * What the person is told, whether the decision was taken or refused. `privately`: said to them
 * even though it went through (a link to sign in, which only they may see).
 */
export type DecisionAnswer = { ok: boolean; message: string; privately?: true };

const DONE: Record<Decision, string> = {
  approve: "Approved",
  reject: "Rejected",
  retry: "Retry started",
  request_undo: "Undo requested",
  retry_undo: "Undo retried",
};
const VERB: Record<Decision, string> = {
  approve: "approve",
  reject: "reject",
  retry: "retry",
  request_undo: "undo",
  retry_undo: "retry the undo of",
};

export const STORE_DOWN_TEXT =
  ":warning: Could not record your decision, nothing was done — try again in a moment.";

export async function decideInSlack(
  deps: SlackDeps,
  request: { userId: string; actionId: number; decision: Decision; comment?: string },
): Promise<DecisionAnswer> {
  const { ctx } = deps;
  const { userId, actionId, decision } = request;
  const count = (outcome: string) => ctx.metrics.decisions.inc({ decision, outcome });
  try {
    const action = await getAction(ctx.db, actionId);
    if (!action) {
      count("refused");
      return { ok: false, message: "That action does not exist (any more)." };
    }
    const label = `${ACTION_TYPE_INFO[action.type].label} on ${action.deviceName ?? "all devices"}`;
    const refusal = await refusalFor(deps, action, userId, decision);
    if (refusal) {
      await recordRefusal(ctx, { actionIds: [actionId], decision, actor: userId, refusal });
      return { ok: false, message: refusal.text };
    }
    const outcome = await decide(
      ctx.db,
      { ...request, actor: userId },
      { policy: ctx.config.policy, mode: "offer" },
    );
    if ("signIn" in outcome) {
      count("held_for_sign_in");
      return signInAnswer(deps, { userId, decision, label, held: outcome.signIn });
    }
    if ("approvals" in outcome) {
      const { count: given, needed } = outcome.approvals;
      const more = `${needed - given} more approver${needed - given === 1 ? "" : "s"}`;
      count(outcome.ok ? "recorded" : "refused");
      return outcome.ok
        ? {
            ok: true,
            message: `Approval recorded (${given} of ${needed}): ${label} runs once ${more} approve it.`,
          }
        : {
            ok: false,
            message: `You have already approved ${label} (${given} of ${needed}); it needs ${more}, and the same person twice does not count.`,
          };
    }
    if (outcome.ok) {
      count("done");
      return { ok: true, message: `${DONE[decision]}: ${label}.` };
    }
    count("refused");
    const current = outcome.action;
    if (current?.decidedBy && current.decidedAt && (decision === "approve" || decision === "reject")) {
      const verb = current.status === "rejected" ? "rejected" : "approved";
      return {
        ok: false,
        message: `Already ${verb} by <@${current.decidedBy}> at ${slackDate(current.decidedAt)}; nothing changed.`,
      };
    }
    if (current?.status === "expired" && current.expiresAt) {
      return {
        ok: false,
        message: `Nothing changed: ${label} expired at ${slackDate(current.expiresAt)}, before your decision; it was not run.`,
      };
    }
    const now = current ? `it is ${describeStatus(current.status)}` : outcome.message;
    return {
      ok: false,
      message: `Nothing changed: ${label} cannot be ${DONE[decision].toLowerCase()} now — ${now}.`,
    };
  } catch (error) {
    count("error");
    ctx.log.error({ err: error, actionId, decision, userId }, "decision could not be recorded");
    return { ok: false, message: STORE_DOWN_TEXT };
  }
}

/** A refusal with the words to tell the person. */
type SlackRefusal = Refusal & { text: string };

/** Why this person may not take this decision on this action, or null when they may. */
export async function refusalFor(
  deps: Pick<SlackDeps, "approvers" | "requesters">,
  action: ActionRow,
  userId: string,
  decision: Decision,
): Promise<SlackRefusal | null> {
  const { approvers, requesters } = deps;
  if (!(await approvers.mayDecide(userId, action.type))) {
    if (!(await approvers.isApprover(userId))) {
      return {
        reason: "not an approver",
        text: `:no_entry: You are not allowed to ${VERB[decision]} actions. Approvers: ${approvers.describe()}.`,
        outcome: "forbidden",
      };
    }
    const kind = ACTION_TYPE_INFO[action.type].label.toLowerCase();
    return {
      reason: `not an approver of ${action.type}`,
      text: `:no_entry: You are not allowed to ${VERB[decision]} ${kind} actions: only ${approvers.describeFor(action.type)} may.`,
      outcome: "forbidden",
    };
  }
  if (decision !== "approve" || action.requestedBy === null) return null;
  const requester = await requesters.slackUserFor(action.requestedBy);
  if (!requester.ok) {
    return {
      reason: "could not check who requested it",
      text: ":warning: Could not check with Slack who requested this action, so nothing was done — try again in a moment.",
      outcome: "error",
    };
  }
  if (requester.userId !== userId) return null;
  return {
    reason: "requested it themselves",
    text: ":no_entry: You requested this action, so you cannot approve it yourself: another approver has to.",
    outcome: "forbidden",
  };
}

/**
 * The click's per-person checks asked again when a held decision's sign-in finishes (group
 * membership may have changed meanwhile): why the person may not decide now, or null.
 */
export function recheckAfterSignIn(deps: Pick<SlackDeps, "approvers" | "requesters">) {
  return async (stepUp: StepUpRow, action: ActionRow): Promise<string | null> =>
    (await refusalFor(deps, action, stepUp.slackUserId, stepUp.decision))?.reason ?? null;
}
