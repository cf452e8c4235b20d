// The Slack loop over Socket Mode, against a local server speaking Slack's Socket Mode protocol
// (test/support/socketModeServer.ts): the same end-to-end assertions as the HTTP mode's
// slackLoop.test.ts (those both run are in test/support/slackLoopCases.ts), then what a WebSocket
// adds: reconnects after a drop and a refresh with no click lost, redeliveries that decide nothing
// twice, several processes sharing the work, and /readyz telling when the connection is down.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { deviceFiles, devices } from "../../src/db/schema.ts";
import type { FakeMessage, FakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  GROUP_APPROVER,
  startTestApp,
  startTestSlackApi,
  TEST_CHANNEL,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { answerAt } from "../support/commands.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import {
  applyRuns,
  expectApproveAllOnce,
  expectBurstReachable,
  expectConcurrentApprovalsRunOnce,
  expectGoHuntAndOpenInvestigation,
  expectRefusedBystander,
  LARGE_INVESTIGATION,
  outbreak,
} from "../support/slackLoopCases.ts";
import {
  type ResponseUrlCatcher,
  slashCommandBody,
  startResponseUrlCatcher,
  viewSubmissionPayload,
} from "../support/slackRequests.ts";
import {
  buttonsOf,
  clickPayload,
  clickVia,
  ephemeralsFor,
  type SlackTransport,
  socketTransport,
  submitViewVia,
  waitForMessage,
} from "../support/slackUser.ts";
import {
  type Ack,
  type Envelope,
  type SocketModeServer,
  startSocketModeServer,
  TEST_APP_TOKEN,
} from "../support/socketModeServer.ts";

// The client reconnects this long after a close (Slack's SDK default is 5 s).
const PING_TIMEOUT_MS = "1000";

let slackApi: FakeSlackApi;
let socket: SocketModeServer;
let catcher: ResponseUrlCatcher;
let app: TestApp;
let socketUser: SlackTransport<Ack>;

const alone = { investigationId: undefined };
const ACTIONS = {
  loop: actionBody("quarantine_file", 1, { ...alone, device: { id: "dev-1", name: "LAPTOP-7" } }),
  reject: actionBody("stop_service", 2, alone),
  command: actionBody("stop_service", 3, alone),
  hunt: actionBody("quarantine_file", 4, alone),
  refused: actionBody("isolate_device", 5, alone),
  concurrent: actionBody("disable_driver", 6, alone),
  drop: actionBody("stop_service", 10, alone),
  refresh: actionBody("stop_service", 11, alone),
  redelivered: actionBody("disable_driver", 20, alone),
  retry: actionBody("quarantine_file", 30, { ...alone, device: { id: "gone-30", name: "PC-30" } }),
  spread0: actionBody("stop_service", 40, { ...alone, externalId: "spread-0" }),
  spread1: actionBody("stop_service", 41, { ...alone, externalId: "spread-1" }),
  spread2: actionBody("stop_service", 42, { ...alone, externalId: "spread-2" }),
};
let actionOf: Record<keyof typeof ACTIONS, number>;
let largeInvestigation: number[];

/**
 * An outbreak posted by an app of its own, whose Slack refuses more than one message a second in
 * the channel, as the HTTP loop's does. Its own Slack: under that limit the main app's thread
 * replies, refused while its posts keep the channel busy, would slow every test.
 */
const OUTBREAK = outbreak(4, 6, 6);
let outbreakSlack: FakeSlackApi | undefined;
let outbreakSocket: SocketModeServer | undefined;
let outbreakApp: TestApp | undefined;
let outbreakPosting: Promise<number[]>;

async function startOutbreak(): Promise<number[]> {
  outbreakSlack = await startTestSlackApi({ postsPerSecondPerChannel: 1 });
  outbreakSocket = await startSocketModeServer({ webApiUrl: outbreakSlack.url });
  outbreakApp = await socketModeApp("socket_outbreak", {
    link: { slackApi: outbreakSlack, socket: outbreakSocket },
  });
  await outbreakSocket.waitForConnections(1);
  return ingest(outbreakApp.ctx.db, OUTBREAK.bodies);
}

