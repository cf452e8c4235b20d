// The local Slack sandbox page (GET /sandbox): the channel the fake Slack keeps, shown as Slack would, and
// a person's clicks, modal submissions and slash commands sent to the bot the way Slack sends them:
// Slack's documented payloads for the sandbox user, signed with the signing secret and POSTed to our own
// /slack/events, so Bolt checks the signature as it would for Slack. Replies through response_url come back
// to an endpoint here. The page follows changes through server-sent events fed by the fake's onCall.
//
// Why one long file: the page's routes share one person's session (the open modal stack, view
// errors, response_url targets, the event streams); the HTML, the renderer and the payload builders
// are modules of their own.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { KnownBlock, View } from "@slack/types";
import { WebClient } from "@slack/web-api";
import express, { type Express, type Request, type Response, Router } from "express";
import { z } from "zod";
import { SANDBOX_INGEST_TOKEN } from "../config/env.ts";
import { type Html, html, sendPage } from "../http/pages/html.ts";
import type { SlackConnection } from "../slack/connection.ts";
import type { Logger } from "../telemetry/log.ts";
import {
  FAKE_WORKSPACE,
  type FakeCall,
  type FakeSlackApi,
  type FakeView,
  fileType,
  type Json,
} from "./fakeSlackApi.ts";
import type { Names } from "./mrkdwn.ts";
import {
  type RenderOptions,
  renderEphemeral,
  renderHome,
  renderMessage,
  renderModal,
} from "./renderBlocks.ts";
import { SANDBOX_USER } from "./sandboxUser.ts";
import {
  appHomeOpenedEvent,
  blockActionsPayload,
  findElement,
  optionOf,
  postToSlackEndpoint,
  type SlackRequest,
  slashCommandBody,
  viewBlockActionsPayload,
  viewStateValues,
  viewSubmissionPayload,
} from "./slackPayloads.ts";

export const SANDBOX_PATH = "/sandbox";
const COMMAND = "/action-center";
const CHANNEL_NAME = "action-center";
// Slack gives up on an app after 3 seconds; the sandbox waits longer so that a busy laptop still shows
// the bot's answer rather than a timeout the bot would not get in production.
const BOT_TIMEOUT_MS = 10_000;
// Slack's response_url rules: valid for 30 minutes, at most 5 uses.
const RESPONSE_URL_MS = 30 * 60_000;
const RESPONSE_URL_USES = 5;
// Calls that change what the page shows; reads (users.info, conversations.*) do not.
const CHANGING_METHODS = /^(chat\.|views\.|reactions\.|files\.completeUploadExternal$)/;

const ASSETS = {
  "sandbox.js": { type: "text/javascript; charset=utf-8", body: asset("sandbox.js") },
  "sandbox.css": { type: "text/css; charset=utf-8", body: asset("sandbox.css") },
};

function asset(name: string): string {
  return readFileSync(new URL(`./client/${name}`, import.meta.url), "utf8");
}

const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Where an answer goes: the message or ephemeral clicked, or the conversation of a command. */
type Destination = { channel: string; messageTs?: string; ephemeralTs?: string; threadTs?: string };
type ResponseTarget = Destination & { uses: number; expiresAt: number };

/** One browser's view of the sandbox: its open modals, bottom to top, and their field errors. */
type Session = { id: string; modalStack: string[]; viewErrors: Map<string, Record<string, string>> };
// Browsers remembered at once; the oldest is forgotten past this.
const MAX_SESSIONS = 100;

type BotAnswer = { ok: true; body: string } | { ok: false; error: string };

export type SandboxPage = {
  /** Ends the page's event streams, which would otherwise keep the HTTP server from closing. */
  close(): void;
};

