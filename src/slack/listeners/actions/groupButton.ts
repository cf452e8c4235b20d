// The buttons of an investigation too large for per-action rows: Approve all and Review.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import { and, eq } from "drizzle-orm";
import { actions, slackMessages } from "../../../db/schema.ts";
import { parseGroupActionId } from "../../blocks/investigationMessage.ts";
import { decideInSlack, STORE_DOWN_TEXT } from "../../decideInSlack.ts";
import type { SlackDeps } from "../../deps.ts";
import { replyPrivately } from "../../reply.ts";

export function groupButton(deps: SlackDeps) {
  return async ({
    ack,
    body,
    action,
  }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await ack();
    const parsed = parseGroupActionId(action.action_id);
    if (!parsed) return;
    const { db } = deps.ctx;
    try {
      const [message] = await db.select().from(slackMessages).where(eq(slackMessages.id, parsed.messageKey));
      if (!message) return await replyPrivately(deps, body, "That message is not ours any more.");
      const pending = await db
        .select({ id: actions.id })
        .from(actions)
        .where(and(eq(actions.slackMessageId, message.id), eq(actions.status, "pending")));
      if (parsed.verb === "review") {
        const filter = message.investigationId ? ` investigation:${message.investigationId}` : "";
        return await replyPrivately(
          deps,
          body,
          `${pending.length} still waiting. Review them one by one with \`/action-center pending${filter}\`.`,
        );
      }
      if (pending.length === 0)
        return await replyPrivately(deps, body, "Nothing is waiting for approval here.");
      let approved = 0;
      for (const { id } of pending) {
        const answer = await decideInSlack(deps, { userId: body.user.id, actionId: id, decision: "approve" });
        // A refusal for lack of permission is the same for every row: say it once.
        if (!answer.ok && answer.text.startsWith(":no_entry:"))
          return await replyPrivately(deps, body, answer.text);
        if (answer.ok) approved += 1;
      }
      const skipped = pending.length - approved;
      await replyPrivately(
        deps,
        body,
        `Approved ${approved} action${approved === 1 ? "" : "s"}${skipped ? `; ${skipped} had been decided meanwhile` : ""}.`,
      );
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey: parsed.messageKey }, "approve all failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
