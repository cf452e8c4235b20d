// What every per-action button does first: ack within Slack's 3 seconds, then read which action
// the click is about from the button's action_id (`approve:42`). Authority never comes from the
// click: the listener decides from the verified user id and the store.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import { type ButtonVerb, parseActionId } from "../../blocks/actionMessage.ts";

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;
export type ActionClick = { body: ButtonArgs["body"]; actionId: number; verb: ButtonVerb };

export function actionButton(handle: (click: ActionClick) => Promise<void>) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const parsed = parseActionId(action.action_id);
    if (parsed) await handle({ body, actionId: parsed.actionId, verb: parsed.verb });
  };
}