const clickSchema = z.object({
  container: z.enum(["message", "ephemeral", "view"]),
  channel: z.string().max(40).optional(),
  ts: z.string().max(40).optional(),
  viewId: z.string().max(40).optional(),
  actionId: z.string().min(1).max(255),
  /** The value of the option chosen in an overflow menu. */
  selectedOption: z.string().max(255).optional(),
});
const submitSchema = z.object({
  values: z.record(
    z.string(),
    z.record(z.string(), z.union([z.string().max(10_000), z.array(z.string().max(2000)).max(100), z.null()])),
  ),
});
const commandSchema = z.object({ text: z.string().max(4000), conversation: z.enum(["channel", "dm"]) });
const dismissSchema = z.object({ channel: z.string().max(40), ts: z.string().max(40) });
const responseSchema = z.looseObject({
  text: z.string().optional(),
  blocks: z.array(z.unknown()).optional(),
  response_type: z.string().optional(),
  replace_original: z.union([z.boolean(), z.string()]).optional(),
  delete_original: z.union([z.boolean(), z.string()]).optional(),
  thread_ts: z.string().optional(),
});

/** Whether a click names an option of the element when it is an overflow menu (a button has none). */
function offers(element: Json, selectedOption: string | undefined): boolean {
  if (element.type !== "overflow") return true;
  return selectedOption !== undefined && optionOf(element, selectedOption) !== undefined;
}

/** What the payload says was clicked: the button's value, or the overflow menu's option chosen. */
function clicked(element: Json, click: z.infer<typeof clickSchema>) {
  return {
    actionId: click.actionId,
    ...(typeof element.value === "string" && { value: element.value }),
    ...(click.selectedOption !== undefined && { selectedOption: click.selectedOption }),
  };
}