function socketModeApp(
  label: string,
  extra: {
    databaseUrl?: string;
    env?: Record<string, string>;
    /** The Slack it talks to: the file's by default. */
    link?: { slackApi: FakeSlackApi; socket: SocketModeServer };
  } = {},
) {
  const link = extra.link ?? { slackApi, socket };
  return startTestApp(label, {
    slackApi: link.slackApi,
    role: extra.databaseUrl ? "web" : "all",
    ...(extra.databaseUrl && { databaseUrl: extra.databaseUrl }),
    env: {
      SLACK_APP_TOKEN: TEST_APP_TOKEN,
      SLACK_API_URL: link.socket.apiUrl,
      SLACK_SOCKET_PING_TIMEOUT_MS: PING_TIMEOUT_MS,
      ...extra.env,
    },
  });
}

beforeAll(async () => {
  // It posts while the other tests run.
  outbreakPosting = startOutbreak();
  outbreakPosting.catch(() => undefined);
  slackApi = await startTestSlackApi();
  socket = await startSocketModeServer({ webApiUrl: slackApi.url, ackTimeoutMs: 1500 });
  catcher = await startResponseUrlCatcher();
  app = await socketModeApp("socket_mode");
  await socket.waitForConnections(1);
  socketUser = socketTransport(app, socket);
  // The file that Retry's attempts will not find.
  await app.ctx.db.insert(devices).values({ id: "gone-30", name: "PC-30" });
  await app.ctx.db
    .insert(deviceFiles)
    .values({ deviceId: "gone-30", sha256: sha256Of(30), path: "C:\\x.exe", state: "missing" });
  // Every test's action at once: messages post about one a second, so they post while the first
  // tests run (an investigation's first).
  const names = Object.keys(ACTIONS) as (keyof typeof ACTIONS)[];
  const created = await ingest(app.ctx.db, [...Object.values(ACTIONS), ...LARGE_INVESTIGATION.bodies]);
  actionOf = Object.fromEntries(names.map((name, i) => [name, created[i]!])) as typeof actionOf;
  largeInvestigation = created.slice(names.length);
});
afterAll(async () => {
  await outbreakPosting?.catch(() => undefined);
  await outbreakApp?.close();
  await outbreakSocket?.close();
  await outbreakSlack?.close();
  await app?.close();
  await socket?.close();
  await slackApi?.close();
  await catcher?.close();
});

const ids = (message: { blocks?: unknown[] }) => buttonsOf(message).map((b) => b.action_id);

/** The envelope Slack sends again when it saw no ack for `envelopeId` in time. */
function redelivery(envelopeId: string, payload: Record<string, unknown>): Envelope {
  return {
    type: "interactive",
    envelope_id: envelopeId,
    payload,
    accepts_response_payload: true,
    retry_attempt: 1,
    retry_reason: "timeout",
  };
}

/**
 * Submits, over the socket, the confirmation modal an approver's click with `triggerId` opened:
 * the submission's payload (for a redelivery) and the app's ack.
 */
async function confirm(userId: string, triggerId: string) {
  const opened = await waitFor(
    async () => slackApi.callsTo("views.open").find((c) => c.args.trigger_id === triggerId),
    15_000,
    "the confirmation modal",
  );
  const view = (opened.response as { view: { callback_id: string; private_metadata: string } }).view;
  const payload = viewSubmissionPayload({
    userId,
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    values: {},
  });
  return { payload, ack: await socket.send("interactive", payload) };
}

/** A click on a channel message sent over the socket, a decision's confirmation submitted too. */
const click = (userId: string, message: FakeMessage, actionId: string) =>
  clickVia(socketUser, userId, message, actionId);

/** The confirmation modals opened with `triggerId`: one, however often the click is delivered. */
const modalsOpenedBy = (triggerId: string) =>
  slackApi.callsTo("views.open").filter((c) => c.args.trigger_id === triggerId).length;

async function approvalsOf(id: number) {
  return (await getActionEvents(app.ctx.db, id)).filter((e) => e.kind === "approve");
}

