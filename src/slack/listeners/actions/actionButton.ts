// What every per-action button does first: ack within Slack's 3 seconds, then read which action
// the click is about from the button's action_id (`approve:42`). Authority never comes from the
// click: the listener decides from the verified user id and the store.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;
export type ActionClick<K extends string> = {
  body: ButtonArgs["body"];
  actionId: number;
  kind: K;
  /** Answers through the click's response_url (Slack's `respond`). */
  respond: ButtonArgs["respond"];
};

/** `route` is the button's entry in `buttonRoutes` (actionIds.ts), whose ids name one action. */
export function actionButton<K extends string>(
  route: { parse(value: string): { kind: K; actionId: number } | null },
  handle: (click: ActionClick<K>) => Promise<void>,
) {
  return async ({ ack, body, action, respond }: ButtonArgs) => {
    await ack();
    const parsed = route.parse(action.action_id);
    if (parsed) await handle({ body, actionId: parsed.actionId, kind: parsed.kind, respond });
  };
}