export function mountSandboxPage(
  http: Express,
  options: { slack: SlackConnection; fake: FakeSlackApi; channel: string; ingestToken: string; log: Logger },
): SandboxPage {
  const { slack, fake, channel, log } = options;
  const user = SANDBOX_USER;
  const botName = FAKE_WORKSPACE.botName;
  const names: Names = (id) =>
    id === user.id ? user.name : id === FAKE_WORKSPACE.botUserId ? botName : undefined;
  const render: RenderOptions = {
    names,
    botName,
    fileHref: (fileId) => `${SANDBOX_PATH}/files/${encodeURIComponent(fileId)}`,
  };
  // The sandbox's own calls (answers through response_url) go to the fake as Slack's would.
  const api = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const conversations = { channel, dm: user.id };

  // Modals belong to the browser that opened them, as in Slack, where a modal shows only in the
  // client it was opened from: each browser has a session (a cookie), and a modal goes to the
  // session whose click issued its trigger_id. An abandoned one never shows in another browser.
  const sessions = new Map<string, Session>();
  const triggerSessions = new Map<string, Session>();

  function sessionOf(req: Request, res?: Response): Session {
    const id = /(?:^|;\s*)sandbox_session=([a-f0-9]{32})(?:;|$)/.exec(req.headers.cookie ?? "")?.[1];
    const known = id ? sessions.get(id) : undefined;
    if (known) return known;
    const session: Session = {
      id: id ?? randomBytes(16).toString("hex"),
      modalStack: [],
      viewErrors: new Map(),
    };
    sessions.set(session.id, session);
    // The oldest sessions are forgotten past a bound: browsers come and go.
    for (const old of sessions.keys()) {
      if (sessions.size <= MAX_SESSIONS) break;
      sessions.delete(old);
    }
    res?.cookie("sandbox_session", session.id, { httpOnly: true, sameSite: "strict", path: SANDBOX_PATH });
    return session;
  }

  /** A trigger_id for a gesture of `session`, so that the modal it opens shows there. */
  function triggerFor(session: Session): string {
    const trigger = fake.issueTrigger(user.id);
    triggerSessions.set(trigger, session);
    for (const old of triggerSessions.keys()) {
      if (triggerSessions.size <= MAX_SESSIONS * 10) break;
      triggerSessions.delete(old);
    }
    return trigger;
  }
  const responseTargets = new Map<string, ResponseTarget>();
  const streams = new Set<Response>();
  let version = 0;
  let flushing = false;

  function changed() {
    version += 1;
    if (flushing) return;
    flushing = true;
    // One event for a burst of calls (a post and its thread lines).
    setImmediate(() => {
      flushing = false;
      for (const stream of streams) stream.write(`data: ${version}\n\n`);
    });
  }

  const unsubscribe = fake.onCall((call: FakeCall) => {
    if (!CHANGING_METHODS.test(call.method)) return;
    const response = call.response as { ok?: boolean; view?: { id?: string } };
    const opened = response.ok && (call.method === "views.open" || call.method === "views.push");
    const viewId = response.view?.id;
    if (opened && viewId && fake.views.get(viewId)?.userId === user.id) {
      // A trigger no browser's gesture issued (a script's, a test's) opens it in every browser.
      const trigger = String(call.args.trigger_id ?? call.args.interactivity_pointer ?? "");
      const session = triggerSessions.get(trigger);
      for (const target of session ? [session] : sessions.values()) target.modalStack.push(viewId);
    }
    changed();
  });

  function topView(session: Session): FakeView | undefined {
    const id = session.modalStack.at(-1);
    return id ? fake.views.get(id) : undefined;
  }

  function homeView(): FakeView | undefined {
    return [...fake.views.values()].find((v) => v.userId === user.id && v.view.type === "home");
  }

  function closeView(session: Session, id: string) {
    const index = session.modalStack.indexOf(id);
    if (index >= 0) session.modalStack.splice(index);
    session.viewErrors.delete(id);
    changed();
  }

  function state(session: Session) {
    const timeline = (id: string) => {
      const messages = (fake.messages.get(id) ?? []).map((m) => ({
        ts: m.ts,
        key: `m:${m.ts}`,
        html: renderMessage(m, render).value,
      }));
      const ephemerals = fake.ephemerals
        .filter((e) => e.channel === id && e.user === user.id)
        .map((e) => ({ ts: e.ts, key: `e:${e.ts}`, html: renderEphemeral(e, render).value }));
      // Every ts has ten digits of seconds, so the strings sort as the times do.
      return [...messages, ...ephemerals]
        .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))
        .map(({ key, html }) => ({ key, html }));
    };
    const view = topView(session);
    const home = homeView();
    return {
      timelines: { channel: timeline(conversations.channel), dm: timeline(conversations.dm) },
      // The App Home the bot last published for the sandbox user (views.publish), if any.
      home: home ? { id: home.id, html: renderHome(home, names).value } : null,
      modal: view
        ? { id: view.id, html: renderModal(view, names, session.viewErrors.get(view.id) ?? {}).value }
        : null,
    };
  }

  function responseUrl(req: Request, target: Destination): string {
    const now = Date.now();
    for (const [key, old] of responseTargets) if (old.expiresAt < now) responseTargets.delete(key);
    const key = randomBytes(16).toString("hex");
    // The target itself, so that the reply a command's URL posts is the one it replaces later.
    responseTargets.set(key, Object.assign(target, { uses: 0, expiresAt: now + RESPONSE_URL_MS }));
    return `${selfUrl(req)}${SANDBOX_PATH}/response/${key}`;
  }

  /** Sends a signed request to our own /slack/events, as Slack would, and reads the bot's answer. */
  async function sendToBot(req: Request, request: SlackRequest): Promise<BotAnswer> {
    try {
      const res = await postToSlackEndpoint(selfUrl(req), slack.signingSecret, {
        ...request,
        signal: AbortSignal.timeout(BOT_TIMEOUT_MS),
      });
      const body = await res.text();
      if (res.status === 200) return { ok: true, body };
      log.warn({ status: res.status, kind: request.kind }, "sandbox: the bot refused a request");
      return {
        ok: false,
        error: `The app answered HTTP ${res.status}; Slack would show the person an error.`,
      };
    } catch (error) {
      log.warn({ err: error, kind: request.kind }, "sandbox: the bot did not answer");
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      return {
        ok: false,
        error: timedOut
          ? `The app did not answer within ${BOT_TIMEOUT_MS / 1000} seconds.`
          : `The app could not be reached: ${errorText(error)}`,
      };
    }
  }

  /** A message sent to a response_url (or a command's immediate answer), applied as Slack applies it. */
  async function deliver(target: Destination, message: z.infer<typeof responseSchema>) {
    const yes = (value: boolean | string | undefined) => value === true || value === "true";
    const content = {
      text: message.text ?? "",
      // The fake checks them against Slack's rules, as Slack would.
      ...(message.blocks && { blocks: message.blocks as KnownBlock[] }),
    };
    const ephemeral = target.ephemeralTs
      ? fake.ephemerals.find((e) => e.ts === target.ephemeralTs && e.user === user.id)
      : undefined;
    // A reply the person dismissed is gone for good; its URL changes nothing any more.
    const original = yes(message.replace_original) || yes(message.delete_original);
    if (original && target.ephemeralTs && !ephemeral) throw new Error("message_not_found");
    if (yes(message.delete_original) && (ephemeral || target.messageTs)) {
      if (ephemeral) fake.ephemerals.splice(fake.ephemerals.indexOf(ephemeral), 1);
      else await api.chat.delete({ channel: target.channel, ts: target.messageTs! });
    } else if (yes(message.replace_original) && (ephemeral || target.messageTs)) {
      // Slack has no API to edit an ephemeral message; only its response_url can, so the fake is edited here.
      if (ephemeral) Object.assign(ephemeral, { text: content.text, blocks: content.blocks });
      else await api.chat.update({ channel: target.channel, ts: target.messageTs!, ...content });
    } else if (message.response_type === "in_channel") {
      const threadTs = message.thread_ts ?? target.threadTs;
      await api.chat.postMessage({
        channel: target.channel,
        ...content,
        ...(threadTs && { thread_ts: threadTs }),
      });
    } else {
      const posted = await api.chat.postEphemeral({ channel: target.channel, user: user.id, ...content });
      // As in Slack, a command's response_url reaches the reply it posted: replace_original through
      // it later (the bot refreshing the reply) replaces that reply.
      if (!target.messageTs && !target.ephemeralTs && posted.message_ts)
        target.ephemeralTs = posted.message_ts;
    }
    // The ephemerals are edited here, not through the Web API: the saved workspace is told.
    if (ephemeral) fake.markChanged();
    changed();
  }

  const router = Router();
  const json = express.json({ limit: "100kb" });
  // The page's own calls must be JSON: a form on another site cannot send that without a CORS preflight,
  // which is never granted, so no other page can click as the sandbox user.
  const pageCall = [
    (req: Request, res: Response, next: () => void) => {
      if (!req.is("application/json")) {
        res.status(415).json({ error: "The sandbox page sends JSON." });
        return;
      }
      next();
    },
    json,
  ];
  const invalid = (res: Response, error: z.ZodError) =>
    res.status(400).json({ error: `Bad request: ${error.issues[0]?.message ?? "invalid body"}` });

  router.get("/", (req, res) => {
    sessionOf(req, res);
    sendPage(res, 200, shell(channel, slack, options.ingestToken), POLICY);
  });

  router.get("/assets/:name", (req, res) => {
    const found = ASSETS[req.params.name as keyof typeof ASSETS];
    if (!found) {
      res.status(404).type("text/plain").send("Not found");
      return;
    }
    res.status(200).set({ "Content-Type": found.type, "Cache-Control": "no-cache" }).send(found.body);
  });

  // A file shared in the sandbox user's conversations (the export's CSV), downloaded as Slack's client does.
  router.get("/files/:id", (req, res) => {
    const file = fake.files.get(req.params.id);
    const mine = new Set(Object.values(conversations));
    if (!file?.completed || !file.bytes || !file.channels.some((c) => mine.has(c))) {
      res.status(404).type("text/plain").send("No such file here.");
      return;
    }
    res
      .status(200)
      .set({
        "Content-Type": fileType(file.name).mimetype,
        "Content-Disposition": `attachment; filename="${file.name.replace(/["\\\r\n]/g, "_")}"`,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      })
      .send(file.bytes);
  });

  router.get("/api/state", (req, res) => {
    res.set("Cache-Control", "no-store").json(state(sessionOf(req, res)));
  });

  router.get("/api/stream", (req, res) => {
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
    });
    res.write(`retry: 1000\ndata: ${version}\n\n`);
    streams.add(res);
    req.on("close", () => streams.delete(res));
  });

  router.post("/api/click", pageCall, async (req: Request, res: Response) => {
    const parsed = clickSchema.safeParse(req.body);
    if (!parsed.success) return invalid(res, parsed.error);
    const click = parsed.data;
    const session = sessionOf(req, res);
    const clicker = { userId: user.id, userName: user.name, triggerId: triggerFor(session) };
    let payload: object;
    if (click.container === "view") {
      const home = homeView();
      const view = home?.id === click.viewId ? home : topView(session);
      if (!view || view.id !== click.viewId) return res.status(409).json({ error: "That modal is closed." });
      const blocks = Array.isArray(view.view.blocks) ? view.view.blocks : [];
      const found = findElement(blocks, click.actionId);
      if (!found) return res.status(404).json({ error: "That button is not in the modal." });
      if (!offers(found.element, click.selectedOption))
        return res.status(404).json({ error: "That option is not in the menu." });
      payload = viewBlockActionsPayload({ ...clicker, ...clicked(found.element, click), view: view.view });
    } else {
      const where = { channel: click.channel ?? "", ts: click.ts ?? "" };
      const message =
        click.container === "ephemeral"
          ? fake.ephemerals.find(
              (e) => e.channel === where.channel && e.ts === where.ts && e.user === user.id,
            )
          : fake.findMessage(where.channel, where.ts);
      if (!message) return res.status(404).json({ error: "That message is gone." });
      const found = findElement(message.blocks ?? [], click.actionId);
      if (!found) return res.status(404).json({ error: "That button is no longer in the message." });
      if (!offers(found.element, click.selectedOption))
        return res.status(404).json({ error: "That option is no longer in the menu." });
      const ephemeral = click.container === "ephemeral";
      payload = blockActionsPayload({
        ...clicker,
        ...clicked(found.element, click),
        channelId: where.channel,
        messageTs: where.ts,
        message,
        isEphemeral: ephemeral,
        responseUrl: responseUrl(req, {
          channel: where.channel,
          ...(ephemeral ? { ephemeralTs: where.ts } : { messageTs: where.ts }),
          ...(message.thread_ts && { threadTs: message.thread_ts }),
        }),
      });
    }
    const answer = await sendToBot(req, { kind: "interactive", body: payload });
    if (!answer.ok) return res.status(502).json({ error: answer.error });
    res.json({ ok: true });
  });

  router.post("/api/views/:id/submit", pageCall, async (req: Request<{ id: string }>, res: Response) => {
    const parsed = submitSchema.safeParse(req.body);
    if (!parsed.success) return invalid(res, parsed.error);
    const session = sessionOf(req, res);
    const view = topView(session);
    if (!view || view.id !== req.params.id) return res.status(409).json({ error: "That modal is closed." });
    const payload = viewSubmissionPayload({
      userId: user.id,
      userName: user.name,
      triggerId: triggerFor(session),
      callbackId: String(view.view.callback_id ?? ""),
      privateMetadata: String(view.view.private_metadata ?? ""),
      viewId: view.id,
      view: view.view,
      values: viewStateValues(view.view, parsed.data.values),
    });
    const answer = await sendToBot(req, { kind: "interactive", body: payload });
    if (!answer.ok) return res.status(502).json({ error: answer.error });
    session.viewErrors.delete(view.id);
    const reply = parseObject(answer.body);
    try {
      switch (reply?.response_action) {
        case "errors":
          session.viewErrors.set(view.id, stringRecord(reply.errors));
          changed();
          break;
        case "update":
          await api.views.update({ view_id: view.id, view: reply.view as View });
          break;
        case "push":
          await api.views.push({ trigger_id: triggerFor(session), view: reply.view as View });
          break;
        case "clear":
          session.modalStack.length = 0;
          changed();
          break;
        default:
          closeView(session, view.id);
      }
    } catch (error) {
      log.warn({ err: error }, "sandbox: the bot's response_action was refused");
      return res.status(502).json({ error: `The app's answer was refused: ${errorText(error)}` });
    }
    res.json({ ok: true });
  });

  router.post("/api/views/:id/close", pageCall, (req: Request<{ id: string }>, res: Response) => {
    closeView(sessionOf(req, res), req.params.id);
    res.json({ ok: true });
  });

  router.post("/api/command", pageCall, async (req: Request, res: Response) => {
    const parsed = commandSchema.safeParse(req.body);
    if (!parsed.success) return invalid(res, parsed.error);
    const match = /^(\/\S+)(?:\s+([\s\S]*))?$/.exec(parsed.data.text.trim());
    if (!match) return res.status(400).json({ error: `Only slash commands here: try ${COMMAND} help` });
    if (match[1] !== COMMAND) {
      return res
        .status(400)
        .json({ error: `${match[1]} is not a valid command here; this app has ${COMMAND}.` });
    }
    const conversation = conversations[parsed.data.conversation];
    const target = { channel: conversation };
    const fields = slashCommandBody({
      userId: user.id,
      userName: user.name,
      text: (match[2] ?? "").trim(),
      channelId: conversation,
      channelName: parsed.data.conversation === "channel" ? CHANNEL_NAME : "directmessage",
      triggerId: triggerFor(sessionOf(req, res)),
      responseUrl: responseUrl(req, target),
    });
    const answer = await sendToBot(req, { kind: "command", body: fields });
    if (!answer.ok) return res.status(502).json({ error: answer.error });
    // A command's immediate answer is a message, plain text or JSON, shown to the person alone by default.
    if (answer.body.trim() !== "") {
      const reply = responseSchema.safeParse(parseObject(answer.body) ?? { text: answer.body });
      if (!reply.success)
        return res.status(502).json({ error: "The app answered with something Slack would not show." });
      try {
        await deliver(target, reply.data);
      } catch (error) {
        return res.status(502).json({ error: `The app's answer was refused: ${errorText(error)}` });
      }
    }
    res.json({ ok: true });
  });

  // Opening the app's Home tab: Slack sends app_home_opened, and the bot publishes the view.
  router.post("/api/home/open", pageCall, async (req: Request, res: Response) => {
    const answer = await sendToBot(req, { kind: "event", body: appHomeOpenedEvent(user.id) });
    if (!answer.ok) return res.status(502).json({ error: answer.error });
    res.json({ ok: true });
  });

  router.post("/api/ephemerals/dismiss", pageCall, (req: Request, res: Response) => {
    const parsed = dismissSchema.safeParse(req.body);
    if (!parsed.success) return invalid(res, parsed.error);
    const index = fake.ephemerals.findIndex(
      (e) => e.channel === parsed.data.channel && e.ts === parsed.data.ts && e.user === user.id,
    );
    if (index >= 0) fake.ephemerals.splice(index, 1);
    fake.markChanged();
    changed();
    res.json({ ok: true });
  });

  // The bot answers here through response_url (Bolt's respond()); not the page.
  router.post("/response/:key", json, async (req: Request<{ key: string }>, res: Response) => {
    const target = responseTargets.get(req.params.key);
    if (!target || target.expiresAt < Date.now())
      return res.status(404).json({ ok: false, error: "expired_url" });
    if (target.uses >= RESPONSE_URL_USES) return res.status(404).json({ ok: false, error: "used_url" });
    target.uses += 1;
    const parsed = responseSchema.safeParse(req.body);
    if (!parsed.success) return res.status(400).json({ ok: false, error: "invalid_payload" });
    try {
      await deliver(target, parsed.data);
      res.json({ ok: true });
    } catch (error) {
      log.warn({ err: error }, "sandbox: a response_url message was refused");
      res.status(400).json({ ok: false, error: errorText(error) });
    }
  });

  http.use(SANDBOX_PATH, router);

  return {
    close() {
      unsubscribe();
      for (const stream of streams) stream.end();
      streams.clear();
    },
  };
}

