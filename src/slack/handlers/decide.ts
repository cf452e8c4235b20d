// A decision asked for in Slack: who may decide is settled from the verified user id, the policy
// and the store, never from anything the client echoes back; every refusal is audited; the
// person always gets a plain answer.

import { getAction } from "../../db/queries/actions.ts";
import type { ActionRow, StepUpRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { type Decision, describeStatus } from "../../domain/status.ts";
import { type Approvals, decide } from "../../services/decide.ts";
import { type Clearance, type Refusal, recordRefusal } from "../../services/refusals.ts";
import type { Recheck } from "../../services/stepUp.ts";
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
    const label = labelOf(action);
    const clearance = await clearanceFor(deps, action, userId, decision);
    if (!clearance.ok) {
      const { refusal } = clearance;
      await recordRefusal(ctx, { actionIds: [actionId], decision, actor: userId, refusal });
      return { ok: false, message: refusal.text };
    }
    const outcome = await decide(
      ctx.db,
      { ...request, actor: userId, approvalsAtLeast: clearance.approvalsAtLeast },
      { policy: ctx.config.policy, mode: "offer" },
    );
    if ("signIn" in outcome) {
      count("held_for_sign_in");
      return signInAnswer(deps, { userId, decision, label, held: outcome.signIn });
    }
    if ("approvals" in outcome) {
      count(outcome.ok ? "recorded" : "refused");
      return { ok: outcome.ok, message: approvalsMessage(label, outcome.ok, outcome.approvals) };
    }
    if (outcome.ok) {
      count("done");
      return { ok: true, message: `${DONE[decision]}: ${label}.` };
    }
    count("refused");
    return { ok: false, message: notNowMessage(outcome.action, decision, label, outcome.message) };
  } catch (error) {
    count("error");
    ctx.log.error({ err: error, actionId, decision, userId }, "decision could not be recorded");
    return { ok: false, message: STORE_DOWN_TEXT };
  }
}

/** "Action on device": how the answers name an action. */
export const labelOf = (action: ActionRow) =>
  `${ACTION_TYPE_INFO[action.type].label} on ${action.deviceName ?? "all devices"}`;

/** Why `decision` did not change `current`: its status does not allow it (any more). */
export function notNowMessage(
  current: ActionRow | null | undefined,
  decision: Decision,
  label: string,
  fallback: string,
): string {
  if (current?.decidedBy && current.decidedAt && (decision === "approve" || decision === "reject")) {
    const verb = current.status === "rejected" ? "rejected" : "approved";
    return `Already ${verb} by <@${current.decidedBy}> at ${slackDate(current.decidedAt)}; nothing changed.`;
  }
  if (current?.status === "expired" && current.expiresAt) {
    return `Nothing changed: ${label} expired at ${slackDate(current.expiresAt)}, before your decision; it was not run.`;
  }
  const now = current ? `it is ${describeStatus(current.status)}` : fallback;
  return `Nothing changed: ${label} cannot be ${DONE[decision].toLowerCase()} now — ${now}.`;
}

/** The answer to an approval (or undo approval) that counted, or did not, under the two-person rule. */
function approvalsMessage(label: string, counted: boolean, approvals: Approvals): string {
  const { operation, count: given, needed } = approvals;
  const more = `${needed - given} more approver${needed - given === 1 ? "" : "s"}`;
  const what = operation === "undo" ? "its undo" : "it";
  if (!counted) {
    return `You have already approved ${operation === "undo" ? "the undo of " : ""}${label} (${given} of ${needed}); ${what} needs ${more}, and the same person twice does not count.`;
  }
  return operation === "undo"
    ? `Undo approval recorded (${given} of ${needed}): waiting for ${more}; ${label} is undone once they ask for it too.`
    : `Approval recorded (${given} of ${needed}): ${label} runs once ${more} approve it.`;
}

/** A refusal with the words to tell the person. */
type SlackRefusal = Refusal & { text: string };

const ALONE = { ok: true, refusal: null, approvalsAtLeast: 1 } as const;

/**
 * Whether this person may take this decision on this action: a refusal, or leave, with the
 * distinct approvers an approval must then count towards (a requester nobody can name in Slack
 * may be this person, so by default somebody else has to approve too).
 */
export async function clearanceFor(
  deps: DecidingDeps,
  action: ActionRow,
  userId: string,
  decision: Decision,
): Promise<Clearance<SlackRefusal>> {
  const refusal = await approverRefusal(deps, action, userId, decision);
  if (refusal) return { ok: false, refusal };
  if (decision !== "approve" || action.requestedBy === null) return ALONE;
  const requester = await deps.requesters.compare(action.requestedBy, userId);
  if (!requester.ok) {
    return {
      ok: false,
      refusal: {
        reason: "could not check who requested it",
        text: ":warning: Could not check with Slack who requested this action, so nothing was done — try again in a moment.",
        outcome: "error",
      },
    };
  }
  if (requester.match === "same") {
    return {
      ok: false,
      refusal: {
        reason: "requested it themselves",
        text: ":no_entry: You requested this action, so you cannot approve it yourself: another approver has to.",
        outcome: "forbidden",
      },
    };
  }
  if (requester.match === "different") return ALONE;
  switch (deps.ctx.config.policy.unknownRequester) {
    case "allow":
      return ALONE;
    case "second_approver":
      return { ok: true, refusal: null, approvalsAtLeast: 2 };
    case "refuse":
      return {
        ok: false,
        refusal: {
          reason: "requester unknown",
          text: ":no_entry: Nobody can tell who requested this action, and the policy refuses to approve such actions: name the requester in the policy's `requesters`, or reject it.",
          outcome: "forbidden",
        },
      };
  }
}

/** Why this person may not decide this action at all (not an approver of its type), or null. */
async function approverRefusal(
  deps: DecidingDeps,
  action: ActionRow,
  userId: string,
  decision: Decision,
): Promise<SlackRefusal | null> {
  const { approvers } = deps;
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
  return null;
}

/**
 * Refuses, at the click, a person who may decide none of `actions` (not an approver, or not of
 * any of their types): recorded on each of them, as the decision would have. Null when the
 * person may decide at least one; each is checked again when the decision is taken.
 */
export async function refusalAtClick(
  deps: DecidingDeps,
  request: { userId: string; actions: readonly ActionRow[]; decision: Decision },
): Promise<string | null> {
  const { userId, actions, decision } = request;
  let first: SlackRefusal | null = null;
  for (const type of new Set(actions.map((action) => action.type))) {
    const action = actions.find((a) => a.type === type)!;
    const refusal = await approverRefusal(deps, action, userId, decision);
    if (!refusal) return null;
    first ??= refusal;
  }
  if (!first) return null;
  const actionIds = actions.map((action) => action.id);
  await recordRefusal(deps.ctx, { actionIds, decision, actor: userId, refusal: first });
  return first.text;
}

/** What the per-person checks read: the policy, the approver lists and the requester look-up. */
type DecidingDeps = Pick<SlackDeps, "ctx" | "approvers" | "requesters">;

/**
 * The click's per-person checks asked again when a held decision's sign-in finishes (group
 * membership may have changed meanwhile): why the person may not decide now, or the distinct
 * approvers the decision must count towards.
 */
export function recheckAfterSignIn(deps: DecidingDeps) {
  return async (stepUp: StepUpRow, action: ActionRow): Promise<Recheck> => {
    const clearance = await clearanceFor(deps, action, stepUp.slackUserId, stepUp.decision);
    return clearance.ok
      ? { ok: true, approvalsAtLeast: clearance.approvalsAtLeast }
      : { ok: false, reason: clearance.refusal.reason };
  };
}
