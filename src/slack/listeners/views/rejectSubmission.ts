// The reject modal's submission: the reason is required; the decision is checked and committed
// as for any button, and a refusal is shown in the modal itself.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { REASON_INPUT_ID } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { decideInSlack } from "../../handlers/decide.ts";

export function rejectSubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const reason = view.state.values[REASON_INPUT_ID]?.[REASON_INPUT_ID]?.value?.trim() ?? "";
    if (reason === "") {
      await ack({
        response_action: "errors",
        errors: { [REASON_INPUT_ID]: "Say why, for the audit trail." },
      });
      return;
    }
    const actionId = Number(view.private_metadata);
    if (!Number.isSafeInteger(actionId) || actionId <= 0) {
      await ack({
        response_action: "errors",
        errors: { [REASON_INPUT_ID]: "This form is out of date; reopen it." },
      });
      return;
    }
    // The decision takes a few milliseconds, well inside Slack's 3 seconds, and lets the modal
    // say what went wrong instead of closing on a failure.
    const answer = await decideInSlack(deps, {
      userId: body.user.id,
      actionId,
      decision: "reject",
      comment: reason.slice(0, 1000),
    });
    if (answer.ok) await ack();
    else
      await ack({ response_action: "errors", errors: { [REASON_INPUT_ID]: answer.message.slice(0, 2000) } });
  };
}