async function readyz(target: TestApp = app) {
  const res = await fetch(`${target.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

describe("socket.loop", () => {
  it("ingest → posted → Approve → completed → Undo → undone over the socket, the message following every step", async () => {
    const id = actionOf.loop;
    const posted = await waitForMessage(app, id);
    expect(ids(posted)).toEqual(expect.arrayContaining([`approve:${id}`, `reject:${id}`]));
    expect(posted.text).toMatch(/LAPTOP-7/);

    const ack = await click(APPROVER, posted, `approve:${id}`);
    expect(ack.envelope_id).toEqual(expect.any(String));
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const completed = await waitForMessage(app, id, (m) => ids(m).includes(`undo:${id}`));
    expect(completed.ts).toBe(posted.ts);
    expect(JSON.stringify(completed.blocks)).toContain(`<@${APPROVER}>`);
    expect(ids(completed)).not.toContain(`approve:${id}`);

    await click(APPROVER, completed, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    const undone = await waitForMessage(
      app,
      id,
      (m) => !ids(m).includes(`undo:${id}`) && /undone/i.test(JSON.stringify(m.blocks)),
    );
    expect(undone.ts).toBe(posted.ts);
    // The audit trail is in the thread under the message.
    await waitFor(
      async () => undone.replies.some((r) => /undone|Undo/i.test(r.text)),
      10_000,
      "thread lines",
    );
    expect(undone.replies.map((r) => r.text).join("\n")).toContain(`<@${APPROVER}>`);
    expect(await applyRuns(app, id)).toEqual([1]);
    expect(ephemeralsFor(app, APPROVER)).toEqual([]);
  });

  it("Reject opens the reason modal; its submission is acked over the socket with the errors, then decides", async () => {
    const id = actionOf.reject;
    const posted = await waitForMessage(app, id);
    const before = slackApi.callsTo("views.open").length;
    await click(GROUP_APPROVER, posted, `reject:${id}`);
    const opened = await waitFor(async () => slackApi.callsTo("views.open")[before], 5000, "views.open");
    const view = (opened.args as { view: { callback_id: string; private_metadata: string } }).view;
    expect(view.callback_id).toBe("reject_action");

    const empty = await submitViewVia(socketUser, GROUP_APPROVER, "reject_action", view.private_metadata, {
      reason: { reason: { type: "plain_text_input", value: "  " } },
    });
    expect(empty.payload).toMatchObject({
      response_action: "errors",
      errors: { reason: expect.any(String) },
    });
    expect((await getAction(app.ctx.db, id))!.status).toBe("pending");

    const done = await submitViewVia(socketUser, GROUP_APPROVER, "reject_action", view.private_metadata, {
      reason: { reason: { type: "plain_text_input", value: "Known admin tool, false positive" } },
    });
    expect(done.payload?.response_action).toBeUndefined();
    const action = (await getAction(app.ctx.db, id))!;
    expect(action).toMatchObject({ status: "rejected", decidedBy: GROUP_APPROVER });
    expect(action.decisionComment).toContain("false positive");
    await waitForMessage(app, id, (m) => /Rejected/.test(JSON.stringify(m.blocks)));
  });

  it("answers /action-center sent as a slash_commands envelope", async () => {
    const id = actionOf.command;
    const responseUrl = catcher.newUrl();
    const ack = await socket.send(
      "slash_commands",
      slashCommandBody({ userId: APPROVER, text: `show ${id}`, channelId: TEST_CHANNEL, responseUrl }),
    );
    expect(ack.envelope_id).toEqual(expect.any(String));
    const answer = await answerAt(catcher, responseUrl);
    expect(JSON.stringify(answer)).toContain(`#${id}`);
  });

  it("Go hunt opens a modal with a ready-to-copy query for the entity; Open investigation links to its page", async () => {
    await expectGoHuntAndOpenInvestigation(socketUser, actionOf.hunt, sha256Of(4));
  });
});

describe("socket.security", () => {
  it("refuses a person who is not an approver, audits the attempt, changes nothing", async () => {
    await expectRefusedBystander(socketUser, actionOf.refused);
  });

  it("20 concurrent Approve clicks run the action once; the others hear who approved first", async () => {
    await expectConcurrentApprovalsRunOnce(socketUser, actionOf.concurrent, 20);
  });
});

