// `/action-center`: acked at once (Slack allows 3 seconds), then answered through the command's
// response_url with `respond()`. That answer is private to the person, works in any channel or DM
// whether or not the bot is a member (chat.postEphemeral would need it to be), and lets the page
// buttons, and the changes of the actions it shows, replace the answer in place.
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import type { SlackMessage } from "../../blocks/actionMessage.ts";
import { helpMessage, plainAnswer } from "../../blocks/history.ts";
import type { ReplyContent } from "../../blocks/privateReply.ts";
import type { SlackDeps } from "../../deps.ts";
import { exportToUser } from "../../handlers/commands/export.ts";
import { listingPage } from "../../handlers/commands/listing.ts";
import { type Command, parseCommand } from "../../handlers/commands/parse.ts";
import { respondAfterFailure } from "../../handlers/commands/respond.ts";
import { openUndoForActions } from "../../handlers/commands/undo.ts";
import { actionDetail } from "../../handlers/detail.ts";
import { listingSource, sendPrivateReply } from "../../handlers/privateReply.ts";

export function actionCenterCommand(deps: SlackDeps) {
  return async ({ ack, command, respond }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    const userId = command.user_id;
    const now = new Date();
    const parsed = parseCommand(command.text, { userId, now });
    try {
      const answer = parsed.ok
        ? await run(deps, parsed.command, { userId, now, triggerId: command.trigger_id })
        : plainAnswer(parsed.message);
      const post = (message: SlackMessage) => respond({ response_type: "ephemeral", ...message });
      if (answer && "source" in answer) {
        const { source, ...content } = answer;
        await sendPrivateReply(deps, {
          userId,
          responseUrl: command.response_url,
          source,
          note: null,
          content,
          post,
        });
      } else if (answer) await post(answer);
    } catch (error) {
      deps.ctx.log.error(
        { err: error, userId, command: parsed.ok ? parsed.command.kind : "invalid" },
        "/action-center failed",
      );
      await respondAfterFailure(deps, respond);
    }
  };
}

/**
 * The answer to send: a reply that follows its actions (with what it is rebuilt from), a plain
 * one, or null when a modal opened instead.
 */
async function run(
  deps: SlackDeps,
  command: Command,
  context: { userId: string; now: Date; triggerId: string },
): Promise<(ReplyContent & { source: string }) | SlackMessage | null> {
  const { db } = deps.ctx;
  switch (command.kind) {
    case "help":
      return helpMessage();
    case "list":
      if (command.export) {
        return plainAnswer(
          await exportToUser(deps, { ...context, view: command.view, filters: command.filters }),
        );
      }
      return {
        ...(await listingPage(db, command.view, command.filters, {})),
        source: listingSource(command.view, command.filters),
      };
    case "show": {
      const message = await actionDetail(deps, command.actionId);
      if (!message) return plainAnswer(`There is no action #${command.actionId}.`);
      return { message, actionIds: [command.actionId], source: String(command.actionId) };
    }
    case "undo": {
      const answer = await openUndoForActions(deps, { ...context, actionIds: command.actionIds });
      return answer === null ? null : plainAnswer(answer);
    }
  }
}
