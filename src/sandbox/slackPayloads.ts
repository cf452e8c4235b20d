// Drives the bot the way Slack does: payloads shaped as Slack documents them, encoded as Slack sends them,
// signed with the signing secret (v0 HMAC-SHA256 of "v0:<timestamp>:<body>"). The sandbox page sends the
// browser's clicks through these; the tests send theirs through the same ones.
import { createHmac, randomBytes } from "node:crypto";
import { FAKE_WORKSPACE } from "./fakeSlackApi.ts";

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
function newTriggerId(): string {
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

type Clicker = { userId: string; userName?: string; teamId?: string; triggerId?: string };

/** The fields every interaction payload has. */
function interaction(type: string, clicker: Clicker) {
  const teamId = clicker.teamId ?? FAKE_WORKSPACE.teamId;
  return {
    type,
    team: { id: teamId, domain: FAKE_WORKSPACE.domain },
    user: slackUser(clicker.userId, clicker.userName, teamId),
    api_app_id: FAKE_WORKSPACE.appId,
    token: VERIFICATION_TOKEN,
    trigger_id: clicker.triggerId ?? newTriggerId(),
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** What was clicked: a button (its value) or an overflow menu (the value of the option chosen). */
type ClickedOptions = { actionId: string; value?: string; selectedOption?: string };

/** The option of an overflow menu whose value is `value`, as the menu's element has it. */
export function optionOf(element: Record<string, unknown>, value: string) {
  const options = Array.isArray(element.options) ? element.options.filter(isRecord) : [];
  return options.find((option) => option.value === value);
}

/**
 * The `actions` entry of a click: block_id and text come from the blocks the element is in. A button
 * sends its text and value; an overflow menu the option chosen (`selectedOption`, its value), as
 * `selected_option` with the option's own text.
 */
function clickedElement(blocks: unknown[], click: ClickedOptions & { blockId?: string }) {
  const found = findElement(blocks, click.actionId);
  const common = { action_id: click.actionId, block_id: click.blockId ?? found?.blockId ?? "actions" };
  if (found?.element.type === "overflow") {
    const option = optionOf(found.element, click.selectedOption ?? "");
    if (!option) throw new Error(`the overflow menu ${click.actionId} has no option ${click.selectedOption}`);
    return {
      type: "overflow",
      ...common,
      selected_option: { text: option.text, value: option.value },
      action_ts: actionTs(),
    };
  }
  const text = isRecord(found?.element.text) ? found.element.text : { type: "plain_text", text: "Button" };
  return {
    ...common,
    text,
    // Slack leaves `value` out for a button that has none (a link button).
    ...(click.value !== undefined && { value: click.value }),
    type: "button",
    action_ts: actionTs(),
  };
}

export type BlockActionsOptions = Clicker &
  ClickedOptions & {
    channelId: string;
    messageTs: string;
    /** The clicked message as posted; its blocks supply the action's block_id and button text. */
    message?: { text?: string; blocks?: unknown[] };
    blockId?: string;
    responseUrl?: string;
    /** A click in an ephemeral message: Slack sends no copy of the message then. */
    isEphemeral?: boolean;
  };

/** A click on a message's button or overflow menu (a `block_actions` interaction payload). */
export function blockActionsPayload(options: BlockActionsOptions) {
  const base = interaction("block_actions", options);
  const blocks = options.message?.blocks ?? [];
  return {
    ...base,
    container: {
      type: "message",
      message_ts: options.messageTs,
      channel_id: options.channelId,
      is_ephemeral: options.isEphemeral ?? false,
    },
    channel: { id: options.channelId, name: "action-center" },
    ...(!options.isEphemeral && {
      message: {
        type: "message",
        user: FAKE_WORKSPACE.botUserId,
        bot_id: FAKE_WORKSPACE.botId,
        app_id: FAKE_WORKSPACE.appId,
        team: base.team.id,
        ts: options.messageTs,
        text: options.message?.text ?? "",
        blocks,
      },
    }),
    state: { values: {} },
    response_url: options.responseUrl ?? NOWHERE,
    actions: [clickedElement(blocks, options)],
  };
}

/** Slack's `view.state.values`: block_id → action_id → the element's state. */
export type ViewStateValues = Record<string, Record<string, { type: string; [field: string]: unknown }>>;

/** What the sandbox page submits for a modal: block_id → action_id → text, chosen values, or the one chosen. */
export type SubmittedValues = Record<string, Record<string, string | string[] | null>>;

type Json = Record<string, unknown>;

/** The state Slack submits for a view's inputs, built from the view itself: the page sends only values. */
export function viewStateValues(view: Json, submitted: SubmittedValues): ViewStateValues {
  const values: ViewStateValues = {};
  for (const block of Array.isArray(view.blocks) ? (view.blocks as Json[]) : []) {
    const element = block.element as Json | undefined;
    if (block.type !== "input" || !isRecord(element)) continue;
    const blockId = String(block.block_id);
    const actionId = String(element.action_id);
    const state = elementState(element, submitted[blockId]?.[actionId]);
    if (state) values[blockId] = { [actionId]: state };
  }
  return values;
}

/** Options of a static select or checkbox group, flat or in `option_groups`. */
function optionsOf(element: Json): Json[] {
  const groups = Array.isArray(element.option_groups) ? (element.option_groups as Json[]) : [];
  const options = [element.options, ...groups.map((group) => group.options)].flatMap((list) =>
    Array.isArray(list) ? (list as Json[]) : [],
  );
  return options;
}

/**
 * One element's entry in Slack's `view.state.values`: `value` for a text input, `selected_option` for
 * radio buttons and a static select, `selected_options` for checkboxes and a multi-select, each option
 * the view's own option object. Values the view does not offer are dropped, as Slack's client never sends them.
 */
function elementState(
  element: Json,
  sent: string | string[] | null | undefined,
): ViewStateValues[string][string] | undefined {
  const type = String(element.type);
  const chosen = new Set(sent === null || sent === undefined ? [] : typeof sent === "string" ? [sent] : sent);
  const picked = optionsOf(element).filter((option) => chosen.has(String(option.value)));
  switch (type) {
    case "plain_text_input": {
      const text = typeof sent === "string" ? sent : "";
      return { type, value: text === "" ? null : text };
    }
    case "checkboxes":
    case "multi_static_select":
      return { type, selected_options: picked };
    case "radio_buttons":
    case "static_select":
      return { type, selected_option: picked[0] ?? null };
    default:
      return undefined;
  }
}

export type ViewBlockActionsOptions = Clicker &
  ClickedOptions & {
    /** The open view as Slack keeps it (views.open's answer). */
    view: Record<string, unknown>;
    values?: ViewStateValues;
  };

/** A click inside a modal or Home: the container is the view, and the view comes along with its state. */
export function viewBlockActionsPayload(options: ViewBlockActionsOptions) {
  const blocks = Array.isArray(options.view.blocks) ? options.view.blocks : [];
  return {
    ...interaction("block_actions", options),
    container: { type: "view", view_id: options.view.id },
    view: { ...options.view, state: { values: options.values ?? {} } },
    actions: [clickedElement(blocks, options)],
  };
}

export type ViewSubmissionOptions = Clicker & {
  callbackId: string;
  privateMetadata: string;
  values: ViewStateValues;
  viewId?: string;
  /** The submitted view as Slack keeps it; by default a bare modal. */
  view?: Record<string, unknown>;
};

/** A modal's submission (a `view_submission` interaction payload). */
export function viewSubmissionPayload(options: ViewSubmissionOptions) {
  const base = interaction("view_submission", options);
  const viewId = options.viewId ?? `V${randomBytes(5).toString("hex").toUpperCase()}`;
  return {
    ...base,
    view: {
      team_id: base.team.id,
      type: "modal",
      blocks: [],
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
      app_installed_team_id: base.team.id,
      bot_id: FAKE_WORKSPACE.botId,
      ...options.view,
      id: viewId,
      private_metadata: options.privateMetadata,
      callback_id: options.callbackId,
      state: { values: options.values },
    },
    response_urls: [],
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
  /** Gives up waiting for the bot's answer, as Slack does after 3 seconds. */
  signal?: AbortSignal;
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
    ...(request.signal && { signal: request.signal }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The block and element carrying `actionId`, so a click payload names the block Slack would. */
export function findElement(blocks: unknown[], actionId: string) {
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
