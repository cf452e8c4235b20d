// Reject all on a threat's message opens a modal that asks for the reason (a person who may reject
// none of it is refused at once instead); the decisions happen on its submission.
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { rejectAllModalFor } from "../../handlers/approveAll.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function rejectAllButton(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const parsed = buttonRoutes.rejectAll.parse(action.action_id);
    if (!parsed) return;
    try {
      const modal = await rejectAllModalFor(deps, { userId: body.user.id, messageKey: parsed.messageKey });
      if (!modal.ok) return await replyPrivately(deps, body, modal.text);
      await deps.client.views.open({ trigger_id: body.trigger_id, view: modal.view });
    } catch (error) {
      deps.ctx.log.error(
        { err: error, messageKey: parsed.messageKey },
        "could not open the reject-all modal",
      );
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
