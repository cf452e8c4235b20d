// A person in Slack, as the bot sees one: reads the channel the fake Slack keeps, and clicks
// buttons with requests shaped like Slack's, signed over HTTP or as Socket Mode envelopes.
import type { FakeMessage } from "../../src/sandbox/fakeSlackApi.ts";
import { buttonRoutes } from "../../src/slack/actionIds.ts";
import { TEST_CHANNEL, TEST_SIGNING_SECRET, type TestApp, waitFor } from "./app.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  type ViewStateValues,
  viewSubmissionPayload,
} from "./slackRequests.ts";
import type { Ack, SocketModeServer } from "./socketModeServer.ts";

type Button = { type: "button"; action_id: string; value?: string; url?: string; text: { text: string } };

export function buttonsOf(message: { blocks?: unknown[] }): Button[] {
  const found: Button[] = [];
  for (const block of (message.blocks ?? []) as { type: string; elements?: Button[]; accessory?: Button }[]) {
    if (block.type === "actions") found.push(...(block.elements ?? []).filter((e) => e.type === "button"));
    if (block.accessory?.type === "button") found.push(block.accessory);
  }
  return found;
}

export function channelMessages(app: TestApp): FakeMessage[] {
  return app.slackApi.messages.get(TEST_CHANNEL) ?? [];
}

// Buttons numbered by our message row id, not by an action's: Approve all 1 is no button of action 1.
const BY_MESSAGE_KEY = [buttonRoutes.group, buttonRoutes.rejectAll];

/** The message that carries a button about action `actionId`. */
export function messageFor(app: TestApp, actionId: number): FakeMessage | undefined {
  const about = (b: Button) =>
    b.action_id.endsWith(`:${actionId}`) && !BY_MESSAGE_KEY.some((route) => route.parse(b.action_id));
  return channelMessages(app).find((m) => buttonsOf(m).some(about));
}

export async function waitForMessage(
  app: TestApp,
  actionId: number,
  accept: (m: FakeMessage) => boolean = () => true,
  timeoutMs = 20_000,
) {
  const named = new RegExp(`#${actionId}(?!\\d)`);
  return waitFor(
    async () => {
      const message = messageFor(app, actionId) ?? channelMessages(app).find((m) => named.test(m.text));
      return message && accept(message) ? message : undefined;
    },
    timeoutMs,
    `a message for action ${actionId}`,
  );
}

/** The payload of a click on the button whose action_id is `actionId` in `message`, by `userId`. */
export function clickPayload(
  userId: string,
  message: FakeMessage,
  actionId: string,
  extra: { triggerId?: string } = {},
) {
  const button = buttonsOf(message).find((b) => b.action_id === actionId);
  if (!button)
    throw new Error(`no button ${actionId} in ${JSON.stringify(buttonsOf(message).map((b) => b.action_id))}`);
  return blockActionsPayload({
    userId,
    actionId,
    value: button.value ?? "",
    channelId: TEST_CHANNEL,
    messageTs: message.ts,
    message,
    ...extra,
  });
}

/**
 * The buttons whose click the server checks before confirming in a modal (an approver's) or
 * refusing at once (anyone else's): Slack's own `confirm` would show to everyone.
 */
export const CONFIRMED_BY_MODAL = /^(approve|undo|retry|retry_undo|approve_all):\d+$/;

type OpenedView = {
  id: string;
  callback_id: string;
  private_metadata: string;
  title: { type: "plain_text"; text: string };
};

/** Everything said privately to `userId` so far: ephemerals and direct messages. */
const answersTo = (app: TestApp, userId: string) =>
  ephemeralsFor(app, userId).length +
  app.slackApi.callsTo("chat.postMessage").filter((c) => c.args.channel === userId).length;

/**
 * How a person's clicks and modal submissions reach the app: signed HTTP requests to its endpoint
 * (`httpTransport`), or envelopes over Socket Mode (`socketTransport`). `Answer` is what the person's
 * client gets back: the HTTP response, or the envelope's ack.
 */
export type SlackTransport<Answer> = {
  app: TestApp;
  send(payload: Record<string, unknown>): Promise<Answer>;
  /** Whether the app took the request (an HTTP 200; over the socket, any ack). */
  accepted(answer: Answer): boolean;
  /**
   * Whether the app answered the request as first sent: over the socket, Slack sent it again when
   * the ack was late or missing (a listener that never acks is acked by the redelivery's dedupe),
   * and by then the person saw an error on the button.
   */
  answeredFirstTime(answer: Answer): boolean;
  /** Whether the click with `triggerId` was handled to the end: its listener returned. */
  handled(triggerId: string): Promise<boolean>;
};

/**
 * Signed requests to the app's endpoint. The endpoint answers a request once written to the inbox
 * and marks its row done after the listener returns.
 */
