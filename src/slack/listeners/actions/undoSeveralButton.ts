// "Undo several…" under a history page: the confirmation lists the completed actions of the
// listing's filters to pick from.
import { decodeListing, plainAnswer } from "../../blocks/history.ts";
import type { SlackDeps } from "../../deps.ts";
import { parseCommand } from "../../handlers/commands/parse.ts";
import { OUT_OF_DATE_TEXT, respondAfterFailure } from "../../handlers/commands/respond.ts";
import { openUndoForFilters } from "../../handlers/commands/undo.ts";
import { answerInReply, originOf } from "../../handlers/privateReply.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function undoSeveralButton(deps: SlackDeps) {
  return async ({ ack, body, action, respond }: ButtonArgs) => {
    await ack();
    const listing = decodeListing(action.value ?? "");
    const parsed =
      listing && parseCommand(`history ${listing.filters}`, { userId: body.user.id, now: new Date() });
    try {
      if (!parsed?.ok || parsed.command.kind !== "list") {
        await respond({ replace_original: false, ...plainAnswer(OUT_OF_DATE_TEXT) });
        return;
      }
      const answer = await openUndoForFilters(deps, {
        userId: body.user.id,
        triggerId: body.trigger_id,
        reply: originOf(body, action.value),
        filters: parsed.command.filters,
      });
      if (answer) await answerInReply(deps, { body, value: action.value, respond }, answer);
    } catch (error) {
      deps.ctx.log.error({ err: error, userId: body.user.id }, "could not open the undo confirmation");
      await respondAfterFailure(deps, respond);
    }
  };
}
