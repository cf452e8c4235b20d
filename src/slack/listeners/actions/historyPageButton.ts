// Previous and Next under a listing: the page is queried again for the clicker and replaces the
// answer in place (an ephemeral answer can only be changed through its response_url).
import { decodeListing, plainAnswer } from "../../blocks/history.ts";
import type { SlackDeps } from "../../deps.ts";
import { listingPage } from "../../handlers/commands/listing.ts";
import { parseCommand } from "../../handlers/commands/parse.ts";
import { OUT_OF_DATE_TEXT, respondAfterFailure } from "../../handlers/commands/respond.ts";
import type { ButtonArgs } from "./actionButton.ts";

export function historyPageButton(deps: SlackDeps) {
  return async ({ ack, body, action, respond }: ButtonArgs) => {
    await ack();
    const listing = decodeListing(action.value ?? "");
    const parsed =
      listing &&
      parseCommand(`${listing.view} ${listing.filters}`, { userId: body.user.id, now: new Date() });
    try {
      if (!listing || !parsed?.ok || parsed.command.kind !== "list") {
        await respond({ replace_original: true, ...plainAnswer(OUT_OF_DATE_TEXT) });
        return;
      }
      const position = listing.after !== undefined ? { after: listing.after } : { before: listing.before };
      const page = await listingPage(deps.ctx.db, listing.view, parsed.command.filters, position);
      await respond({ replace_original: true, ...page });
    } catch (error) {
      deps.ctx.log.error({ err: error, userId: body.user.id }, "could not turn the page");
      await respondAfterFailure(deps, respond);
    }
  };
}
