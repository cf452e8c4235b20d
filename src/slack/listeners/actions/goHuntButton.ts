import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import { getAction } from "../../../db/queries/actions.ts";
import { parseActionId } from "../../blocks/actionMessage.ts";
import { goHuntModal } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { replyPrivately } from "../../reply.ts";

/** Go hunt: a modal with a ready-to-copy advanced-hunting query for the action's entity. */
export function goHuntButton(deps: SlackDeps) {
  return async ({
    ack,
    body,
    action,
  }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await ack();
    const parsed = parseActionId(action.action_id);
    if (!parsed) return;
    try {
      const found = await getAction(deps.ctx.db, parsed.actionId);
      if (!found) return await replyPrivately(deps, body, "That action does not exist (any more).");
      await deps.client.views.open({ trigger_id: body.trigger_id, view: goHuntModal(found) });
    } catch (error) {
      deps.ctx.log.error({ err: error, actionId: parsed.actionId }, "could not open the hunt modal");
      await replyPrivately(deps, body, "Could not open the hunting query; try again.");
    }
  };
}
