// Previous and Next under a listing: the page is queried again for the clicker and replaces the
// answer in place (an ephemeral answer can only be changed through its response_url), which then
// follows the actions of its new page.
import { decodeListing, plainAnswer } from "../../blocks/history.ts";
import { replyIdOf } from "../../blocks/privateReply.ts";
import type { SlackDeps } from "../../deps.ts";
import { OUT_OF_DATE_TEXT, respondAfterFailure } from "../../handlers/commands/respond.ts";
import { replaceReply } from "../../handlers/privateReply.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function historyPageButton(deps: SlackDeps) {
  return async ({ ack, body, action, respond }: ButtonArgs) => {
    await ack();
    const value = action.value ?? "";
    const post = (message: object) => respond({ replace_original: true, ...message });
    try {
      const replyId = replyIdOf(action.block_id);
      const turned =
        decodeListing(value) !== null &&
        (await replaceReply(deps, {
          userId: body.user.id,
          reply: { url: body.response_url, value, ...(replyId !== undefined && { replyId }) },
          note: null,
          post,
        }));
      if (!turned) await post(plainAnswer(OUT_OF_DATE_TEXT));
    } catch (error) {
      deps.ctx.log.error({ err: error, userId: body.user.id }, "could not turn the page");
      await respondAfterFailure(deps, respond);
    }
  };
}
