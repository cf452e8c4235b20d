// Drives the bot the way Slack does: payloads shaped as Slack documents them, encoded as Slack sends them,
// signed with the signing secret (v0 HMAC-SHA256 of "v0:<timestamp>:<body>").
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { FAKE_WORKSPACE } from "../../src/slack/sandbox/fakeSlackApi.ts";

export type SlackSignatureHeaders = { "X-Slack-Signature": string; "X-Slack-Request-Timestamp": string };

/** `timestamp` in seconds; now by default. */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const signature = createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex");
  return { "X-Slack-Signature": `v0=${signature}`, "X-Slack-Request-Timestamp": String(timestamp) };
}

// The deprecated verification token Slack still puts in payloads; Bolt ignores it when a signing secret is set.
const VERIFICATION_TOKEN = "fake-verification-token";
// No one listens on port 1: a bot that answers through a default response_url fails fast, never reaching Slack.
const NOWHERE = "http://127.0.0.1:1/response_url";

let sequence = 0;

/** A trigger_id in Slack's "<digits>.<digits>.<hex>" form, unique per call. */
export function newTriggerId(): string {
  sequence += 1;
  return `${Date.now()}.${sequence}.${randomBytes(16).toString("hex")}`;
}

function actionTs(): string {
  return (Date.now() / 1000).toFixed(6);
}

function slackUser(userId: string, userName: string | undefined, teamId: string) {
  const name = userName ?? userId.toLowerCase();
  return { id: userId, username: name, name, team_id: teamId };
}

export type BlockActionsOptions = {
  userId: string;
  userName?: string;
  teamId?: string;
  actionId: string;
  value: string;
  channelId: string;
  messageTs: string;
  /** The clicked message as posted; its blocks supply the action's block_id and button text. */
  message?: { text?: string; blocks?: unknown[] };
  blockId?: string;
  triggerId?: string;
  responseUrl?: string;
  isEphemeral?: boolean;
};

/** A button click on a message (a `block_actions` interaction payload). */
export function blockActionsPayload(options: BlockActionsOptions) {
  const teamId = options.teamId ?? FAKE_WORKSPACE.teamId;
  const found = findElement(options.message?.blocks ?? [], options.actionId);
  const buttonText = isRecord(found?.element.text)
    ? found.element.text
    : { type: "plain_text", text: "Button" };
  return {
    type: "block_actions",
    user: slackUser(options.userId, options.userName, teamId),
    api_app_id: FAKE_WORKSPACE.appId,
    token: VERIFICATION_TOKEN,
    container: {
      type: "message",
      message_ts: options.messageTs,
      channel_id: options.channelId,
      is_ephemeral: options.isEphemeral ?? false,
    },
    trigger_id: options.triggerId ?? newTriggerId(),
    team: { id: teamId, domain: FAKE_WORKSPACE.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: options.channelId, name: "action-center" },
    message: {
      type: "message",
      user: FAKE_WORKSPACE.botUserId,
      bot_id: FAKE_WORKSPACE.botId,
      app_id: FAKE_WORKSPACE.appId,
      team: teamId,
      ts: options.messageTs,
      text: options.message?.text ?? "",
      blocks: options.message?.blocks ?? [],
    },
    state: { values: {} },
    response_url: options.responseUrl ?? NOWHERE,
    actions: [
      {
        action_id: options.actionId,
        block_id: options.blockId ?? found?.blockId ?? "actions",
        text: buttonText,
        value: options.value,
        type: "button",
        action_ts: actionTs(),
      },
    ],
  };
}

/** Slack's `view.state.values`: block_id → action_id → the element's state. */
export type ViewStateValues = Record<string, Record<string, { type: string; [field: string]: unknown }>>;

export type ViewSubmissionOptions = {
  userId: string;
  userName?: string;
  teamId?: string;
  callbackId: string;
  privateMetadata: string;
  values: ViewStateValues;
  viewId?: string;
  triggerId?: string;
};

