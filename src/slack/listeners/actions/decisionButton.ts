// Approve, Undo, Retry and Retry undo: ack at once, decide, answer the clicker privately. The
// message itself follows through the update queue.
import type { Decision } from "../../../domain/status.ts";
import { createLane } from "../../../lib/lane.ts";
import { buttonRoutes, type DecisionKind } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { decideInSlack } from "../../handlers/decide.ts";
import { actionDetail } from "../../handlers/detail.ts";
import { replyPrivately } from "../../reply.ts";
import { actionButton } from "./actionButton.ts";

const DECISIONS_AT_ONCE = 4;

const DECISION_OF: Record<DecisionKind, Decision> = {
  approve: "approve",
  undo: "request_undo",
  retry: "retry",
  retry_undo: "retry_undo",
};

export function decisionButton(deps: SlackDeps) {
  const inLane = createLane(DECISIONS_AT_ONCE);
  return actionButton(buttonRoutes.decision, async ({ body, actionId, kind, respond }) => {
    const decision = DECISION_OF[kind];
    const answer = await inLane(() => decideInSlack(deps, { userId: body.user.id, actionId, decision }));
    // A click in a private `show` reply: the reply itself is replaced (only its response_url can edit it),
    // showing the action as it now is and the answer where the person clicked.
    if (body.container?.is_ephemeral) {
      try {
        const detail = await actionDetail(deps, actionId, answer.message);
        if (detail) return void (await respond({ replace_original: true, ...detail }));
      } catch (error) {
        deps.ctx.log.warn({ err: error, actionId }, "could not refresh the private reply clicked in");
      }
    }
    // Success shows in the message; a private line only where something did not happen, or
    // where the answer is for this person alone (a sign-in link).
    if (!answer.ok || answer.privately) await replyPrivately(deps, body, answer.message);
  });
}
