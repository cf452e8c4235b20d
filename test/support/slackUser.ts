// A person in Slack, as the bot sees one: reads the channel the fake Slack keeps, and clicks
// buttons with signed requests shaped like Slack's.
import type { FakeMessage } from "../../src/sandbox/fakeSlackApi.ts";
import { TEST_CHANNEL, TEST_SIGNING_SECRET, type TestApp, waitFor } from "./app.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  type ViewStateValues,
  viewSubmissionPayload,
} from "./slackRequests.ts";

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

/** The message that carries a button for `actionId`. */
export function messageFor(app: TestApp, actionId: number): FakeMessage | undefined {
  return channelMessages(app).find((m) => buttonsOf(m).some((b) => b.action_id.endsWith(`:${actionId}`)));
}

export async function waitForMessage(
  app: TestApp,
  actionId: number,
  accept: (m: FakeMessage) => boolean = () => true,
  timeoutMs = 20_000,
) {
  return waitFor(
    async () => {
      const message =
        messageFor(app, actionId) ?? channelMessages(app).find((m) => m.text.includes(`#${actionId}`));
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
 * The modal the click with `triggerId` opened, once that click is handled; null when it opened
 * none (a refusal). The click's inbox row is marked done after its listener returns, so a
 * views.open it made is recorded by then. While Postgres cannot say (an outage), an answer to
 * the person since `answeredBefore` tells instead: the click was answered without a modal.
 */
export async function viewOpenedBy(
  app: TestApp,
  triggerId: string,
  who?: { userId: string; answeredBefore: number },
): Promise<OpenedView | null> {
  const opened = () => {
    const call = app.slackApi.callsTo("views.open").find((c) => c.args.trigger_id === triggerId);
    const view = (call?.response as { ok?: boolean; view?: OpenedView } | undefined)?.view;
    return call ? { view: view ?? null } : undefined;
  };
  const found = await waitFor(
    async () => {
      let done: boolean;
      try {
        const [row] = await app.ctx.sql<{ done: boolean }[]>`
          select done_at is not null as done from slack_inbox where payload->>'trigger_id' = ${triggerId}`;
        done = row?.done ?? false;
      } catch (error) {
        if (!who) throw error;
        done = answersTo(app, who.userId) > who.answeredBefore;
      }
      return done ? (opened() ?? { view: null }) : opened();
    },
    15_000,
    `the click with trigger ${triggerId} handled`,
  );
  return found.view;
}

/**
 * Clicks the button whose action_id is `actionId` in `message`, as `userId`. A decision's button
 * opens a confirmation modal for an approver, which this submits, as the person would: the
 * answer is then the submission's (the request that decides), else the click's own ack.
 * `confirm: false` leaves the modal open.
 */
export async function click(
  app: TestApp,
  userId: string,
  message: FakeMessage,
  actionId: string,
  extra: { triggerId?: string; confirm?: boolean } = {},
) {
  const { confirm = true, ...payloadExtra } = extra;
  const body = clickPayload(userId, message, actionId, payloadExtra);
  const answeredBefore = answersTo(app, userId);
  const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body });
  if (!confirm || res.status !== 200 || !CONFIRMED_BY_MODAL.test(actionId)) return res;
  const view = await viewOpenedBy(app, body.trigger_id, { userId, answeredBefore });
  return view ? submitView(app, userId, view.callback_id, view.private_metadata, {}) : res;
}

export async function submitView(
  app: TestApp,
  userId: string,
  callbackId: string,
  privateMetadata: string,
  values: ViewStateValues,
) {
  return postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
    kind: "interactive",
    body: viewSubmissionPayload({ userId, callbackId, privateMetadata, values }),
  });
}

export function ephemeralsFor(app: TestApp, userId: string): string[] {
  return app.slackApi.ephemerals.filter((e) => e.user === userId).map((e) => e.text);
}