/** A modal's submission (a `view_submission` interaction payload). */
export function viewSubmissionPayload(options: ViewSubmissionOptions) {
  const teamId = options.teamId ?? FAKE_WORKSPACE.teamId;
  const viewId = options.viewId ?? `V${randomBytes(5).toString("hex").toUpperCase()}`;
  return {
    type: "view_submission",
    team: { id: teamId, domain: FAKE_WORKSPACE.domain },
    user: slackUser(options.userId, options.userName, teamId),
    api_app_id: FAKE_WORKSPACE.appId,
    token: VERIFICATION_TOKEN,
    trigger_id: options.triggerId ?? newTriggerId(),
    view: {
      id: viewId,
      team_id: teamId,
      type: "modal",
      blocks: [],
      private_metadata: options.privateMetadata,
      callback_id: options.callbackId,
      state: { values: options.values },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`,
      title: { type: "plain_text", text: "Action Center", emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: "plain_text", text: "Submit", emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: FAKE_WORKSPACE.appId,
      external_id: "",
      app_installed_team_id: teamId,
      bot_id: FAKE_WORKSPACE.botId,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export type SlashCommandOptions = {
  userId: string;
  userName?: string;
  teamId?: string;
  command?: string;
  text: string;
  channelId: string;
  channelName?: string;
  triggerId?: string;
  responseUrl?: string;
};

/** The form fields of a slash command invocation, as Slack posts them. */
export function slashCommandBody(options: SlashCommandOptions): Record<string, string> {
  const teamId = options.teamId ?? FAKE_WORKSPACE.teamId;
  return {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    team_domain: FAKE_WORKSPACE.domain,
    channel_id: options.channelId,
    channel_name: options.channelName ?? "action-center",
    user_id: options.userId,
    user_name: options.userName ?? options.userId.toLowerCase(),
    command: options.command ?? "/action-center",
    text: options.text,
    api_app_id: FAKE_WORKSPACE.appId,
    is_enterprise_install: "false",
    response_url: options.responseUrl ?? NOWHERE,
    trigger_id: options.triggerId ?? newTriggerId(),
  };
}

/** An Events API `event_callback` envelope carrying `app_home_opened` for the Home tab. */
export function appHomeOpenedEvent(userId: string, teamId: string = FAKE_WORKSPACE.teamId) {
  const now = Date.now();
  return {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: FAKE_WORKSPACE.appId,
    event: {
      type: "app_home_opened",
      user: userId,
      channel: `D${userId.slice(1)}`,
      tab: "home",
      event_ts: (now / 1000).toFixed(6),
    },
    type: "event_callback",
    event_id: `Ev${randomBytes(5).toString("hex").toUpperCase()}`,
    event_time: Math.floor(now / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: FAKE_WORKSPACE.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

export type SlackRequest = {
  /** interactive: form field `payload=<json>`; command: form fields; event: a JSON body. */
  kind: "interactive" | "command" | "event";
  /** The payload, fields or envelope; a string is sent as it is. */
  body: object | string;
  /** Signature timestamp in seconds (e.g. a stale one); now by default. */
  timestamp?: number;
  /** Extra or overriding headers, e.g. a forged X-Slack-Signature. */
  headers?: Record<string, string>;
};

function encodeSlackBody(kind: SlackRequest["kind"], body: object | string): string {
  if (typeof body === "string") return body;
  if (kind === "interactive") return new URLSearchParams({ payload: JSON.stringify(body) }).toString();
  if (kind === "command") return new URLSearchParams(body as Record<string, string>).toString();
  return JSON.stringify(body);
}

/** POSTs a signed request to `<baseUrl>/slack/events`, where the contract puts the bot. */
export function postToSlackEndpoint(
  baseUrl: string,
  signingSecret: string,
  request: SlackRequest,
): Promise<Response> {
  const body = encodeSlackBody(request.kind, request.body);
  const contentType = request.kind === "event" ? "application/json" : "application/x-www-form-urlencoded";
  return fetch(`${baseUrl.replace(/\/+$/, "")}/slack/events`, {
    method: "POST",
    headers: {
      "Content-Type": contentType,
      ...signSlackRequest(signingSecret, body, request.timestamp),
      ...request.headers,
    },
    body,
  });
}

export type CaughtResponse = { path: string; headers: IncomingHttpHeaders; body: unknown; at: number };

export type ResponseUrlCatcher = {
  /** A fresh response_url on the catcher. */
  newUrl(): string;
  /** Every POST received, oldest first; JSON bodies parsed. */
  requests: CaughtResponse[];
  close(): Promise<void>;
};

/** A local stand-in for Slack's response_url endpoints. */
export async function startResponseUrlCatcher(): Promise<ResponseUrlCatcher> {
  const requests: CaughtResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: kept as text.
      }
      requests.push({ path: req.url ?? "/", headers: req.headers, body, at: Date.now() });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let count = 0;
  return {
    newUrl() {
      count += 1;
      return `${origin}/actions/${FAKE_WORKSPACE.teamId}/${count}/${randomBytes(8).toString("hex")}`;
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// The actions block and element carrying `actionId`, so a click payload names the block Slack would.
function findElement(blocks: unknown[], actionId: string) {
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    const elements = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory];
    for (const element of elements) {
      if (isRecord(element) && element.action_id === actionId) {
        return { blockId: typeof block.block_id === "string" ? block.block_id : undefined, element };
      }
    }
  }
  return undefined;
}