export function httpTransport(app: TestApp): SlackTransport<Response> {
  return {
    app,
    send: (body) => postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body }),
    accepted: (res) => res.status === 200,
    // Slack's retries of a late HTTP answer are not played here: each request is sent once.
    answeredFirstTime: () => true,
    async handled(triggerId) {
      const [row] = await app.ctx.sql<{ done: boolean }[]>`
        select done_at is not null as done from slack_inbox where payload->>'trigger_id' = ${triggerId}`;
      return row?.done ?? false;
    },
  };
}

/**
 * Interactive envelopes sent over the local Socket Mode server, as Slack spreads them over the app's
 * connections. Each delivery is claimed in slack_deliveries by its trigger_id and marked handled
 * after the listener returns.
 */
export function socketTransport(app: TestApp, socket: SocketModeServer): SlackTransport<Ack> {
  return {
    app,
    send: (payload) => socket.send("interactive", payload),
    accepted: (ack) => typeof ack.envelope_id === "string",
    answeredFirstTime: (ack) =>
      socket.deliveries.filter((d) => d.envelopeId === ack.envelope_id).every((d) => d.retryAttempt === 0),
    async handled(triggerId) {
      const [row] = await app.ctx.sql<{ done: boolean }[]>`
        select handled_at is not null as done from slack_deliveries where key = ${`block_actions:${triggerId}`}`;
      return row?.done ?? false;
    },
  };
}

/**
 * The modal the click with `triggerId` opened, once that click is handled; null when it opened
 * none (a refusal). A views.open the listener made is recorded by the time it is handled. While
 * Postgres cannot say (an outage), an answer to the person since `answeredBefore` tells instead:
 * the click was answered without a modal.
 */
export async function viewOpenedBy<Answer>(
  via: TestApp | SlackTransport<Answer>,
  triggerId: string,
  who?: { userId: string; answeredBefore: number },
): Promise<OpenedView | null> {
  const transport = "send" in via ? via : httpTransport(via);
  const { app } = transport;
  const opened = () => {
    const call = app.slackApi.callsTo("views.open").find((c) => c.args.trigger_id === triggerId);
    const view = (call?.response as { ok?: boolean; view?: OpenedView } | undefined)?.view;
    return call ? { view: view ?? null } : undefined;
  };
  const found = await waitFor(
    async () => {
      let done: boolean;
      try {
        done = await transport.handled(triggerId);
      } catch (error) {
        if (!who) throw error;
        done = answersTo(app, who.userId) > who.answeredBefore;
      }
      return done ? (opened() ?? { view: null }) : opened();
    },
    // A click whose end Postgres could not record (an outage) is marked by the inbox's next
    // recovery pass once Postgres is back, or handled again once its claim runs out
    // (src/slack/inbox.ts: 10 s claims, a pass every 5 s); outages in a row add to that.
    45_000,
    `the click with trigger ${triggerId} handled`,
  );
  return found.view;
}

/**
 * Clicks the button whose action_id is `actionId` in `message`, as `userId`, through `transport`.
 * A decision's button opens a confirmation modal for an approver, which this submits, as the
 * person would: the answer is then the submission's (the request that decides), else the click's
 * own. `confirm: false` leaves the modal open.
 */
export async function clickVia<Answer>(
  transport: SlackTransport<Answer>,
  userId: string,
  message: FakeMessage,
  actionId: string,
  extra: { triggerId?: string; confirm?: boolean } = {},
): Promise<Answer> {
  const { confirm = true, ...payloadExtra } = extra;
  const body = clickPayload(userId, message, actionId, payloadExtra);
  const answeredBefore = answersTo(transport.app, userId);
  const answer = await transport.send(body);
  if (!confirm || !transport.accepted(answer) || !CONFIRMED_BY_MODAL.test(actionId)) return answer;
  const view = await viewOpenedBy(transport, body.trigger_id, { userId, answeredBefore });
  return view ? submitViewVia(transport, userId, view.callback_id, view.private_metadata, {}) : answer;
}

/** `clickVia` over HTTP. */
export const click = (
  app: TestApp,
  userId: string,
  message: FakeMessage,
  actionId: string,
  extra: { triggerId?: string; confirm?: boolean } = {},
) => clickVia(httpTransport(app), userId, message, actionId, extra);

export function submitViewVia<Answer>(
  transport: SlackTransport<Answer>,
  userId: string,
  callbackId: string,
  privateMetadata: string,
  values: ViewStateValues,
): Promise<Answer> {
  return transport.send(viewSubmissionPayload({ userId, callbackId, privateMetadata, values }));
}

/** `submitViewVia` over HTTP. */
export const submitView = (
  app: TestApp,
  userId: string,
  callbackId: string,
  privateMetadata: string,
  values: ViewStateValues,
) => submitViewVia(httpTransport(app), userId, callbackId, privateMetadata, values);

export function ephemeralsFor(app: TestApp, userId: string): string[] {
  return app.slackApi.ephemerals.filter((e) => e.user === userId).map((e) => e.text);
}
