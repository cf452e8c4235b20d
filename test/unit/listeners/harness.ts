// What a listener gets, without Bolt: the store on a real database of its own, the approver and
// requester checks as the program builds them, a fake Slack Web API client (vi.fn methods), and
// args shaped like Slack's documented payloads with fake `ack` and `respond`.
import type {
  AllMiddlewareArgs,
  App,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { expect, type Mock, vi } from "vitest";
import { loadConfig } from "../../../src/config/env.ts";
import { createDb, type Db } from "../../../src/db/client.ts";
import { parseIngestBody } from "../../../src/domain/actionInput.ts";
import type { ActionType } from "../../../src/domain/actionTypes.ts";
import { ingestActions } from "../../../src/services/ingest.ts";
import { createApproverCheck } from "../../../src/slack/approvers.ts";
import type { SlackDeps } from "../../../src/slack/deps.ts";
import type { ButtonArgs } from "../../../src/slack/listeners/actions/actionButton.ts";
import { createRequesterLookup } from "../../../src/slack/requesters.ts";
import { createLogger } from "../../../src/telemetry/log.ts";
import { createMetrics } from "../../../src/telemetry/metrics.ts";
import { createTestDatabase } from "../../support/db.ts";
import { actionBody } from "../../support/fixtures.ts";

export const APPROVER = "U0APPROVER1";
export const GROUP_APPROVER = "U0GROUPMEMB";
export const BYSTANDER = "U0BYSTANDER";
const APPROVER_GROUP = "S0SOCTEAM01";
export const CHANNEL = "C0SOCALERTS";
const TEAM = "T0SOCTEAM1";
export const TRIGGER_ID = "13345224609.738474920.8088930838d88f008e0";
export const PUBLIC_URL = "https://ac.example.com";

/**
 * The Web API methods the listeners call, each a vi.fn answering as Slack does on success. A test
 * file shares one, so each test starts with `vi.clearAllMocks()`.
 */
export function fakeSlackClient() {
  return {
    chat: {
      postEphemeral: vi.fn(async (_args: unknown) => ({ ok: true, message_ts: "1700000000.000300" })),
      postMessage: vi.fn(async (_args: unknown) => ({ ok: true, ts: "1700000000.000400" })),
    },
    views: {
      open: vi.fn(async (_args: unknown) => ({ ok: true, view: { id: "V0MODAL01" } })),
      publish: vi.fn(async (_args: unknown) => ({ ok: true })),
    },
    filesUploadV2: vi.fn(async (_args: unknown) => ({ ok: true, files: [] })),
    usergroups: { users: { list: vi.fn(async (_args: unknown) => ({ ok: true, users: [GROUP_APPROVER] })) } },
    users: {
      lookupByEmail: vi.fn(async (_args: unknown) => ({ ok: true, user: { id: "U0REQUESTR" } })),
      info: vi.fn(async (args: { user: string }) => ({
        ok: true,
        user: { id: args.user, name: "approver" },
      })),
    },
  };
}

export type FakeSlackClient = ReturnType<typeof fakeSlackClient>;
export type Harness = {
  db: Db;
  deps: SlackDeps;
  client: FakeSlackClient;
  /** Log lines at warn and above, parsed. */
  logs: Record<string, unknown>[];
  /** Stores actions as the ingest API does; returns their ids. */
  ingest(bodies: Record<string, unknown>[]): Promise<number[]>;
  /** Stores one new action of `type`, pending unless `overrides` say otherwise; returns its id. */
  action(type: ActionType, overrides?: Record<string, unknown>): Promise<number>;
  close(): Promise<void>;
};

export async function startHarness(label: string): Promise<Harness> {
  const database = await createTestDatabase(label);
  const config = loadConfig({
    DATABASE_URL: database.url,
    PUBLIC_URL,
    APPROVERS: `${APPROVER},${APPROVER_GROUP}`,
  });
  const { db, client: sql } = createDb(database.url, { max: 4 });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger("warn", { write: (line: string) => logs.push(JSON.parse(line)) });
  const client = fakeSlackClient();
  const webClient = client as unknown as WebClient;
  const deps: SlackDeps = {
    ctx: { config, db, log, metrics: createMetrics() },
    client: webClient,
    approvers: createApproverCheck(webClient, config.approvers, log, config.policy),
    requesters: createRequesterLookup(webClient, config.policy, log),
  };
  async function ingest(bodies: Record<string, unknown>[]) {
    const parsed = parseIngestBody({ actions: bodies });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const results = await ingestActions(db, parsed.actions, { channel: CHANNEL, policy: config.policy });
    return results.map((result) => result.id);
  }
  let made = 0;
  return {
    db,
    deps,
    client,
    logs,
    ingest,
    async action(type, overrides = {}) {
      made += 1;
      const [id] = await ingest([actionBody(type, made, overrides)]);
      return id!;
    },
    async close() {
      await sql.end();
      await database.drop();
    },
  };
}

/** How much a counter of the harness's metrics went up, by its labels. */
export async function decisionCount(harness: Harness, labels: { decision: string; outcome: string }) {
  const { values } = await harness.deps.ctx.metrics.decisions.get();
  return (
    values.find((v) => v.labels.decision === labels.decision && v.labels.outcome === labels.outcome)?.value ??
    0
  );
}

const fakeAck = () => vi.fn(async (_response?: unknown) => {});
const fakeRespond = () => vi.fn(async (_message: unknown) => ({}));

/**
 * A click on a button, as Slack sends `block_actions`: in a channel message, or in an ephemeral
 * answer to the command (`inAnswer`), or in a modal or the App Home (`channel: false`).
 */
export function buttonClick(
  client: FakeSlackClient,
  actionId: string,
  options: { user?: string; value?: string; channel?: boolean } = {},
) {
  const user = options.user ?? APPROVER;
  const inChannel = options.channel ?? true;
  const action = {
    type: "button",
    action_id: actionId,
    block_id: "actions",
    text: { type: "plain_text", text: "Button", emoji: true },
    ...(options.value !== undefined && { value: options.value }),
    action_ts: "1700000000.000200",
  };
  const body = {
    type: "block_actions",
    user: { id: user, username: "kim", name: "kim", team_id: TEAM },
    api_app_id: "A0ACTIONCTR",
    token: "verification-token",
    container: inChannel
      ? { type: "message", message_ts: "1700000000.000100", channel_id: CHANNEL, is_ephemeral: false }
      : { type: "view", view_id: "V0MODAL01" },
    trigger_id: TRIGGER_ID,
    team: { id: TEAM, domain: "soc" },
    enterprise: null,
    is_enterprise_install: false,
    ...(inChannel && { channel: { id: CHANNEL, name: "soc-alerts" } }),
    response_url: "https://hooks.slack.com/actions/T0SOCTEAM1/1/response",
    actions: [action],
  };
  const ack = fakeAck();
  const respond = fakeRespond();
  const args = { ack, respond, body, action, payload: action, client, context: {} };
  return { args: args as unknown as ButtonArgs, ack, respond };
}

/** `/action-center <text>`, as Slack posts a slash command. */
export function slashCommand(client: FakeSlackClient, text: string, user = APPROVER) {
  const command = {
    token: "verification-token",
    team_id: TEAM,
    team_domain: "soc",
    channel_id: CHANNEL,
    channel_name: "soc-alerts",
    user_id: user,
    user_name: "kim",
    command: "/action-center",
    text,
    api_app_id: "A0ACTIONCTR",
    is_enterprise_install: "false",
    response_url: "https://hooks.slack.com/commands/T0SOCTEAM1/1/response",
    trigger_id: TRIGGER_ID,
  };
  const ack = fakeAck();
  const respond = fakeRespond();
  const args = { ack, respond, command, body: command, payload: command, client, context: {} };
  return { args: args as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs, ack, respond };
}

/** A modal submitted, as Slack sends `view_submission`. */
export function viewSubmission(
  client: FakeSlackClient,
  callbackId: string,
  options: { user?: string; privateMetadata: string; values: Record<string, Record<string, unknown>> },
) {
  const view = {
    id: "V0MODAL01",
    team_id: TEAM,
    type: "modal",
    callback_id: callbackId,
    private_metadata: options.privateMetadata,
    state: { values: options.values },
    hash: "1700000000.abcdef",
    title: { type: "plain_text", text: "Modal" },
    blocks: [],
  };
  const body = {
    type: "view_submission",
    team: { id: TEAM, domain: "soc" },
    user: { id: options.user ?? APPROVER, username: "kim", name: "kim", team_id: TEAM },
    api_app_id: "A0ACTIONCTR",
    token: "verification-token",
    trigger_id: TRIGGER_ID,
    view,
  };
  const ack = fakeAck();
  const args = { ack, body, view, payload: view, client, context: {} };
  return { args: args as unknown as SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs, ack };
}

/** The person opened the app's Home tab (or, with `tab: "messages"`, its Messages tab). */
export function homeOpened(client: FakeSlackClient, user: string, tab: "home" | "messages" = "home") {
  const event = { type: "app_home_opened", user, channel: "D0APPDM001", tab, event_ts: "1700000000.000500" };
  const body = {
    token: "verification-token",
    team_id: TEAM,
    api_app_id: "A0ACTIONCTR",
    event,
    type: "event_callback",
    event_id: "Ev0HOMEOPEN",
    event_time: 1_700_000_000,
  };
  const args = { event, payload: event, body, message: undefined, client, context: {} };
  return args as unknown as SlackEventMiddlewareArgs<"app_home_opened"> & AllMiddlewareArgs;
}

/** Acked once, before any call to Slack's Web API. */
export function expectAckedFirst(ack: Mock, client: FakeSlackClient) {
  expect(ack).toHaveBeenCalledTimes(1);
  const calls = [
    client.chat.postEphemeral,
    client.chat.postMessage,
    client.views.open,
    client.views.publish,
    client.filesUploadV2,
  ].flatMap((method) => method.mock.invocationCallOrder);
  for (const order of calls) expect(order).toBeGreaterThan(ack.mock.invocationCallOrder[0]!);
}

/** What a surface's `register` puts on Bolt's `method`: the matchers (or names), in order. */
export function registered(
  register: (app: App, deps: SlackDeps) => void,
  deps: SlackDeps,
  method: "action" | "command" | "event" | "view",
): unknown[] {
  const app = { action: vi.fn(), command: vi.fn(), event: vi.fn(), view: vi.fn() };
  register(app as unknown as App, deps);
  const calls = app[method].mock.calls;
  for (const [, listener] of calls) expect(listener).toBeTypeOf("function");
  return calls.map(([matcher]) => matcher);
}
