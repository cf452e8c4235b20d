// The buttons about a whole message (a threat's, or an investigation too large for per-action
// rows): Approve all checks the person, then opens its confirmation (whose submission decides,
// views/approveAllSubmission.ts) or refuses at once; Review opens the modal of every action.
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { approveAllModalFor, NOT_OURS_TEXT, reviewView } from "../../handlers/approveAll.ts";
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
      const origin = body.channel?.id ? { channel: body.channel.id } : {};
      const modal = await approveAllModalFor(deps, { userId: body.user.id, messageKey, origin });
      if (!modal.ok) return await replyPrivately(deps, body, modal.text);
      await deps.client.views.open({ trigger_id: body.trigger_id, view: modal.view });
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey, kind: parsed.kind }, "group button failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
