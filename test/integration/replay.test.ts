// Replays on POST /slack/events: a signed request acts once however often it is delivered, a
// timestamp more than 5 minutes from now either way is refused, and Slack's own retries are
// answered without acting twice. The inbox's unique key is the memory of requests received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { decisionModal } from "../../src/slack/blocks/modals.ts";
import { failedQuarantine, ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  startTestApp,
  TEST_BOT_TOKEN,
  TEST_CHANNEL,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import {
  appHomeOpenedEvent,
  blockActionsPayload,
  postToSlackEndpoint,
  type SlackRequest,
  viewSubmissionPayload,
} from "../support/slackRequests.ts";
import { ephemeralsFor } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("replay");
});
afterAll(() => app?.close());
beforeEach(() => app.slackApi.reset());

const now = () => Math.floor(Date.now() / 1000);
const send = (request: SlackRequest) => postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, request);
/** Long enough for a click acked at once to have been decided, had it been taken. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 750));

/** A click encoded once: every delivery of it carries the same bytes, so the same signature. */
function click(verb: string, id: number, timestamp = now()): SlackRequest {
  const payload = blockActionsPayload({
    userId: APPROVER,
    actionId: `${verb}:${id}`,
    value: String(id),
    channelId: TEST_CHANNEL,
    messageTs: "1.1",
  });
  return {
    kind: "interactive",
    timestamp,
    body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  };
}

/**
 * A decision as Slack delivers it, encoded once: the submission of the confirmation modal the
 * click opened (the click itself decides nothing), with the modal's memory as the bot wrote it.
 */
async function decision(kind: "approve" | "retry", id: number, timestamp = now()): Promise<SlackRequest> {
  const view = decisionModal((await getAction(app.ctx.db, id))!, kind, { channel: TEST_CHANNEL });
  const payload = viewSubmissionPayload({
    userId: APPROVER,
    callbackId: view.callback_id!,
    privateMetadata: view.private_metadata,
    values: {},
  });
  return {
    kind: "interactive",
    timestamp,
    body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  };
}

/** The inbox rows of decisions on action `id`. */
const decisionRows = (id: number) => app.ctx.sql<{ payload: Record<string, unknown>; outcome: string }[]>`
  select payload, outcome from slack_inbox
  where payload->'view'->>'callback_id' = 'confirm_decision'
    and (payload->'view'->>'private_metadata')::jsonb->>'id' = ${String(id)}`;

let n = 0;
const nextNumber = () => {
  n += 1;
  return 700 + n;
};

async function pendingAction(): Promise<number> {
  n += 1;
  const [id] = await ingest(app.ctx.db, [
    actionBody("stop_service", 800 + n, { investigationId: undefined }),
  ]);
  return id!;
}

const retries = async (id: number) =>
  (await getActionEvents(app.ctx.db, id)).filter((e) => e.kind === "retry").length;

describe("replay.refused", () => {
  it("a signed Retry sent 5 times runs one more attempt; the 4 copies get 401", async () => {
    const id = await failedQuarantine(app.ctx.db, nextNumber());
    const retry = await decision("retry", id);
    expect((await send(retry)).status).toBe(200);
    await waitFor(async () => (await getAction(app.ctx.db, id))!.attempt === 2, 10_000, "the retry");
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    const copies = [];
    for (let i = 0; i < 4; i++) copies.push((await send(retry)).status);
    expect(copies).toEqual([401, 401, 401, 401]);
    await settle();
    expect((await getAction(app.ctx.db, id))!.attempt).toBe(2);
    expect(await retries(id)).toBe(1);
    expect(
      (await app.ctx.metrics.registry.getSingleMetricAsString("action_center_slack_requests_total")).match(
        /outcome="replayed"} (\d+)/,
      )?.[1],
    ).toBe("4");
  });

  it("the same approval delivered twice is refused the second time without an answer or an audit line", async () => {
    const id = await pendingAction();
    const approve = await decision("approve", id);
    const [first, second] = [await send(approve), await send(approve)];
    expect([first.status, second.status]).toEqual([200, 401]);
    await waitForStatuses(app.ctx.db, [id], ["approved", "running", "completed"]);
    await settle();
    // A second decision would have been answered "Already approved by …" and audited.
    expect(ephemeralsFor(app, APPROVER)).toEqual([]);
    expect((await getActionEvents(app.ctx.db, id)).map((e) => e.kind)).not.toContain("decision_refused");
  });

  it.each([
    ["10 years ahead", 10 * 365 * 24 * 3600],
    ["6 minutes ahead", 6 * 60],
    ["6 minutes ago", -6 * 60],
  ])("a request signed %s is refused with 401 and changes nothing", async (_label, offset) => {
    const id = await pendingAction();
    const res = await send(await decision("approve", id, now() + offset));
    expect(res.status).toBe(401);
    await settle();
    expect((await getAction(app.ctx.db, id))!.status).toBe("pending");
    expect(await decisionRows(id)).toHaveLength(0);
  });

  it("a request signed 4 minutes ahead (a clock a little fast) is still taken", async () => {
    const id = await pendingAction();
    expect((await send(await decision("approve", id, now() + 4 * 60))).status).toBe(200);
    await waitForStatuses(app.ctx.db, [id], ["approved", "running", "completed"]);
  });
});

