// The undo confirmation's submission. The request takes a few milliseconds per action, inside
// Slack's 3 seconds, so the modal itself can show the result or say what was refused.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import {
  FIRST_PICK_BLOCK_ID,
  moreInstancesChosen,
  offeredInstances,
  originReply,
  selectedActionIds,
} from "../../blocks/bulkUndo.ts";
import type { SlackDeps } from "../../deps.ts";
import { confirmUndo } from "../../handlers/commands/undo.ts";
import { refreshOrigin } from "../../handlers/privateReply.ts";

export function bulkUndoSubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const userId = body.user.id;
    const offered = offeredInstances(view.private_metadata);
    const refuse = (error: string) =>
      ack({ response_action: "errors", errors: { [FIRST_PICK_BLOCK_ID]: error } });
    if (offered === null) return await refuse("This form is out of date; open it again.");
    try {
      const result = await confirmUndo(deps, {
        userId,
        selected: selectedActionIds(view.state.values),
        applyToMore: moreInstancesChosen(view.state.values),
        offered,
      });
      if (!result.ok) return await refuse(result.message);
      await ack({ response_action: "update", view: result.view });
      deps.ctx.log.info({ userId, requestId: result.requestId }, "bulk undo requested");
      // The reply the modal came from no longer offers what was just undone.
      const reply = originReply(view.private_metadata);
      if (reply) {
        const note = `:leftwards_arrow_with_hook: Undo requested (request \`${result.requestId}\`); the actions as they are now:`;
        await refreshOrigin(deps, { userId, reply, note });
      }
    } catch (error) {
      deps.ctx.log.error({ err: error, userId }, "bulk undo failed");
      await refuse("Could not record the undo; nothing was changed. Try again in a moment.");
    }
  };
}
