// The buttons about a whole message (a threat's, or an investigation too large for per-action
// rows): Approve all decides and answers privately; Review opens the modal of every action.
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { approveAllInSlack, NOT_OURS_TEXT, reviewView } from "../../handlers/approveAll.ts";
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
      if (parsed.kind === "review") {
        // The trigger expires in 3 seconds: the first page is read and opened at once.
        const view = await reviewView(deps, { messageKey, page: 1 });
        if (!view) return await replyPrivately(deps, body, NOT_OURS_TEXT);
        await deps.client.views.open({ trigger_id: body.trigger_id, view });
        return;
      }
      await replyPrivately(deps, body, await approveAllInSlack(deps, { userId: body.user.id, messageKey }));
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey, kind: parsed.kind }, "group button failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
