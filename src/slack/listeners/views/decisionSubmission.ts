// The confirmation modal of Approve, Undo, Retry or Retry undo: its submission takes the decision,
// checked and committed as for any decision (the person, the policy, step-up, the two-person rule),
// and answered where the button was clicked. A second submission decides nothing more.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { decisionOfModal } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { answerDecision, decisionOf } from "../../handlers/confirmDecision.ts";
import { decideInSlack } from "../../handlers/decide.ts";

const OUT_OF_DATE = "That confirmation is out of date, nothing was done: click the button again.";

export function decisionSubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    // The modal closes at once; the answer comes where the person clicked, as for any click.
    await ack();
    const userId = body.user.id;
    const confirmed = decisionOfModal(view.private_metadata);
    if (!confirmed)
      return await answerDecision(deps, { userId, origin: {} }, { ok: false, message: OUT_OF_DATE });
    const { id: actionId, kind, channel, reply } = confirmed;
    const origin = { ...(channel && { channel }), ...(reply && { reply }) };
    const answer = await decideInSlack(deps, { userId, actionId, decision: decisionOf(kind) });
    await answerDecision(deps, { userId, origin }, answer);
  };
}
