// Posts each message row (one per investigation's batch of new actions, assigned at ingest) once,
// never lost and never duplicated: a retry looks for its own message in the channel first.
import type { WebClient } from "@slack/web-api";
import { UnrecoverableError, type Worker } from "bullmq";
import type { AppContext } from "../../context.ts";
import { getMessage, storePostedTs } from "../../db/queries/messages.ts";
import { MESSAGE_EVENT_TYPE, renderStoredMessage } from "../../slack/messages.ts";
import { type SlackPostJob, slackUpdateJobEntry } from "../queues.ts";
import { slackCall } from "../slackCall.ts";
import type { JobProcessor } from "../worker.ts";

export function createSlackPostProcessor(ctx: AppContext, client: WebClient): JobProcessor<SlackPostJob> {
  return async function post(job, { worker }) {
    const { messageId } = job.data;
    const message = await getMessage(ctx.db, messageId);
    if (!message) throw new UnrecoverableError(`message ${messageId} vanished`);
    if (message.ts !== null) return "already_posted";
    // An earlier attempt may have posted and died before storing the ts: look before posting again.
    if (job.attemptsMade > 0) {
      const found = await findPostedMessage(ctx, client, worker, message.channel, messageId);
      if (found) {
        await storePostedTs(ctx.db, messageId, found, -1);
        await renderLaterChanges(ctx, messageId, -1);
        return "recovered";
      }
    }
    const version = message.version;
    const { rendered } = await renderStoredMessage(ctx.db, message, ctx.config);
    const answer = await slackCall(ctx, worker, "chat.postMessage", () =>
      client.chat.postMessage({
        channel: message.channel,
        text: rendered.text,
        blocks: rendered.blocks,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: MESSAGE_EVENT_TYPE, event_payload: { messageId } },
      }),
    );
    await storePostedTs(ctx.db, messageId, answer.ts!, version);
    await renderLaterChanges(ctx, messageId, version);
    return "posted";
  };
}

/**
 * Changes to a message not yet posted queue no render (the post shows the state of its moment),
 * so those committed while the post was on its way are rendered now.
 */
async function renderLaterChanges(ctx: AppContext, messageId: number, posted: number): Promise<void> {
  const now = await getMessage(ctx.db, messageId);
  if (!now || now.version <= posted) return;
  const job = slackUpdateJobEntry(messageId, now.version);
  await ctx.queues.slackUpdate.add(job.name, job.data, job.opts);
}

async function findPostedMessage(
  ctx: AppContext,
  client: WebClient,
  worker: Worker,
  channel: string,
  messageId: number,
): Promise<string | null> {
  const history = await slackCall(ctx, worker, "conversations.history", () =>
    client.conversations.history({ channel, limit: 200, include_all_metadata: true }),
  );
  const mine = history.messages?.find(
    (m) =>
      m.metadata?.event_type === MESSAGE_EVENT_TYPE &&
      Number((m.metadata.event_payload as { messageId?: unknown } | undefined)?.messageId) === messageId,
  );
  return mine?.ts ?? null;
}
