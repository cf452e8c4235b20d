import type { WebClient } from "@slack/web-api";
import type { AppContext } from "../context.ts";
import type { ApproverCheck } from "./approvers.ts";
import type { RequesterLookup } from "./requesters.ts";

/** What every Slack listener needs: of the process's context, only what they read. */
export type SlackDeps = {
  ctx: Pick<AppContext, "config" | "db" | "log" | "metrics">;
  client: WebClient;
  approvers: ApproverCheck;
  /** Who requested a manual action, to refuse their own approval. */
  requesters: RequesterLookup;
};

/** What rebuilding a private reply reads (also in the worker, which has no listeners' deps): the store and the links' base. */
export type ReplyDeps = { ctx: Pick<AppContext, "db" | "config"> };
