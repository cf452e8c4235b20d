// A local stand-in for the Slack Web API. The bot's WebClient is pointed at it with `slackApiUrl`, so tests
// and the browser sandbox never reach Slack. Request encodings, response shapes, error names and the 429
// behaviour follow Slack's method reference; the channel model behind it is what the sandbox page shows.
//
// Why one long file: it is one closure over one workspace's state (channels, messages, views,
// files, users), as Slack's own is, with one case per Web API method in the order of Slack's method
// reference; split into modules, every method would take the whole state as a parameter.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The workspace the fake pretends to be; test payload builders use the same IDs. */
export const FAKE_WORKSPACE = {
  teamId: "T0SANDBOX",
  teamName: "Action Center Sandbox",
  domain: "action-center-sandbox",
  appId: "A0ACTIONCTR",
  botId: "B0ACTIONBOT",
  botUserId: "U0ACTIONBOT",
  botName: "action-center",
} as const;

export type Json = Record<string, unknown>;

export type MessageMetadata = { event_type: string; event_payload: Json };

export type FakeMessage = {
  type: "message";
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: MessageMetadata;
  /** Set on replies: the parent's ts. */
  thread_ts?: string;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  edited?: { user: string; ts: string };
  reactions?: { name: string; users: string[]; count: number }[];
  files?: Json[];
  /** Thread replies, oldest first (Slack serves them through conversations.replies). */
  replies: FakeMessage[];
};

export type FakeEphemeral = {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
};

/** A modal or Home tab: `view` is the view object as Slack returns it. */
export type FakeView = { id: string; userId: string | undefined; view: Json };

export type FakeFile = {
  id: string;
  name: string;
  title: string;
  /** The length announced to files.getUploadURLExternal. */
  length: number;
  /** What was POSTed to the upload URL; null until then. */
  bytes: Buffer | null;
  completed: boolean;
  channels: string[];
  initialComment: string | undefined;
  threadTs: string | undefined;
};

export type FakeUserInput = {
  id: string;
  name?: string;
  realName?: string;
  email?: string;
  tz?: string;
  isAdmin?: boolean;
  deleted?: boolean;
};

export type FakeCall = {
  method: string;
  /** Arguments from the query, form or JSON body, JSON-valued fields decoded; the token left out. */
  args: Json;
  /** When the call arrived (ms since the epoch, from the `now` option). */
  at: number;
  status: number;
  response: unknown;
};

/**
 * What the workspace holds, as plain JSON: its conversations, private replies, shared files and Home
 * tabs. The sandbox saves it and starts from it again (a restart keeps the channel, as Slack does).
 */
export type FakeWorkspaceState = {
  /** The last ts handed out, in microseconds: ts values keep increasing across a restart. */
  lastMicros: number;
  messages: [string, FakeMessage[]][];
  ephemerals: FakeEphemeral[];
  /** Files with their bytes in base64. */
  files: (Omit<FakeFile, "bytes"> & { bytes: string | null })[];
  homes: FakeView[];
};

/** "5xx": HTTP 500; "429": rate limited with Retry-After: 1; "error:<code>": `{ ok: false, error: code }`. */
export type FaultKind = "5xx" | "429" | `error:${string}`;

export type FakeSlackApiOptions = {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The only token accepted; by default any `xoxb-` token is. */
  token?: string;
  users?: FakeUserInput[];
  /** User group ID → member user IDs, for usergroups.users.list. */
  userGroups?: Record<string, string[]>;
  /** chat.postMessage calls allowed per channel per second before 429s; unlimited by default. */
  postsPerSecondPerChannel?: number;
  /** Calls allowed per method per minute (Slack's tiers), e.g. `{ "chat.update": 50 }`. */
  limitsPerMinute?: Record<string, number>;
  /** A slow Slack: these methods answer this many ms after the call is recorded. */
  latencyMs?: Record<string, number>;
  // Method syntax on purpose: a validator typed with narrower block types still fits (parameter bivariance).
  /** Violations of Slack's message limits; any answer `invalid_blocks`. */
  validateMessage?(message: { text?: string; blocks?: unknown[] }): string[];
  /** Violations of Slack's view limits; any answer `invalid_arguments`, as Slack does for views. */
  validateView?(view: Json): string[];
  onCall?: (call: FakeCall) => void;
  /** Clock for ts values and rate-limit windows (ms). */
  now?: () => number;
  /** Start from a saved workspace (see `snapshot`) instead of an empty one. */
  initialState?: FakeWorkspaceState;
};

