// The buttons of an investigation too large for per-action rows: Approve all and Review.
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { approveAllInSlack, reviewInSlack } from "../../handlers/approveAll.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function groupButton(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const parsed = buttonRoutes.group.parse(action.action_id);
    if (!parsed) return;
    const { messageKey } = parsed;
    try {
      const answer =
        parsed.kind === "review"
          ? await reviewInSlack(deps, messageKey)
          : await approveAllInSlack(deps, { userId: body.user.id, messageKey });
      await replyPrivately(deps, body, answer);
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey }, "approve all failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