/** This server as the request reached it: the sandbox posts to its own /slack/events. */
function selfUrl(req: Request): string {
  return `http://127.0.0.1:${req.socket.localPort}`;
}

function parseObject(text: string): Json | undefined {
  if (text.trim() === "") return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).map(([key, text]) => [key, String(text)]));
}

/** The Slack error code of a refused Web API call, or the error's message. */
function errorText(error: unknown): string {
  const data = (error as { data?: { error?: unknown } })?.data;
  if (typeof data?.error === "string") return data.error;
  return error instanceof Error ? error.message : String(error);
}

function shell(channel: string, slack: SlackConnection, ingestToken: string): Html {
  const approver = slack.approvers.userIds.includes(SANDBOX_USER.id);
  // The fixed sandbox token is public; a token someone configured is a secret and never shown.
  const token =
    ingestToken === SANDBOX_INGEST_TOKEN
      ? html`token <code>${SANDBOX_INGEST_TOKEN}</code>`
      : html`your INGEST_TOKEN`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title># ${CHANNEL_NAME} · Action Center Sandbox</title>
<link rel="stylesheet" href="${SANDBOX_PATH}/assets/sandbox.css">
<script type="module" src="${SANDBOX_PATH}/assets/sandbox.js"></script>
</head>
<body>
<div class="app">
  <aside class="sidebar" aria-label="Conversations">
    <div class="workspace">${FAKE_WORKSPACE.teamName}</div>
    <nav class="conversations">
      <div class="nav-title">Channels</div>
      <button type="button" class="nav-item active" data-conversation="channel" aria-current="true"># ${CHANNEL_NAME}</button>
      <div class="nav-title">Apps</div>
      <button type="button" class="nav-item" data-conversation="dm">${FAKE_WORKSPACE.botName}</button>
      <button type="button" class="nav-item nav-sub" data-conversation="home">Home</button>
    </nav>
    <div class="you">Signed in as <strong>@${SANDBOX_USER.name}</strong> · ${approver ? "an approver" : "not an approver"}</div>
  </aside>
  <section class="main">
    <header class="conversation-head">
      <div class="conversation-title">
        <h1 id="conversation-title"># ${CHANNEL_NAME}</h1>
        <span class="topic">Pending remediation actions from Microsoft Defender XDR · local sandbox (${channel})</span>
      </div>
      <nav class="tabs" aria-label="Conversations">
        <button type="button" class="tab active" data-conversation="channel"># ${CHANNEL_NAME}</button>
        <button type="button" class="tab" data-conversation="dm">${FAKE_WORKSPACE.botName}</button>
        <button type="button" class="tab" data-conversation="home">Home</button>
      </nav>
    </header>
    <div class="timeline" id="timeline-channel" data-timeline="channel" aria-live="polite"></div>
    <div class="timeline" id="timeline-dm" data-timeline="dm" aria-live="polite" hidden></div>
    <div class="timeline home" id="timeline-home" data-timeline="home" aria-live="polite" hidden></div>
    <div class="empty" id="empty" hidden>
      <p><strong>Nothing here yet.</strong></p>
      <p>Send a pending action to the ingest API (${token}), or run <code>npm run demo</code>.</p>
    </div>
    <div class="notice" id="notice" role="alert" hidden></div>
    <form class="composer" id="composer">
      <input id="composer-input" name="text" autocomplete="off" placeholder="${COMMAND} help" aria-label="Slash command">
      <button type="submit" class="send" aria-label="Send">Send</button>
    </form>
  </section>
</div>
<div class="overlay" id="modal-layer" hidden></div>
<div class="overlay" id="confirm-layer" hidden></div>
</body>
</html>`;
}