export type FakeSlackApi = {
  /** Base URL for WebClient's `slackApiUrl`, ending in `/api/`. */
  url: string;
  /** `http://127.0.0.1:<port>`: the upload URLs live under it. */
  origin: string;
  port: number;
  calls: FakeCall[];
  /** Top-level messages by channel, oldest first; chat.update edits them in place. */
  messages: Map<string, FakeMessage[]>;
  ephemerals: FakeEphemeral[];
  /** Modals and Home tabs by view ID. */
  views: Map<string, FakeView>;
  files: Map<string, FakeFile>;
  userGroups: Map<string, string[]>;
  /** Every 429 answered so far, rate limits and injected faults alike. */
  readonly rateLimitedCount: number;
  callsTo(method: string): FakeCall[];
  /** A top-level message or a thread reply. */
  findMessage(channel: string, ts: string): FakeMessage | undefined;
  setUser(user: FakeUserInput): void;
  /** A trigger_id tied to a user, so a modal opened with it knows whom it is for. */
  issueTrigger(userId: string): string;
  /** The next `count` calls to `method` fail as `kind`, before authentication and rate limits. */
  failNext(method: string, count: number, kind: FaultKind): void;
  /** While down, every request gets HTTP 503. */
  setDown(down: boolean): void;
  /** Listens to every call; returns the unsubscribe function. */
  onCall(listener: (call: FakeCall) => void): () => void;
  /** Listens to every change of what the workspace holds (`snapshot`); returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Tells the change listeners of an edit made on the maps directly (the sandbox page's ephemerals). */
  markChanged(): void;
  /** The workspace as plain JSON, to start from again with `initialState`. */
  snapshot(): FakeWorkspaceState;
  /** Forgets calls, messages, views, files, faults and limits; users and groups go back to the options. */
  reset(): void;
  close(): Promise<void>;
};

const FILE_TYPES: Record<string, { mimetype: string; pretty_type: string }> = {
  csv: { mimetype: "text/csv", pretty_type: "CSV" },
  json: { mimetype: "application/json", pretty_type: "JSON" },
  txt: { mimetype: "text/plain", pretty_type: "Plain Text" },
};

/** Slack's `filetype`, `mimetype` and `pretty_type` of a file, from its name. */
export function fileType(name: string): { filetype: string; mimetype: string; pretty_type: string } {
  const extension = /\.(\w+)$/.exec(name)?.[1]?.toLowerCase() ?? "";
  const known = FILE_TYPES[extension];
  return known
    ? { filetype: extension, ...known }
    : { filetype: "binary", mimetype: "application/octet-stream", pretty_type: "Binary" };
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Json = {},
  ) {
    super(code);
  }
}

type Reply = { status: number; body: Json | string; headers?: Record<string, string> };

const CHANNEL_ID = /^[CDGUW][A-Z0-9]{2,}$/;
const TS = /^\d+\.\d+$/;
const MAX_TEXT = 40_000;
// Methods that only read: the others change what `snapshot` returns when they succeed.
const READ_METHODS = /^(auth\.|conversations\.|users\.|usergroups\.|chat\.getPermalink$)/;
// Form-encoded requests carry these as JSON strings; JSON requests as values.
const JSON_FIELDS = ["blocks", "attachments", "view", "metadata", "files"];

