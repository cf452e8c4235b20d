// Where the bot's Slack lives: a real workspace (a bot token), or the built-in local sandbox,
// a stand-in for Slack's Web API started in this process when no token is configured.
import { randomBytes } from "node:crypto";
import { WebClient } from "@slack/web-api";
import type { Worker } from "bullmq";
import type { Config } from "../config/env.ts";
import type { AppContext } from "../context.ts";
import type { ApproverList } from "../domain/permissions.ts";
import { QUEUE_NAMES, type SlackPostJob, type SlackUpdateJob } from "../jobs/queues.ts";
import { startWorker } from "../jobs/worker.ts";
import { type FakeSlackApi, startFakeSlackApi } from "../sandbox/fakeSlackApi.ts";
import { SANDBOX_USER } from "../sandbox/sandboxUser.ts";
import { createApproverCheck } from "./approvers.ts";
import { validateMessage, validateView } from "./blockLimits.ts";
import { createPostProcessor, createUpdateProcessor } from "./notifier.ts";
import { createRequesterLookup } from "./requesters.ts";

export type SlackConnection = {
  botToken: string;
  signingSecret: string;
  appToken: string | undefined;
  apiUrl: string;
  /** The sandbox's stand-in for Slack, when there is no workspace. */
  sandbox: FakeSlackApi | null;
  /** Who may decide: APPROVERS, or in the sandbox with APPROVERS empty, the sandbox's own user. */
  approvers: ApproverList;
};

export const SANDBOX_BOT_TOKEN = "xoxb-local-sandbox";

export async function connectSlack(config: Config): Promise<SlackConnection> {
  if (!config.slack.sandbox) {
    return {
      botToken: config.slack.botToken!,
      signingSecret: config.slack.signingSecret ?? "",
      appToken: config.slack.appToken,
      apiUrl: config.slack.apiUrl,
      sandbox: null,
      approvers: config.approvers,
    };
  }
  const sandbox = await startFakeSlackApi({ validateMessage, validateView, users: [SANDBOX_USER] });
  const { userIds, groupIds } = config.approvers;
  return {
    botToken: SANDBOX_BOT_TOKEN,
    // Only this process signs the sandbox's requests; a fresh secret each start is enough.
    signingSecret: config.slack.signingSecret ?? randomBytes(32).toString("hex"),
    appToken: undefined,
    apiUrl: sandbox.url,
    sandbox,
    // With APPROVERS empty nobody may decide, and the sandbox's one person could try nothing out: there,
    // that person is the approver. A real workspace never gets this default.
    approvers:
      userIds.length + groupIds.length > 0 ? config.approvers : { userIds: [SANDBOX_USER.id], groupIds: [] },
  };
}

/** A client for the workers: rate limits come back as errors so the queue, not the call, waits. */
export function workerClient(connection: SlackConnection): WebClient {
  return new WebClient(connection.botToken, {
    slackApiUrl: connection.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
}

export function startSlackWorkers(ctx: AppContext, connection: SlackConnection): { close(): Promise<void> } {
  const client = workerClient(connection);
  let postWorker: Worker | null = null;
  let updateWorker: Worker | null = null;
  postWorker = startWorker<SlackPostJob, string>(
    ctx,
    QUEUE_NAMES.slackPost,
    createPostProcessor(ctx, client, () => postWorker!),
    // Slack allows about one message per second per channel; a little under it avoids most 429s.
    { concurrency: 1, limiter: { max: 1, duration: 1100 } },
  );
  updateWorker = startWorker<SlackUpdateJob, string>(
    ctx,
    QUEUE_NAMES.slackUpdate,
    createUpdateProcessor(ctx, client, () => updateWorker!),
    // chat.update is a Tier 3 method (about 50 a minute); bursts are coalesced per message.
    { concurrency: 4, limiter: { max: 50, duration: 60_000 } },
  );
  return {
    async close() {
      await Promise.all([postWorker!.close(), updateWorker!.close()]);
    },
  };
}

export function slackDepsFor(ctx: AppContext, connection: SlackConnection) {
  const client = new WebClient(connection.botToken, { slackApiUrl: connection.apiUrl });
  const { policy } = ctx.config;
  return {
    ctx,
    approvers: createApproverCheck(client, connection.approvers, ctx.log, policy),
    requesters: createRequesterLookup(client, policy, ctx.log),
  };
}
