import type { WebClient } from "@slack/web-api";
import type { AppContext } from "../context.ts";
import type { ApproverCheck } from "./approvers.ts";
import type { RequesterLookup } from "./requesters.ts";

/** What every Slack listener and worker needs. */
export type SlackDeps = {
  ctx: AppContext;
  client: WebClient;
  approvers: ApproverCheck;
  /** Who requested a manual action, to refuse their own approval. */
  requesters: RequesterLookup;
};