export async function startFakeSlackApi(options: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const now = options.now ?? Date.now;
  const calls: FakeCall[] = [];
  const messages = new Map<string, FakeMessage[]>();
  const ephemerals: FakeEphemeral[] = [];
  const views = new Map<string, FakeView>();
  const files = new Map<string, FakeFile>();
  const users = new Map<string, Json>();
  const userGroups = new Map<string, string[]>();
  const triggers = new Map<string, string>();
  const usedTriggers = new Set<string>();
  const faults = new Map<string, FaultKind[]>();
  const windows = new Map<string, number[]>();
  const listeners = new Set<(call: FakeCall) => void>();
  const changeListeners = new Set<() => void>();
  if (options.onCall) listeners.add(options.onCall);
  let rateLimitedCount = 0;
  let down = false;
  let lastMicros = 0;
  if (options.initialState) restore(options.initialState);

  function restore(state: FakeWorkspaceState) {
    lastMicros = state.lastMicros;
    for (const [channel, list] of state.messages) messages.set(channel, list);
    ephemerals.push(...state.ephemerals);
    for (const file of state.files) {
      files.set(file.id, { ...file, bytes: file.bytes === null ? null : Buffer.from(file.bytes, "base64") });
    }
    for (const home of state.homes) views.set(home.id, home);
  }
  let triggerCount = 0;

  const ws = FAKE_WORKSPACE;
  const author = { user: ws.botUserId, bot_id: ws.botId, app_id: ws.appId, team: ws.teamId };

  function slackUser(input: FakeUserInput): Json {
    const name = input.name ?? input.id.toLowerCase();
    const realName = input.realName ?? name;
    return {
      id: input.id,
      team_id: ws.teamId,
      name,
      deleted: input.deleted ?? false,
      real_name: realName,
      tz: input.tz ?? "Etc/UTC",
      is_admin: input.isAdmin ?? false,
      is_bot: false,
      profile: { real_name: realName, display_name: name, ...(input.email ? { email: input.email } : {}) },
    };
  }

  function loadDirectory() {
    users.clear();
    users.set(ws.botUserId, {
      ...slackUser({ id: ws.botUserId, name: ws.botName }),
      is_bot: true,
      profile: { real_name: ws.botName, display_name: ws.botName, bot_id: ws.botId },
    });
    for (const user of options.users ?? []) users.set(user.id, slackUser(user));
    userGroups.clear();
    for (const [group, members] of Object.entries(options.userGroups ?? {})) {
      userGroups.set(group, [...members]);
    }
  }
  loadDirectory();

  // Slack's ts: seconds and microseconds, unique and increasing within the workspace.
  function nextTs(): string {
    lastMicros = Math.max(Math.floor(now() * 1000), lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, "0")}`;
  }

  function randomId(prefix: string): string {
    return prefix + randomBytes(5).toString("hex").toUpperCase();
  }

  // Exact ordering of ts values, which doubles cannot promise at microsecond precision.
  function tsKey(ts: string, error: string): bigint {
    if (!/^\d+(\.\d+)?$/.test(ts)) throw new ApiError(error);
    const [seconds = "0", fraction = ""] = ts.split(".");
    return BigInt(seconds) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
  }

  // --- argument helpers ----------------------------------------------------------------------------------

  function str(args: Json, name: string): string | undefined {
    const value = args[name];
    if (typeof value === "number") return String(value);
    return typeof value === "string" && value !== "" ? value : undefined;
  }

  function flag(args: Json, name: string): boolean {
    const value = args[name];
    return value === true || value === 1 || value === "true" || value === "1";
  }

  function channelArg(args: Json): string {
    const channel = str(args, "channel");
    if (!channel || !CHANNEL_ID.test(channel)) throw new ApiError("channel_not_found");
    return channel;
  }

  function listOf(channel: string): FakeMessage[] {
    let list = messages.get(channel);
    if (!list) {
      list = [];
      messages.set(channel, list);
    }
    return list;
  }

  function locate(channel: string, ts: string): { message: FakeMessage; parent?: FakeMessage } | undefined {
    for (const message of messages.get(channel) ?? []) {
      if (message.ts === ts) return { message };
      const reply = message.replies.find((r) => r.ts === ts);
      if (reply) return { message: reply, parent: message };
    }
    return undefined;
  }

  function blocksArg(args: Json): unknown[] | undefined {
    if (args.blocks === undefined) return undefined;
    if (!Array.isArray(args.blocks)) throw new ApiError("invalid_blocks_format");
    return args.blocks;
  }

  function attachmentsArg(args: Json): unknown[] | undefined {
    if (args.attachments === undefined) return undefined;
    if (!Array.isArray(args.attachments)) throw new ApiError("invalid_attachments");
    return args.attachments;
  }

  function metadataArg(args: Json): MessageMetadata | undefined {
    const metadata = args.metadata;
    if (metadata === undefined) return undefined;
    if (!isRecord(metadata) || typeof metadata.event_type !== "string" || !isRecord(metadata.event_payload)) {
      throw new ApiError("invalid_metadata_format");
    }
    return { event_type: metadata.event_type, event_payload: metadata.event_payload };
  }

  function threadArg(args: Json): string | undefined {
    const threadTs = str(args, "thread_ts");
    if (threadTs !== undefined && !TS.test(threadTs)) throw new ApiError("invalid_thread_ts");
    return threadTs;
  }

  function checkMessage(text: string | undefined, blocks: unknown[] | undefined, attachments?: unknown[]) {
    if (!text && !blocks?.length && !attachments?.length) throw new ApiError("no_text");
    if (text && text.length > MAX_TEXT) throw new ApiError("msg_too_long");
    const violations = options.validateMessage?.({ text, blocks }) ?? [];
    if (violations.length > 0) {
      throw new ApiError("invalid_blocks", {
        errors: violations,
        response_metadata: { messages: violations.map((v) => `[ERROR] ${v}`) },
      });
    }
  }

  // Slack gives every block without a block_id one of its own; interaction payloads then carry it.
  function withBlockIds(blocks: unknown[]): unknown[] {
    return blocks.map((block) =>
      isRecord(block) && block.block_id === undefined
        ? { ...block, block_id: randomBytes(3).toString("base64url") }
        : block,
    );
  }

  function apiMessage(message: FakeMessage, includeMetadata: boolean): Json {
    const { replies, channel, metadata, ...rest } = message;
    const out: Json = { ...rest };
    if (includeMetadata && metadata) out.metadata = metadata;
    const last = replies.at(-1);
    if (last) {
      Object.assign(out, {
        thread_ts: message.ts,
        reply_count: replies.length,
        reply_users: [ws.botUserId],
        reply_users_count: 1,
        latest_reply: last.ts,
      });
    }
    return out;
  }

  function permalink(channel: string, message: FakeMessage): string {
    const base = `https://${ws.domain}.slack.com/archives/${channel}/p${message.ts.replace(".", "")}`;
    return message.thread_ts ? `${base}?thread_ts=${message.thread_ts}&cid=${channel}` : base;
  }

  // Cursor pagination as Slack does it: an opaque base64 "next_ts:<ts>" cursor.
  function page(list: FakeMessage[], args: Json, includeMetadata: boolean): Json {
    const limit = Math.min(Math.max(Number(str(args, "limit") ?? 100) || 100, 1), 999);
    let start = 0;
    const cursor = str(args, "cursor");
    if (cursor) {
      const nextTs = Buffer.from(cursor, "base64")
        .toString("utf8")
        .replace(/^next_ts:/, "");
      start = list.findIndex((m) => m.ts === nextTs);
      if (start < 0) throw new ApiError("invalid_cursor");
    }
    const slice = list.slice(start, start + limit);
    const next = list[start + limit];
    return {
      messages: slice.map((m) => apiMessage(m, includeMetadata)),
      has_more: next !== undefined,
      ...(next
        ? { response_metadata: { next_cursor: Buffer.from(`next_ts:${next.ts}`).toString("base64") } }
        : {}),
    };
  }

  function takeTrigger(args: Json): string | undefined {
    const trigger = str(args, "trigger_id") ?? str(args, "interactivity_pointer");
    if (!trigger) throw new ApiError("invalid_trigger_id");
    if (usedTriggers.has(trigger)) throw new ApiError("exchanged_trigger_id");
    usedTriggers.add(trigger);
    return triggers.get(trigger);
  }

  function viewArg(args: Json, type: "modal" | "home"): Json {
    const view = args.view;
    if (!isRecord(view) || view.type !== type || !Array.isArray(view.blocks)) {
      throw new ApiError("invalid_arguments", {
        response_metadata: {
          messages: [`[ERROR] a ${type} view with blocks is required [json-pointer:/view]`],
        },
      });
    }
    const violations = options.validateView?.(view) ?? [];
    if (violations.length > 0) {
      throw new ApiError("invalid_arguments", {
        response_metadata: { messages: violations.map((v) => `[ERROR] ${v}`) },
      });
    }
    return view;
  }

  function viewHash(): string {
    return `${Math.floor(now() / 1000)}.${randomBytes(4).toString("hex")}`;
  }

  function storeView(
    input: Json,
    id: string,
    userId: string | undefined,
    stack?: { root: string; previous: string | null },
  ) {
    const view: Json = {
      private_metadata: "",
      callback_id: "",
      external_id: "",
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      ...input,
      blocks: withBlockIds(input.blocks as unknown[]),
      id,
      team_id: ws.teamId,
      state: { values: {} },
      hash: viewHash(),
      root_view_id: stack?.root ?? id,
      previous_view_id: stack?.previous ?? null,
      app_id: ws.appId,
      app_installed_team_id: ws.teamId,
      bot_id: ws.botId,
    };
    views.set(id, { id, userId, view });
    return { view };
  }

  function checkHash(args: Json, current: Json) {
    const hash = str(args, "hash");
    if (hash !== undefined && hash !== current.hash) throw new ApiError("hash_conflict");
  }

  function postFileMessage(channel: string, threadTs: string | undefined, text: string, fileObjects: Json[]) {
    const message: FakeMessage = {
      type: "message",
      channel,
      ts: nextTs(),
      text,
      ...author,
      files: fileObjects,
      replies: [],
    };
    const parent = threadTs ? locate(channel, threadTs) : undefined;
    if (parent) {
      const root = parent.parent ?? parent.message;
      root.replies.push({ ...message, thread_ts: root.ts });
    } else {
      listOf(channel).push(message);
    }
  }

  // --- methods -------------------------------------------------------------------------------------------

  const methods: Record<string, (args: Json) => Json> = {
    "auth.test": () => ({
      url: `https://${ws.domain}.slack.com/`,
      team: ws.teamName,
      user: ws.botName,
      team_id: ws.teamId,
      user_id: ws.botUserId,
      bot_id: ws.botId,
      app_id: ws.appId,
      is_enterprise_install: false,
    }),

    "chat.postMessage": (args) => {
      const channel = channelArg(args);
      const text = str(args, "text");
      const blocks = blocksArg(args);
      const attachments = attachmentsArg(args);
      checkMessage(text, blocks, attachments);
      const metadata = metadataArg(args);
      const threadTs = threadArg(args);
      const message: FakeMessage = {
        type: "message",
        channel,
        ts: nextTs(),
        text: text ?? "",
        ...author,
        ...(blocks ? { blocks: withBlockIds(blocks) } : {}),
        ...(attachments ? { attachments } : {}),
        ...(metadata ? { metadata } : {}),
        replies: [],
      };
      if (threadTs) {
        // A reply to a reply joins the parent's thread; an unknown thread_ts is accepted but the reply shows
        // nowhere, as in Slack.
        const found = locate(channel, threadTs);
        const root = found?.parent ?? found?.message;
        message.thread_ts = root?.ts ?? threadTs;
        root?.replies.push(message);
      } else {
        listOf(channel).push(message);
      }
      return { channel, ts: message.ts, message: apiMessage(message, true) };
    },

    "chat.update": (args) => {
      const channel = channelArg(args);
      const found = locate(channel, str(args, "ts") ?? "");
      if (!found) throw new ApiError("message_not_found");
      if (args.text === undefined && args.blocks === undefined && args.attachments === undefined) {
        throw new ApiError("no_text");
      }
      const { message } = found;
      // Fields left out keep their value; an empty blocks array removes the blocks.
      const text = args.text === undefined ? message.text : (str(args, "text") ?? "");
      const blocks = args.blocks === undefined ? message.blocks : blocksArg(args);
      const attachments = args.attachments === undefined ? message.attachments : attachmentsArg(args);
      checkMessage(text, blocks, attachments);
      const metadata = metadataArg(args);
      message.text = text;
      if (blocks?.length) message.blocks = withBlockIds(blocks);
      else delete message.blocks;
      if (attachments?.length) message.attachments = attachments;
      else delete message.attachments;
      if (metadata) message.metadata = metadata;
      message.edited = { user: ws.botUserId, ts: nextTs() };
      return { channel, ts: message.ts, text: message.text, message: apiMessage(message, true) };
    },

    "chat.postEphemeral": (args) => {
      const channel = channelArg(args);
      const user = str(args, "user");
      if (!user || !CHANNEL_ID.test(user)) throw new ApiError("user_not_found");
      const text = str(args, "text");
      const blocks = blocksArg(args);
      checkMessage(text, blocks, attachmentsArg(args));
      const ephemeral: FakeEphemeral = { channel, user, ts: nextTs(), text: text ?? "" };
      if (blocks) ephemeral.blocks = withBlockIds(blocks);
      const threadTs = threadArg(args);
      if (threadTs) ephemeral.thread_ts = threadTs;
      ephemerals.push(ephemeral);
      return { message_ts: ephemeral.ts };
    },

    "chat.delete": (args) => {
      const channel = channelArg(args);
      const ts = str(args, "ts") ?? "";
      const found = locate(channel, ts);
      if (!found) throw new ApiError("message_not_found");
      const list = found.parent ? found.parent.replies : listOf(channel);
      list.splice(list.indexOf(found.message), 1);
      return { channel, ts };
    },

    "chat.getPermalink": (args) => {
      const channel = channelArg(args);
      const found = locate(channel, str(args, "message_ts") ?? "");
      if (!found) throw new ApiError("message_not_found");
      return { channel, permalink: permalink(channel, found.message) };
    },

    "conversations.history": (args) => {
      const channel = channelArg(args);
      const inclusive = flag(args, "inclusive");
      const oldest = tsKey(str(args, "oldest") ?? "0", "invalid_ts_oldest");
      const latest = str(args, "latest");
      const latestKey = latest === undefined ? undefined : tsKey(latest, "invalid_ts_latest");
      const list = (messages.get(channel) ?? [])
        .filter((m) => {
          const key = tsKey(m.ts, "invalid_ts");
          if (inclusive ? key < oldest : key <= oldest) return false;
          return latestKey === undefined || (inclusive ? key <= latestKey : key < latestKey);
        })
        .reverse();
      return { ...page(list, args, flag(args, "include_all_metadata")), pin_count: 0 };
    },

    "conversations.replies": (args) => {
      const channel = channelArg(args);
      const found = locate(channel, str(args, "ts") ?? "");
      if (!found) throw new ApiError("thread_not_found");
      const root = found.parent ?? found.message;
      return page([root, ...root.replies], args, flag(args, "include_all_metadata"));
    },

    "views.open": (args) => {
      const userId = takeTrigger(args);
      return storeView(viewArg(args, "modal"), randomId("V"), userId);
    },

    "views.push": (args) => {
      const userId = takeTrigger(args);
      const view = viewArg(args, "modal");
      const top = userId
        ? [...views.values()].filter((v) => v.userId === userId && v.view.type === "modal").at(-1)
        : undefined;
      const stack = top ? { root: String(top.view.root_view_id), previous: top.id } : undefined;
      return storeView(view, randomId("V"), userId, stack);
    },

    "views.update": (args) => {
      const viewId = str(args, "view_id");
      const externalId = str(args, "external_id");
      if (!viewId && !externalId) throw new ApiError("invalid_arguments");
      const current = viewId
        ? views.get(viewId)
        : [...views.values()].find((v) => v.view.external_id === externalId);
      if (!current) throw new ApiError("not_found");
      checkHash(args, current.view);
      const view = viewArg(args, current.view.type === "home" ? "home" : "modal");
      const previous = current.view.previous_view_id;
      const stack = {
        root: String(current.view.root_view_id),
        previous: typeof previous === "string" ? previous : null,
      };
      return storeView(view, current.id, current.userId, stack);
    },

    "views.publish": (args) => {
      // Any well-formed user ID has a Home tab: tests need not register every user who opens it.
      const userId = str(args, "user_id");
      if (!userId || !/^[UW][A-Z0-9]{2,}$/.test(userId)) throw new ApiError("user_not_found");
      const view = viewArg(args, "home");
      const current = [...views.values()].find((v) => v.userId === userId && v.view.type === "home");
      if (current) checkHash(args, current.view);
      return storeView(view, current?.id ?? randomId("V"), userId);
    },

    "usergroups.users.list": (args) => {
      const members = userGroups.get(str(args, "usergroup") ?? "");
      if (!members) throw new ApiError("no_such_subteam");
      return { users: [...members] };
    },

    "users.info": (args) => {
      const user = users.get(str(args, "user") ?? "");
      if (!user) throw new ApiError("user_not_found");
      return { user };
    },

    "users.lookupByEmail": (args) => {
      const email = str(args, "email")?.toLowerCase();
      const user = [...users.values()].find(
        (u) => isRecord(u.profile) && String(u.profile.email ?? "").toLowerCase() === email,
      );
      if (!email || !user) throw new ApiError("users_not_found");
      return { user };
    },

    "reactions.add": (args) => {
      const channel = channelArg(args);
      const name = str(args, "name");
      if (!name) throw new ApiError("invalid_name");
      const found = locate(channel, str(args, "timestamp") ?? "");
      if (!found) throw new ApiError("message_not_found");
      const reactions = found.message.reactions ?? [];
      found.message.reactions = reactions;
      const reaction = reactions.find((r) => r.name === name);
      if (reaction?.users.includes(ws.botUserId)) throw new ApiError("already_reacted");
      if (reaction) {
        reaction.users.push(ws.botUserId);
        reaction.count += 1;
      } else {
        reactions.push({ name, users: [ws.botUserId], count: 1 });
      }
      return {};
    },

    "files.getUploadURLExternal": (args) => {
      const name = str(args, "filename");
      const length = Number(str(args, "length"));
      if (!name || !Number.isInteger(length) || length < 0) throw new ApiError("invalid_arguments");
      const id = randomId("F");
      files.set(id, {
        id,
        name,
        title: name,
        length,
        bytes: null,
        completed: false,
        channels: [],
        initialComment: undefined,
        threadTs: undefined,
      });
      return { upload_url: `${origin}/upload/v1/${id}`, file_id: id };
    },

    "files.completeUploadExternal": (args) => {
      const list = args.files;
      if (!Array.isArray(list) || list.length === 0) throw new ApiError("invalid_arguments");
      const entries = list.map((entry) => {
        const file = isRecord(entry) ? files.get(String(entry.id)) : undefined;
        if (!file?.bytes || file.completed) throw new ApiError("file_not_found");
        return { file, title: isRecord(entry) && typeof entry.title === "string" ? entry.title : undefined };
      });
      const channelId = str(args, "channel_id");
      const channels = channelId ? [channelId] : (str(args, "channels")?.split(",") ?? []);
      for (const channel of channels) channelArg({ channel });
      const initialComment = str(args, "initial_comment");
      const threadTs = threadArg(args);
      const fileObjects = entries.map(({ file, title }) => {
        Object.assign(file, {
          title: title ?? file.name,
          completed: true,
          channels,
          initialComment,
          threadTs,
        });
        return {
          id: file.id,
          created: Math.floor(now() / 1000),
          name: file.name,
          title: file.title,
          user: ws.botUserId,
          size: file.bytes?.length ?? 0,
          ...fileType(file.name),
          // As Slack's: the download needs the bot token in an Authorization header.
          url_private: `${origin}/files-pri/${ws.teamId}-${file.id}/${encodeURIComponent(file.name)}`,
          url_private_download: `${origin}/files-pri/${ws.teamId}-${file.id}/download/${encodeURIComponent(file.name)}`,
          permalink: `https://${ws.domain}.slack.com/files/${ws.botUserId}/${file.id}/${file.name}`,
        };
      });
      for (const channel of channels) postFileMessage(channel, threadTs, initialComment ?? "", fileObjects);
      return { files: fileObjects };
    },
  };

  // --- HTTP ----------------------------------------------------------------------------------------------

  function fail(code: string, extra: Json = {}): Reply {
    return { status: 200, body: { ok: false, error: code, ...extra } };
  }

  function rateLimited(retryAfter: number): Reply {
    rateLimitedCount += 1;
    return {
      status: 429,
      headers: { "Retry-After": String(retryAfter) },
      body: { ok: false, error: "ratelimited" },
    };
  }

  // A sliding window of admitted calls; returns the Retry-After seconds when the call is refused.
  function admit(key: string, limit: number, windowMs: number): number | undefined {
    const t = now();
    const admitted = (windows.get(key) ?? []).filter((at) => t - at < windowMs);
    windows.set(key, admitted);
    const first = admitted[0];
    if (admitted.length >= limit && first !== undefined) {
      return Math.max(1, Math.ceil((first + windowMs - t) / 1000));
    }
    admitted.push(t);
    return undefined;
  }

  function limit(method: string, args: Json): Reply | undefined {
    const perSecond = options.postsPerSecondPerChannel;
    if (method === "chat.postMessage" && perSecond !== undefined) {
      const retryAfter = admit(`post:${String(args.channel)}`, perSecond, 1000);
      if (retryAfter !== undefined) return rateLimited(retryAfter);
    }
    const perMinute = options.limitsPerMinute?.[method];
    if (perMinute !== undefined) {
      const retryAfter = admit(`method:${method}`, perMinute, 60_000);
      if (retryAfter !== undefined) return rateLimited(retryAfter);
    }
    return undefined;
  }

  function takeFault(method: string): Reply | undefined {
    const kind = faults.get(method)?.shift();
    if (kind === undefined) return undefined;
    if (kind === "5xx") return { status: 500, body: "Internal Server Error" };
    if (kind === "429") return rateLimited(1);
    return fail(kind.slice("error:".length));
  }

  function tokenAccepted(token: string): boolean {
    return options.token === undefined ? token.startsWith("xoxb-") : token === options.token;
  }

  function answer(method: string, args: Json, token: string | undefined): Reply {
    const fault = takeFault(method);
    if (fault) return fault;
    const handler = methods[method];
    if (!handler) return fail("unknown_method", { req_method: method });
    if (!token) return fail("not_authed");
    if (!tokenAccepted(token)) return fail("invalid_auth");
    const limited = limit(method, args);
    if (limited) return limited;
    try {
      return { status: 200, body: { ok: true, ...handler(args) } };
    } catch (error) {
      if (error instanceof ApiError) return fail(error.code, error.extra);
      throw error;
    }
  }

  function parseArgs(req: IncomingMessage, url: URL, body: Buffer): { args: Json; token?: string } | string {
    const fields: Json = Object.fromEntries(url.searchParams);
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    let jsonBody: Json = {};
    if (type === "application/json" && body.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return "invalid_json";
      }
      if (!isRecord(parsed)) return "invalid_json";
      jsonBody = parsed;
    } else if (body.length > 0) {
      Object.assign(fields, Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
    }
    // The token comes in the Authorization header, or as a query or form field; never inside a JSON body.
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = bearer ?? (typeof fields.token === "string" ? fields.token : undefined);
    const args: Json = { ...fields, ...jsonBody };
    delete args.token;
    for (const name of JSON_FIELDS) {
      const value = args[name];
      if (typeof value !== "string") continue;
      try {
        args[name] = JSON.parse(value);
      } catch {
        // Left as the string: the method answers with its own format error.
      }
    }
    return { args, token };
  }

  function record(call: FakeCall) {
    calls.push(call);
    for (const listener of listeners) listener(call);
    const ok = (call.response as { ok?: unknown }).ok === true;
    if (ok && !READ_METHODS.test(call.method)) notifyChange();
  }

  function notifyChange() {
    for (const listener of changeListeners) listener();
  }

  function handleApi(method: string, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse) {
    const at = now();
    const parsed = parseArgs(req, url, body);
    const reply = typeof parsed === "string" ? fail(parsed) : answer(method, parsed.args, parsed.token);
    record({
      method,
      args: typeof parsed === "string" ? {} : parsed.args,
      at,
      status: reply.status,
      response: reply.body,
    });
    const latency = options.latencyMs?.[method];
    if (latency) setTimeout(() => send(res, reply), latency);
    else send(res, reply);
  }

  async function handleUpload(id: string, req: IncomingMessage, body: Buffer, res: ServerResponse) {
    const file = files.get(id);
    if (!file || file.completed) return send(res, { status: 404, body: "Not Found" });
    // Slack takes the bytes raw or as multipart/form-data (the Node SDK sends the latter).
    const type = req.headers["content-type"] ?? "";
    file.bytes = type.toLowerCase().startsWith("multipart/form-data")
      ? await firstFormFile(type, body)
      : body;
    send(res, { status: 200, body: `OK - ${file.bytes.length}` });
  }

  // url_private(_download): the bytes of a shared file, to a request carrying an accepted token.
  function handleDownload(id: string, req: IncomingMessage, res: ServerResponse) {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const file = files.get(id);
    if (!token || !tokenAccepted(token)) return send(res, { status: 403, body: "Forbidden" });
    if (!file?.completed || !file.bytes) return send(res, { status: 404, body: "Not Found" });
    res.writeHead(200, {
      "Content-Type": fileType(file.name).mimetype,
      "Content-Length": file.bytes.length,
      "Content-Disposition": `attachment; filename="${file.name.replace(/["\\\r\n]/g, "_")}"`,
    });
    res.end(file.bytes);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", origin);
    const body = await readBody(req);
    if (down) return send(res, { status: 503, body: "Service Unavailable" });
    const api = /^\/api\/([\w.]+)$/.exec(url.pathname)?.[1];
    if (api) return handleApi(api, req, url, body, res);
    const upload = /^\/upload\/v1\/(\w+)$/.exec(url.pathname)?.[1];
    if (upload && req.method === "POST") return handleUpload(upload, req, body, res);
    const download = /^\/files-pri\/[A-Z0-9]+-(F\w+)\/(?:download\/)?[^/]+$/.exec(url.pathname)?.[1];
    if (download && req.method === "GET") return handleDownload(download, req, res);
    send(res, { status: 404, body: "Not Found" });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake: fail loudly rather than look like Slack.
      if (!res.headersSent) send(res, { status: 500, body: `fake Slack API error: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/api/`,
    origin,
    port,
    calls,
    messages,
    ephemerals,
    views,
    files,
    userGroups,
    get rateLimitedCount() {
      return rateLimitedCount;
    },
    callsTo: (method) => calls.filter((call) => call.method === method),
    findMessage: (channel, ts) => locate(channel, ts)?.message,
    setUser: (user) => void users.set(user.id, slackUser(user)),
    issueTrigger(userId) {
      triggerCount += 1;
      const trigger = `${Math.floor(now() / 1000)}.${triggerCount}.${randomBytes(16).toString("hex")}`;
      triggers.set(trigger, userId);
      return trigger;
    },
    failNext(method, count, kind) {
      const queue = faults.get(method) ?? [];
      for (let i = 0; i < count; i += 1) queue.push(kind);
      faults.set(method, queue);
    },
    setDown(value) {
      down = value;
    },
    onCall(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => void changeListeners.delete(listener);
    },
    markChanged: notifyChange,
    snapshot: () => ({
      lastMicros,
      messages: [...messages],
      ephemerals: [...ephemerals],
      files: [...files.values()].map((file) => ({ ...file, bytes: file.bytes?.toString("base64") ?? null })),
      // Modals end with the process that answers their submissions; Home tabs stay, as Slack's do.
      homes: [...views.values()].filter((v) => v.view.type === "home"),
    }),
    reset() {
      calls.length = 0;
      ephemerals.length = 0;
      for (const map of [messages, views, files, triggers, faults, windows]) map.clear();
      usedTriggers.clear();
      rateLimitedCount = 0;
      down = false;
      loadDirectory();
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function firstFormFile(contentType: string, body: Buffer): Promise<Buffer> {
  const form = await new Request("http://upload.local/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(body),
  }).formData();
  for (const value of form.values()) {
    if (typeof value !== "string") return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}

function send(res: ServerResponse, reply: Reply) {
  const json = typeof reply.body !== "string";
  res.writeHead(reply.status, {
    "content-type": json ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
    ...reply.headers,
  });
  res.end(json ? JSON.stringify(reply.body) : reply.body);
}
