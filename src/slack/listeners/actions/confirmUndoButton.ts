// Undo on a history row or under `show`: the confirmation with that action checked, offering the
// other instances of a quarantined file.
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { respondAfterFailure } from "../../handlers/commands/respond.ts";
import { openUndoForActions } from "../../handlers/commands/undo.ts";
import { answerInReply, originOf } from "../../handlers/privateReply.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function confirmUndoButton(deps: SlackDeps) {
  return async ({ ack, body, action, respond }: ButtonArgs) => {
    await ack();
    const parsed = buttonRoutes.confirmUndo.parse(action.action_id);
    if (!parsed) return;
    const { actionId } = parsed;
    try {
      const answer = await openUndoForActions(deps, {
        userId: body.user.id,
        triggerId: body.trigger_id,
        reply: originOf(body, action.value),
        actionIds: [actionId],
      });
      if (answer) await answerInReply(deps, { body, value: action.value, respond }, answer);
    } catch (error) {
      deps.ctx.log.error(
        { err: error, actionId, userId: body.user.id },
        "could not open the undo confirmation",
      );
      await respondAfterFailure(deps, respond);
    }
  };
}
