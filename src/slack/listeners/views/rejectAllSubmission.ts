// The Reject all modal's submission: the reason is required; every action still waiting is
// checked and rejected as one set operation (a few statements, inside Slack's 3 seconds), and the
// modal shows what was done or refused.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { REASON_INPUT_ID } from "../../actionIds.ts";
import { noticeModal, REASON_MAX_LENGTH } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { rejectAllInSlack } from "../../handlers/approveAll.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";

export function rejectAllSubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const refuse = (error: string) =>
      ack({ response_action: "errors", errors: { [REASON_INPUT_ID]: error } });
    const reason = view.state.values[REASON_INPUT_ID]?.[REASON_INPUT_ID]?.value?.trim() ?? "";
    if (reason === "") return await refuse("Say why, for the audit trail.");
    const messageKey = Number(view.private_metadata);
    if (!Number.isSafeInteger(messageKey) || messageKey <= 0)
      return await refuse("This form is out of date; reopen it.");
    try {
      const answer = await rejectAllInSlack(deps, {
        userId: body.user.id,
        messageKey,
        reason: reason.slice(0, REASON_MAX_LENGTH),
      });
      if (!answer.ok) return await refuse(answer.text);
      await ack({ response_action: "update", view: noticeModal("Reject all", answer.text) });
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey }, "reject all failed");
      await refuse(STORE_DOWN_TEXT);
    }
  };
}
