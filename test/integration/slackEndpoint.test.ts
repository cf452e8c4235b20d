// POST /slack/events: clicks are acked as soon as their signature checks and handled right
// after; everything else goes through Bolt's receiver as it is.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { ingest } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_SIGNING_SECRET, type TestApp, waitFor } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  startResponseUrlCatcher,
} from "../support/slackRequests.ts";
import { submitView, viewOpenedBy } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("slack_endpoint");
});
afterAll(() => app?.close());

const approveClick = (id: number) =>
  ({
    kind: "interactive",
    body: blockActionsPayload({
      userId: APPROVER,
      actionId: `approve:${id}`,
      value: String(id),
      channelId: "C0TESTCHAN1",
      messageTs: "1.1",
    }),
  }) as const;

/** Submits the confirmation modal the click opened, as the approver would. */
async function confirm(click: ReturnType<typeof approveClick>) {
  const view = await viewOpenedBy(app, click.body.trigger_id);
  return submitView(app, APPROVER, view!.callback_id, view!.private_metadata, {});
}

describe("slack endpoint.happy", () => {
  it("acks a click with an empty 200, then opens the confirmation, whose submission decides", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 1, { investigationId: undefined })]);
    const click = approveClick(id!);
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, click);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    const submitted = await confirm(click);
    // The submission's ack is an empty 200 too: the modal closes.
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe("");
    await waitFor(async () => (await getAction(app.ctx.db, id!))?.decidedBy === APPROVER);
  });

  it("a burst of 50 clicks on 50 actions: every one acked, every one decided once", async () => {
    const ids = await ingest(
      app.ctx.db,
      Array.from({ length: 50 }, (_, i) =>
        actionBody("disable_driver", 100 + i, { investigationId: undefined }),
      ),
    );
    const clicks = ids.map(approveClick);
    const answers = await Promise.all(
      clicks.map((click) => postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, click)),
    );
    expect(answers.map((r) => r.status)).toEqual(ids.map(() => 200));
    const submitted = await Promise.all(clicks.map(confirm));
    expect(submitted.map((r) => r.status)).toEqual(ids.map(() => 200));
    await waitFor(async () => {
      const rows = await app.ctx.sql<{ n: number }[]>`
        select count(*)::int as n from action_events
        where action_id = any(${ids}) and kind = 'approve'`;
      return rows[0]!.n === ids.length;
    });
  });

  it("a slash command still goes through Bolt's receiver and is answered", async () => {
    const catcher = await startResponseUrlCatcher();
    const responseUrl = catcher.newUrl();
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "command",
      body: {
        command: "/action-center",
        text: "help",
        user_id: APPROVER,
        channel_id: "C0TESTCHAN1",
        team_id: "T0TEST0001",
        response_url: responseUrl,
        trigger_id: "1.2.3",
      },
    });
    expect(res.status).toBe(200);
    try {
      const answer = await waitFor(async () => catcher.requests[0]);
      expect(JSON.stringify(answer.body)).toMatch(/history/);
    } finally {
      await catcher.close();
    }
  });
});

describe("slack endpoint.security", () => {
  it("a click with a bad signature is refused with 401 and decides nothing", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 2, { investigationId: undefined })]);
    const res = await postToSlackEndpoint(app.url, "not-the-signing-secret", approveClick(id!));
    expect(res.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
  });
});

describe("slack endpoint.error", () => {
  it("a body over the limit is refused with 413", async () => {
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "interactive",
      body: `payload=${"x".repeat(1024 * 1024 + 1)}`,
    });
    expect(res.status).toBe(413);
  });
});
