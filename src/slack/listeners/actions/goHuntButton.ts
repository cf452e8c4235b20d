import { getAction } from "../../../db/queries/actions.ts";
import { buttonRoutes } from "../../actionIds.ts";
import { goHuntModal } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { replyPrivately } from "../../reply.ts";
import { actionButton } from "./actionButton.ts";

/** Go hunt: a modal with a ready-to-copy advanced-hunting query for the action's entity. */
export function goHuntButton(deps: SlackDeps) {
  return actionButton(buttonRoutes.goHunt, async ({ body, actionId }) => {
    try {
      const found = await getAction(deps.ctx.db, actionId);
      if (!found) return await replyPrivately(deps, body, "That action does not exist (any more).");
      await deps.client.views.open({ trigger_id: body.trigger_id, view: goHuntModal(found) });
    } catch (error) {
      deps.ctx.log.error({ err: error, actionId }, "could not open the hunt modal");
      await replyPrivately(deps, body, "Could not open the hunting query; try again.");
    }
  });
}
