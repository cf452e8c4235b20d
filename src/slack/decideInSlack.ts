// A decision asked for in Slack: who may decide is settled from the verified user id and the
// store, never from anything the client echoes back; every refusal is audited; the person
// always gets a plain answer.
import { appendEvent, getAction } from "../db/queries/actions.ts";
import { ACTION_TYPE_INFO } from "../domain/actionTypes.ts";
import { type Decision, describeStatus } from "../domain/status.ts";
import { decide } from "../services/decide.ts";
import type { SlackDeps } from "./deps.ts";
import { slackDate } from "./text.ts";

export type DecisionAnswer = { ok: boolean; text: string };

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
  const { ctx, approvers } = deps;
  const { userId, actionId, decision } = request;
  const count = (outcome: string) => ctx.metrics.decisions.inc({ decision, outcome });
  try {
    const action = await getAction(ctx.db, actionId);
    if (!action) {
      count("refused");
      return { ok: false, text: "That action does not exist (any more)." };
    }
    const label = `${ACTION_TYPE_INFO[action.type].label} on ${action.deviceName ?? "all devices"}`;
    if (!(await approvers.isApprover(userId))) {
      await appendEvent(ctx.db, {
        actionId,
        kind: "decision_refused",
        actor: userId,
        detail: { decision, reason: "not an approver" },
      });
      count("forbidden");
      return {
        ok: false,
        text: `:no_entry: You are not allowed to ${VERB[decision]} actions. Approvers: ${approvers.describe()}.`,
      };
    }
    const outcome = await decide(ctx.db, { ...request, actor: userId });
    if (outcome.ok) {
      count("done");
      return { ok: true, text: `${DONE[decision]}: ${label}.` };
    }
    count("refused");
    const current = outcome.action;
    if (current?.decidedBy && current.decidedAt && (decision === "approve" || decision === "reject")) {
      const verb = current.status === "rejected" ? "rejected" : "approved";
      return {
        ok: false,
        text: `Already ${verb} by <@${current.decidedBy}> at ${slackDate(current.decidedAt)}; nothing changed.`,
      };
    }
    const now = current ? `it is ${describeStatus(current.status)}` : outcome.reason;
    return {
      ok: false,
      text: `Nothing changed: ${label} cannot be ${DONE[decision].toLowerCase()} now — ${now}.`,
    };
  } catch (error) {
    count("error");
    ctx.log.error({ err: error, actionId, decision, userId }, "decision could not be recorded");
    return { ok: false, text: STORE_DOWN_TEXT };
  }
}