describe("socket.reconnect", () => {
  it("after a drop without warning the client reconnects, and a click sent meanwhile is delivered once", async () => {
    const id = actionOf.drop;
    const posted = await waitForMessage(app, id);
    const [before] = socket.connections();
    socket.drop();
    expect(socket.connections()).toEqual([]);
    const acked = click(APPROVER, posted, `approve:${id}`);
    await socket.waitForConnections(1);
    expect(socket.connections()[0]!.id).not.toBe(before!.id);
    await acked;
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(await approvalsOf(id)).toHaveLength(1);
  });

  it("on refresh_requested the client reconnects; the click in flight when it closed is redelivered and handled once", async () => {
    const id = actionOf.refresh;
    const posted = await waitForMessage(app, id);
    const earlier = ephemeralsFor(app, APPROVER).length;
    // Slack sends the click, then asks the connection to go before the app could ack it.
    const payload = clickPayload(APPROVER, posted, `approve:${id}`);
    const acked = socket.send("interactive", payload);
    socket.disconnect("refresh_requested");
    const ack = await acked;
    await confirm(APPROVER, payload.trigger_id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const sent = socket.deliveries.filter((d) => d.envelopeId === ack.envelope_id);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.at(-1)!.retryAttempt).toBeGreaterThanOrEqual(1);
    expect(new Set(sent.map((d) => d.connection)).size).toBeGreaterThanOrEqual(2);
    expect(await approvalsOf(id)).toHaveLength(1);
    expect(await applyRuns(app, id)).toEqual([1]);
    expect(ephemeralsFor(app, APPROVER).slice(earlier)).toEqual([]);
  });
});

