import type { AllMiddlewareArgs, SlackActionMiddlewareArgs } from "@slack/bolt";

/** Link buttons (Open investigation, advanced hunting): the browser opens the link; Slack only wants an ack. */
export async function linkButton({ ack }: SlackActionMiddlewareArgs & AllMiddlewareArgs): Promise<void> {
  await ack();
}
