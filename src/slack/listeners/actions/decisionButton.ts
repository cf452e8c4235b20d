// Approve, Undo, Retry and Retry undo: ack at once, decide, answer the clicker privately. The
// message itself follows through the update queue.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import type { Decision } from "../../../domain/status.ts";
import { parseActionId } from "../../blocks/actionMessage.ts";
import { decideInSlack } from "../../decideInSlack.ts";
import type { SlackDeps } from "../../deps.ts";
import { replyPrivately } from "../../reply.ts";

const DECISION_OF: Record<string, Decision> = {
  approve: "approve",
  undo: "request_undo",
  retry: "retry",
  retry_undo: "retry_undo",
};

export function decisionButton(deps: SlackDeps) {
  return async ({
    ack,
    body,
    action,
  }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await ack();
    const parsed = parseActionId(action.action_id);
    const decision = parsed && DECISION_OF[parsed.verb];
    if (!parsed || !decision) return;
    const answer = await decideInSlack(deps, { userId: body.user.id, actionId: parsed.actionId, decision });
    // Success shows in the message; a private line only where something did not happen.
    if (!answer.ok) await replyPrivately(deps, body, answer.text);
  };
}
