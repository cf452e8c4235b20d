// Brings a private reply up to date when one of its actions changed: rebuilt from the store and
// sent through the response_url last recorded for it, while Slack still takes that URL (30
// minutes, five uses). The last use sends it without controls, since it cannot change again.
import { DelayedError } from "bullmq";
import type { AppContext } from "../../context.ts";
import {
  claimRefresh,
  markReplyRefreshed,
  markReplyUnreachable,
  RESPONSE_URL_USES,
  replyBehind,
} from "../../db/queries/privateReplies.ts";
import { refreshedContent, replaceThroughUrl } from "../../slack/handlers/privateReply.ts";
import type { PrivateReplyJob } from "../queues.ts";
import type { JobProcessor } from "../worker.ts";

/** A reply that changed again while its refresh was on its way runs again this much later. */
const RUN_AGAIN_AFTER_MS = 1000;

export function createPrivateReplyProcessor(ctx: AppContext): JobProcessor<PrivateReplyJob> {
  return async function refresh(job, { token }) {
    const { replyId } = job.data;
    const reply = await claimRefresh(ctx.db, replyId);
    if (!reply) return "coalesced";
    const content = await refreshedContent({ ctx }, reply, reply.uses >= RESPONSE_URL_USES);
    if (!content) {
      // What it showed is gone (a listing whose filters no longer parse): nothing to follow.
      await markReplyUnreachable(ctx.db, replyId);
      return "gone";
    }
    const res = await replaceThroughUrl(reply.responseUrl, content.message);
    if (res.status >= 400 && res.status < 500 && res.status !== 429) {
      // Slack no longer takes the URL (expired, used up, or the reply was dismissed).
      ctx.log.info({ replyId, status: res.status }, "a private reply can no longer be refreshed");
      await markReplyUnreachable(ctx.db, replyId);
      return "unreachable";
    }
    if (!res.ok) throw new Error(`the response_url answered HTTP ${res.status}`);
    await markReplyRefreshed(ctx.db, replyId, { version: reply.version, actionIds: content.actionIds });
    if (await replyBehind(ctx.db, replyId)) {
      await job.moveToDelayed(Date.now() + RUN_AGAIN_AFTER_MS, token);
      throw new DelayedError();
    }
    return "refreshed";
  };
}
