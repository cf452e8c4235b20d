// Inside the Review modal: a row's overflow menu (Approve at once, Reject… with the reason modal
// pushed over the review) and Previous / Next. The modal is re-rendered from the store after each.
import type { AllMiddlewareArgs, BlockAction, OverflowAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import { buttonRoutes } from "../../actionIds.ts";
import { reviewState } from "../../blocks/threatMessage.ts";
import type { SlackDeps } from "../../deps.ts";
import { reviewDecision, reviewView } from "../../handlers/approveAll.ts";
import { STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";
import type { ButtonArgs } from "./actionButton.ts";

type MenuArgs = SlackActionMiddlewareArgs<BlockAction<OverflowAction>> & AllMiddlewareArgs;

/** Shows `page` of the review (with `notice` on top) in the modal the click came from. */
async function refresh(
  deps: SlackDeps,
  body: { view?: { id: string; private_metadata: string } },
  page: number | null,
  notice?: string,
) {
  const state = body.view ? reviewState(body.view.private_metadata) : null;
  if (!body.view || !state) return;
  const view = await reviewView(deps, {
    messageKey: state.messageKey,
    page: page ?? state.page,
    ...(notice && { notice }),
  });
  if (view) await deps.client.views.update({ view_id: body.view.id, view });
}

export function reviewDecisionMenu(deps: SlackDeps) {
  return async ({ ack, body, action }: MenuArgs) => {
    await ack();
    const parsed = buttonRoutes.reviewDecision.parse(action.action_id);
    if (!parsed) return;
    try {
      const answer = await reviewDecision(deps, {
        userId: body.user.id,
        actionId: parsed.actionId,
        option: action.selected_option.value,
      });
      if (answer.kind === "push")
        await deps.client.views.push({ trigger_id: body.trigger_id, view: answer.view });
      else await refresh(deps, body, null, answer.text);
    } catch (error) {
      deps.ctx.log.error({ err: error, actionId: parsed.actionId }, "review decision failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}

export function reviewPageButton(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const parsed = buttonRoutes.reviewPage.parse(action.action_id);
    if (!parsed) return;
    try {
      await refresh(deps, body, parsed.page);
    } catch (error) {
      deps.ctx.log.error({ err: error, page: parsed.page }, "review page failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
