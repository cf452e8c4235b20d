// Where the bot's Slack lives and who may decide there. A real workspace is configured by its
// tokens; the local sandbox (src/sandbox/) builds a connection of the same shape to its stand-in.
import { WebClient } from "@slack/web-api";
import type { Config } from "../config/env.ts";
import type { AppContext } from "../context.ts";
import type { ApproverList } from "../domain/permissions.ts";
import { createApproverCheck } from "./approvers.ts";
import { createRequesterLookup } from "./requesters.ts";

export type SlackConnection = {
  botToken: string;
  signingSecret: string;
  appToken: string | undefined;
  apiUrl: string;
  /** Who may decide: APPROVERS (in the sandbox with APPROVERS empty, the sandbox's own user). */
  approvers: ApproverList;
};

export function workspaceConnection(config: Config): SlackConnection {
  return {
    botToken: config.slack.botToken!,
    signingSecret: config.slack.signingSecret ?? "",
    appToken: config.slack.appToken,
    apiUrl: config.slack.apiUrl,
    approvers: config.approvers,
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

export function slackDepsFor(ctx: AppContext, connection: SlackConnection) {
  const client = new WebClient(connection.botToken, { slackApiUrl: connection.apiUrl });
  const { policy } = ctx.config;
  return {
    ctx,
    approvers: createApproverCheck(client, connection.approvers, ctx.log, policy),
    requesters: createRequesterLookup(client, policy, ctx.log),
  };
}
