// Approve, Undo, Retry and Retry undo: ack at once, decide, answer the clicker privately. The
// message itself follows through the update queue.
import type { Decision } from "../../../domain/status.ts";
import { decideInSlack } from "../../decideInSlack.ts";
import type { SlackDeps } from "../../deps.ts";
import { replyPrivately } from "../../reply.ts";
import { actionButton } from "./actionButton.ts";

const DECISION_OF: Partial<Record<string, Decision>> = {
  approve: "approve",
  undo: "request_undo",
  retry: "retry",
  retry_undo: "retry_undo",
};

export function decisionButton(deps: SlackDeps) {
  return actionButton(async ({ body, actionId, verb }) => {
    const decision = DECISION_OF[verb];
    if (!decision) return;
    const answer = await decideInSlack(deps, { userId: body.user.id, actionId, decision });
    // Success shows in the message; a private line only where something did not happen.
    if (!answer.ok) await replyPrivately(deps, body, answer.text);
  });
}