describe("replay.slackRetries", () => {
  const retryHeaders = (num: number) => ({
    "X-Slack-Retry-Num": String(num),
    "X-Slack-Retry-Reason": "http_timeout",
  });

  it("Slack's retry of a decision already received is answered 200 and not acted on again", async () => {
    const id = await failedQuarantine(app.ctx.db, nextNumber());
    const retry = await decision("retry", id);
    expect((await send(retry)).status).toBe(200);
    await waitFor(async () => (await getAction(app.ctx.db, id))!.attempt === 2, 10_000, "the retry");
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    // Failed again, so a second Retry would be taken: Slack's retries must not be.
    expect((await send({ ...retry, headers: retryHeaders(1) })).status).toBe(200);
    expect((await send({ ...retry, headers: retryHeaders(2) })).status).toBe(200);
    await settle();
    expect(await retries(id)).toBe(1);
    expect((await getAction(app.ctx.db, id))!.attempt).toBe(2);
  });

  it("an event retried with a new signature is answered 200 once per delivery and handled once", async () => {
    const event = appHomeOpenedEvent(APPROVER);
    // Slack signs each delivery anew: the retry's timestamp, and so its signature, differ.
    const first = await send({ kind: "event", body: event, timestamp: now() - 2 });
    const again = await send({ kind: "event", body: event, timestamp: now(), headers: retryHeaders(1) });
    expect([first.status, again.status]).toEqual([200, 200]);
    await waitFor(async () => app.slackApi.callsTo("views.publish").length > 0, 10_000, "the Home tab");
    await settle();
    expect(app.slackApi.callsTo("views.publish")).toHaveLength(1);
  });

  it("a retry whose first delivery never arrived is handled", async () => {
    const event = appHomeOpenedEvent(APPROVER);
    expect((await send({ kind: "event", body: event, headers: retryHeaders(3) })).status).toBe(200);
    await waitFor(async () => app.slackApi.callsTo("views.publish").length === 1, 10_000, "the Home tab");
  });
});

describe("replay.inbox", () => {
  it("keeps what a decision needs, never Slack's verification token, the signing secret or the bot token", async () => {
    const id = await pendingAction();
    expect((await send(click("approve", id))).status).toBe(200);
    const clicked = await waitFor(
      async () => {
        const [row] = await app.ctx.sql<{ payload: Record<string, unknown>; outcome: string | null }[]>`
          select payload, outcome from slack_inbox where payload::text like ${`%approve:${id}"%`}`;
        return row?.outcome ? row : undefined;
      },
      10_000,
      "the click handled",
    );
    // The click opened the confirmation and decided nothing.
    expect(clicked.outcome).toBe("handled");
    expect(clicked.payload).toMatchObject({ type: "block_actions", user: { id: APPROVER } });
    expect(clicked.payload).not.toHaveProperty("token");
    // Slack's copy of the clicked message is not needed to decide, and is most of the size.
    expect(clicked.payload).not.toHaveProperty("message");
    expect((await send(await decision("approve", id))).status).toBe(200);
    await waitForStatuses(app.ctx.db, [id], ["approved", "running", "completed"]);
    const [row] = await decisionRows(id);
    expect(row!.outcome).toBe("decided");
    expect(row!.payload).toMatchObject({ type: "view_submission", user: { id: APPROVER } });
    expect(row!.payload).not.toHaveProperty("token");
    const [all] = await app.ctx.sql<
      { dump: string }[]
    >`select string_agg(payload::text, '') as dump from slack_inbox`;
    for (const secret of ["fake-verification-token", TEST_SIGNING_SECRET, TEST_BOT_TOKEN]) {
      expect(all!.dump).not.toContain(secret);
    }
  });
});