describe("socket.redelivery", () => {
  it("an Approve and its confirmation redelivered with retry_attempt 1 are acked and decide nothing twice", async () => {
    const id = actionOf.redelivered;
    const posted = await waitForMessage(app, id);
    const payload = clickPayload(APPROVER, posted, `approve:${id}`);
    const earlier = ephemeralsFor(app, APPROVER).length;
    const first = await socket.send("interactive", payload);
    const confirmation = await confirm(APPROVER, payload.trigger_id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const again = await socket.sendRaw(redelivery(first.envelope_id, payload));
    expect(again.envelope_id).toBe(first.envelope_id);
    const submittedAgain = await socket.sendRaw(
      redelivery(confirmation.ack.envelope_id, confirmation.payload),
    );
    expect(submittedAgain.envelope_id).toBe(confirmation.ack.envelope_id);
    expect(modalsOpenedBy(payload.trigger_id)).toBe(1);
    expect(await approvalsOf(id)).toHaveLength(1);
    expect(await applyRuns(app, id)).toEqual([1]);
    // Handled twice, the approver would hear "Already approved by" themselves.
    await new Promise((r) => setTimeout(r, 300));
    expect(ephemeralsFor(app, APPROVER).slice(earlier)).toEqual([]);
  });

  it("a Retry click redelivered after the new attempt failed too starts no third attempt", async () => {
    const id = actionOf.retry;
    const posted = await waitForMessage(app, id);
    await click(APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    const failed = await waitForMessage(app, id, (m) => ids(m).includes(`retry:${id}`));
    const payload = clickPayload(APPROVER, failed, `retry:${id}`);
    const first = await socket.send("interactive", payload);
    const confirmation = await confirm(APPROVER, payload.trigger_id);
    await waitFor(
      async () =>
        (await getAction(app.ctx.db, id))!.attempt === 2 &&
        (await getAction(app.ctx.db, id))!.status === "failed",
      15_000,
      "the second attempt failing",
    );
    await socket.sendRaw(redelivery(first.envelope_id, payload));
    await socket.sendRaw(redelivery(confirmation.ack.envelope_id, confirmation.payload));
    await new Promise((r) => setTimeout(r, 500));
    expect(modalsOpenedBy(payload.trigger_id)).toBe(1);
    const action = (await getAction(app.ctx.db, id))!;
    expect(action).toMatchObject({ status: "failed", attempt: 2 });
    const events = await getActionEvents(app.ctx.db, id);
    expect(events.filter((e) => e.kind === "retry")).toHaveLength(1);
  });
});

describe("socket.scale", () => {
  it("three processes each hold a connection; Slack's envelopes spread over them and each is decided once", async () => {
    const others = [
      await socketModeApp("socket_mode_b", {
        databaseUrl: app.databaseUrl,
        env: { QUEUE_PREFIX: app.env.QUEUE_PREFIX! },
      }),
      await socketModeApp("socket_mode_c", {
        databaseUrl: app.databaseUrl,
        env: { QUEUE_PREFIX: app.env.QUEUE_PREFIX! },
      }),
    ];
    try {
      await socket.waitForConnections(3);
      const actionIds = [actionOf.spread0, actionOf.spread1, actionOf.spread2];
      const messages = await Promise.all(actionIds.map((id) => waitForMessage(app, id)));
      const payloads = actionIds.map((id, i) => clickPayload(APPROVER, messages[i]!, `approve:${id}`));
      const firstAcks = await Promise.all(payloads.map((payload) => socket.send("interactive", payload)));
      const confirmations = await Promise.all(payloads.map((p) => confirm(APPROVER, p.trigger_id)));
      expect(await waitForStatuses(app.ctx.db, actionIds, ["completed"])).toEqual({ completed: 3 });
      const connections = socket.connections().map((c) => c.id);
      const usedBy = new Set(
        socket.deliveries
          .filter((d) => firstAcks.some((a) => a.envelope_id === d.envelopeId))
          .map((d) => d.connection),
      );
      expect([...usedBy].sort()).toEqual([...connections].sort());
      // Each click and each confirmation sent again on another process's connection: acked there,
      // decided nowhere.
      const open = socket.connections();
      await Promise.all(
        payloads.flatMap((payload, i) => [
          socket.sendRaw(redelivery(firstAcks[i]!.envelope_id, payload), open[(i + 1) % open.length]),
          socket.sendRaw(
            redelivery(confirmations[i]!.ack.envelope_id, confirmations[i]!.payload),
            open[(i + 2) % open.length],
          ),
        ]),
      );
      for (const id of actionIds) {
        expect(await approvalsOf(id)).toHaveLength(1);
        expect(await applyRuns(app, id)).toEqual([1]);
      }
      expect(socket.undelivered).toEqual([]);
    } finally {
      for (const other of others) await other.close();
    }
  });
});

describe("socket.group", () => {
  it("Approve all on an investigation too large for per-action rows approves every pending action once", async () => {
    await expectApproveAllOnce(socketUser, LARGE_INVESTIGATION.id, largeInvestigation);
  });
});

describe("socket.outbreak", () => {
  it("30 pending actions in one burst at 1 message/second: every action reachable, none lost, no invalid_blocks", async () => {
    const burst = await outbreakPosting;
    // 4 investigations of 6, and 6 actions on their own.
    await expectBurstReachable(outbreakApp!, burst, OUTBREAK.messages);
  });
});

describe("socket.readiness", () => {
  it("/readyz reports the connection down through an outage and after link_disabled, and ready once it is back", async () => {
    expect((await readyz()).status).toBe(200);
    expect((await readyz()).body.checks.slack).toBe("ok");

    socket.refuse("outage");
    socket.drop();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks.slack).toMatch(/lost without warning; reconnecting/);
    // The client keeps calling apps.connections.open with backoff until Slack answers again.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await readyz()).status).toBe(503);
    socket.refuse(null);
    await socket.waitForConnections(1);
    await waitFor(async () => (await readyz()).status === 200, 10_000, "ready again");

    socket.refuse("link_disabled");
    socket.disconnect("link_disabled");
    await waitFor(async () => socket.connections().length === 0, 5000, "the connection to close");
    const disabled = await readyz();
    expect(disabled.status).toBe(503);
    expect(disabled.body.checks.slack).toMatch(/closed by Slack \(link_disabled\)/);
    socket.refuse(null);
    await socket.waitForConnections(1);
    await waitFor(
      async () => (await readyz()).status === 200,
      10_000,
      "ready after Socket Mode is enabled again",
    );
  });
});
