// Reject opens a modal that asks for the reason (a person who may not reject is refused at once
// instead); the decision happens on its submission, checked again.
import { getAction } from "../../../db/queries/actions.ts";
import { buttonRoutes } from "../../actionIds.ts";
import { rejectModal } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { refusalAtClick, STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";
import { actionButton } from "./actionButton.ts";

export function rejectButton(deps: SlackDeps) {
  return actionButton(buttonRoutes.reject, async ({ body, actionId }) => {
    try {
      // The trigger expires in 3 seconds: only the cached approver check before the modal, the rest on submission.
      const found = await getAction(deps.ctx.db, actionId);
      if (!found) return await replyPrivately(deps, body, "That action does not exist (any more).");
      if (found.status !== "pending") {
        return await replyPrivately(
          deps,
          body,
          `Nothing to reject: it was ${found.status.replace("_", " ")} already.`,
        );
      }
      const refused = await refusalAtClick(deps, {
        userId: body.user.id,
        actions: [found],
        decision: "reject",
      });
      if (refused) return await replyPrivately(deps, body, refused);
      await deps.client.views.open({ trigger_id: body.trigger_id, view: rejectModal(found) });
    } catch (error) {
      deps.ctx.log.error({ err: error, actionId }, "could not open the reject modal");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  });
}
