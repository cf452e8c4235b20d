// Private answers through a response_url, shared by the command and the buttons of its answers.
import type { RespondFn } from "@slack/bolt";
import { plainAnswer } from "../../blocks/history.ts";
import type { SlackDeps } from "../../deps.ts";

export const COMMAND_FAILED_TEXT =
  ":warning: That did not work and nothing was changed — try again in a moment.";
export const OUT_OF_DATE_TEXT = "This listing is out of date; run `/action-center history` again.";

/** After a failure the person still hears that nothing happened; if even that fails, it is logged. */
export async function respondAfterFailure(deps: SlackDeps, respond: RespondFn): Promise<void> {
  try {
    await respond({
      response_type: "ephemeral",
      replace_original: false,
      ...plainAnswer(COMMAND_FAILED_TEXT),
    });
  } catch (error) {
    deps.ctx.log.warn({ err: error }, "could not tell the person that their request failed");
  }
}
