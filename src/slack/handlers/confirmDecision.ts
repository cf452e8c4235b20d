// A decision button's click is checked on the server before anything is shown: Slack would show
// a button's own `confirm` dialog to everyone in the channel, approver or not. A person who may
// not decide is refused at once (audited and threaded, as every refusal); an approver gets the
// confirmation modal, whose submission takes the decision (listeners/views/decisionSubmission.ts).
import { getAction } from "../../db/queries/actions.ts";
import { approvalsNeeded } from "../../domain/policy.ts";
import { type Decision, nextStatus } from "../../domain/status.ts";
import { recordRefusal } from "../../services/refusals.ts";
import type { DecisionKind } from "../actionIds.ts";
import { type ConfirmOrigin, decisionModal } from "../blocks/modals.ts";
import type { SlackDeps } from "../deps.ts";
import { replyPrivately } from "../reply.ts";
import { clearanceFor, type DecisionAnswer, labelOf, notNowMessage } from "./decide.ts";
import { refreshOrigin } from "./privateReply.ts";

const DECISION_OF: Record<DecisionKind, Decision> = {
  approve: "approve",
  undo: "request_undo",
  retry: "retry",
  retry_undo: "retry_undo",
};

export const decisionOf = (kind: DecisionKind): Decision => DECISION_OF[kind];

/**
 * The confirmation modal for this person's click, or the answer instead: the action is gone,
 * the person may not take it (the refusal is recorded), or its status no longer allows it. The submission checks everything again, as the authority.
 */
export async function confirmationFor(
  deps: SlackDeps,
  click: { userId: string; actionId: number; kind: DecisionKind; origin: ConfirmOrigin },
): Promise<{ ok: true; view: ReturnType<typeof decisionModal> } | { ok: false; message: string }> {
  const { ctx } = deps;
  const { userId, actionId, kind } = click;
  const decision = decisionOf(kind);
  const action = await getAction(ctx.db, actionId);
  if (!action) return { ok: false, message: "That action does not exist (any more)." };
  const clearance = await clearanceFor(deps, action, userId, decision);
  if (!clearance.ok) {
    const { refusal } = clearance;
    await recordRefusal(ctx, { actionIds: [actionId], decision, actor: userId, refusal });
    return { ok: false, message: refusal.text };
  }
  const allowed = nextStatus(action, decision);
  if (!allowed.ok) {
    return { ok: false, message: notNowMessage(action, decision, labelOf(action), allowed.message) };
  }
  const needed = Math.max(approvalsNeeded(ctx.config.policy, action), clearance.approvalsAtLeast);
  return {
    ok: true,
    view: decisionModal({ ...action, approvals: { needed, by: [] } }, kind, click.origin),
  };
}

/**
 * Tells the person how their decision went: in the private reply they clicked in, refreshed to
 * show the action as it now is; otherwise privately in the channel (or their DM) only where
 * something did not happen or the answer is theirs alone (a sign-in link) — success shows in
 * the message itself.
 */
export async function answerDecision(
  deps: SlackDeps,
  to: { userId: string; origin: ConfirmOrigin },
  answer: DecisionAnswer,
): Promise<void> {
  const { userId, origin } = to;
  if (origin.reply) return refreshOrigin(deps, { userId, reply: origin.reply, note: answer.message });
  if (!answer.ok || answer.privately) {
    await replyPrivately(
      deps,
      { user: { id: userId }, channel: origin.channel ? { id: origin.channel } : null },
      answer.message,
    );
  }
}
