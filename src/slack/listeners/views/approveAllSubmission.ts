// Approve all's confirmation modal: its submission approves every action of the message still
// waiting, each checked as a single click would be, and answers privately where it was clicked.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { approveAllOfModal } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { approveAllInSlack } from "../../handlers/approveAll.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";

export function approveAllSubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const confirmed = approveAllOfModal(view.private_metadata);
    const to = { user: { id: userId }, channel: confirmed?.channel ? { id: confirmed.channel } : null };
    if (!confirmed) {
      return await replyPrivately(
        deps,
        to,
        "That confirmation is out of date, nothing was done: click Approve all again.",
      );
    }
    try {
      await replyPrivately(
        deps,
        to,
        await approveAllInSlack(deps, { userId, messageKey: confirmed.messageKey }),
      );
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey: confirmed.messageKey }, "approve all failed");
      await replyPrivately(deps, to, STORE_DOWN_TEXT);
    }
  };
}
