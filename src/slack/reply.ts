// A private answer to the person who clicked: an ephemeral message in the channel they clicked
// in, or a direct message when the click came from a modal or the App Home.
import type { AppContext } from "../context.ts";
import type { SlackDeps } from "./deps.ts";

type Clicker = { user: { id: string }; channel?: { id: string } | null };

export async function replyPrivately(
  deps: Pick<SlackDeps, "client"> & { ctx: Pick<AppContext, "log"> },
  body: Clicker,
  text: string,
): Promise<void> {
  try {
    if (body.channel?.id) {
      await deps.client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text });
    } else {
      await deps.client.chat.postMessage({ channel: body.user.id, text });
    }
  } catch (error) {
    deps.ctx.log.warn({ err: error, userId: body.user.id }, "could not answer privately");
  }
}
