// Approve, Undo, Retry and Retry undo: ack at once, check the person on the server, then either
// refuse at once or open the confirmation modal with the click's trigger (valid 3 seconds). The
// decision is the modal's submission (listeners/views/decisionSubmission.ts).
import { createLane } from "../../../lib/lane.ts";
import { buttonRoutes } from "../../actionIds.ts";
import type { ConfirmOrigin } from "../../blocks/modals.ts";
import type { SlackDeps } from "../../deps.ts";
import { answerDecision, confirmationFor } from "../../handlers/confirmDecision.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { originOf } from "../../handlers/privateReply.ts";
import { actionButton } from "./actionButton.ts";

const CHECKS_AT_ONCE = 4;

export function decisionButton(deps: SlackDeps) {
  const inLane = createLane(CHECKS_AT_ONCE);
  return actionButton(buttonRoutes.decision, async ({ body, actionId, kind }) => {
    const userId = body.user.id;
    // A click in a private `show` reply is answered in that reply, now or after the modal.
    const reply = originOf(body, String(actionId));
    const origin: ConfirmOrigin = {
      ...(body.channel?.id && { channel: body.channel.id }),
      ...(reply && { reply }),
    };
    try {
      const confirmation = await inLane(() => confirmationFor(deps, { userId, actionId, kind, origin }));
      if (!confirmation.ok) {
        return await answerDecision(deps, { userId, origin }, { ok: false, message: confirmation.message });
      }
      await deps.client.views.open({ trigger_id: body.trigger_id, view: confirmation.view });
    } catch (error) {
      deps.ctx.log.error(
        { err: error, actionId, kind, userId },
        "could not open the decision's confirmation",
      );
      await answerDecision(deps, { userId, origin }, { ok: false, message: STORE_DOWN_TEXT });
    }
  });
}
