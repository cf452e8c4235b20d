// The Slack loop end to end: ingest → message → Approve → worker → message updated → Undo,
// driven the way Slack drives the bot, against a fake Slack Web API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { decide } from "../../src/services/decide.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  GROUP_APPROVER,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import {
  expectApproveAllOnce,
  expectBurstReachable,
  expectConcurrentApprovalsRunOnce,
  expectGoHuntAndOpenInvestigation,
  expectRefusedBystander,
  LARGE_INVESTIGATION,
  outbreak,
} from "../support/slackLoopCases.ts";
import { blockActionsPayload, postToSlackEndpoint } from "../support/slackRequests.ts";
import {
  buttonsOf,
  click,
  ephemeralsFor,
  httpTransport,
  type SlackTransport,
  submitView,
  waitForMessage,
} from "../support/slackUser.ts";

let app: TestApp;
let http: SlackTransport<Response>;
beforeAll(async () => {
  app = await startTestApp("slack_loop", { slack: { postsPerSecondPerChannel: 1 } });
  http = httpTransport(app);
});
afterAll(() => app?.close());

const ids = (message: { blocks?: unknown[] }) => buttonsOf(message).map((b) => b.action_id);

describe("slack.happy", () => {
  it("an approval committed while its message's post is on its way to Slack is rendered once the post lands", async () => {
    // The reconciler's sweep is far away: only the post's own re-check can bring the message up to date.
    const slow = await startTestApp("slack_slow_post", {
      env: { STUCK_AFTER_MS: "600000" },
      slack: { latencyMs: { "chat.postMessage": 800 } },
    });
    try {
      const [id] = await ingest(slow.ctx.db, [
        actionBody("stop_service", 40, { investigationId: undefined }),
      ]);
      let decided: Promise<unknown> | undefined;
      slow.slackApi.onCall((call) => {
        if (call.method === "chat.postMessage" && !decided) {
          decided = decide(slow.ctx.db, { actionId: id!, decision: "approve", actor: APPROVER });
        }
      });
      const posted = await waitForMessage(slow, id!);
      await decided;
      // Posted as it was when the post read it (pending), then updated in place.
      const post = slow.slackApi.calls.find((call) => call.method === "chat.postMessage");
      expect(JSON.stringify(post!.args.blocks)).toContain(`approve:${id}`);
      const updated = await waitForMessage(slow, id!, (m) => !ids(m).includes(`approve:${id}`), 15_000);
      expect(updated.ts).toBe(posted.ts);
      expect(JSON.stringify(updated.blocks)).toContain(`<@${APPROVER}>`);
    } finally {
      await slow.close();
    }
  });

  it("ingest → posted → Approve → completed → Undo → undone, the message following every step", async () => {
    const [id] = await ingest(app.ctx.db, [
      actionBody("quarantine_file", 1, {
        investigationId: undefined,
        device: { id: "dev-1", name: "LAPTOP-7" },
      }),
    ]);
    const posted = await waitForMessage(app, id!);
    expect(ids(posted)).toEqual(
      expect.arrayContaining([`approve:${id}`, `reject:${id}`, `go_hunt:${id}`, `open_investigation:${id}`]),
    );
    expect(posted.text).toMatch(/LAPTOP-7/);
    expect(posted.text).toMatch(/invoice-1\.exe|Quarantine/);
    const stored = await getAction(app.ctx.db, id!);
    expect(stored!.slackMessageId).not.toBeNull();

    const res = await click(app, APPROVER, posted, `approve:${id}`);
    expect(res.status).toBe(200);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const completed = await waitForMessage(app, id!, (m) => ids(m).includes(`undo:${id}`));
    expect(JSON.stringify(completed.blocks)).toContain(`<@${APPROVER}>`);
    expect(ids(completed)).not.toContain(`approve:${id}`);

    await click(app, APPROVER, completed, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
    const undone = await waitForMessage(
      app,
      id!,
      (m) => !ids(m).includes(`undo:${id}`) && /undone/i.test(JSON.stringify(m.blocks)),
    );
    expect(undone.ts).toBe(posted.ts);
    // The audit trail is in the thread under the message.
    await waitFor(
      async () => undone.replies.some((r) => /undone|Undo/i.test(r.text)),
      10_000,
      "thread lines",
    );
    const thread = undone.replies.map((r) => r.text).join("\n");
    expect(thread).toContain(`<@${APPROVER}>`);
    expect(ephemeralsFor(app, APPROVER)).toEqual([]);
  });

  it("Reject asks for a reason in a modal, then records it", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 2, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    const before = app.slackApi.callsTo("views.open").length;
    await click(app, GROUP_APPROVER, posted, `reject:${id}`);
    const opened = await waitFor(async () => app.slackApi.callsTo("views.open")[before], 5000, "views.open");
    const view = (opened.args as { view: { callback_id: string; private_metadata: string } }).view;
    expect(view.callback_id).toBe("reject_action");

    const empty = await submitView(app, GROUP_APPROVER, "reject_action", view.private_metadata, {
      reason: { reason: { type: "plain_text_input", value: "  " } },
    });
    expect(await empty.json()).toMatchObject({
      response_action: "errors",
      errors: { reason: expect.any(String) },
    });
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");

    const done = await submitView(app, GROUP_APPROVER, "reject_action", view.private_metadata, {
      reason: { reason: { type: "plain_text_input", value: "Known admin tool, <!channel> false positive" } },
    });
    expect(done.status).toBe(200);
    const action = (await getAction(app.ctx.db, id!))!;
    expect(action).toMatchObject({ status: "rejected", decidedBy: GROUP_APPROVER });
    expect(action.decisionComment).toContain("false positive");
    const updated = await waitForMessage(app, id!, (m) => /Rejected/.test(JSON.stringify(m.blocks)));
    expect(JSON.stringify(updated.blocks)).not.toContain("<!channel>");
  });

  it("Go hunt opens a modal with a ready-to-copy query for the entity; Open investigation links to its page", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("quarantine_file", 3, { investigationId: undefined })]);
    await expectGoHuntAndOpenInvestigation(http, id!, sha256Of(3));
  });
});

describe("slack.group", () => {
  it("Approve all on an investigation too large for per-action rows approves every pending action once", async () => {
    const ids = await ingest(app.ctx.db, LARGE_INVESTIGATION.bodies);
    await expectApproveAllOnce(http, LARGE_INVESTIGATION.id, ids);
  });
});

describe("slack.security", () => {
  it("refuses a person who is not an approver, audits the attempt, changes nothing", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 4, { investigationId: undefined })]);
    await expectRefusedBystander(http, id!);
  });

  it("20 concurrent Approve clicks run the action once; the others hear who approved first", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("disable_driver", 5, { investigationId: undefined })]);
    await expectConcurrentApprovalsRunOnce(http, id!, 20);
  });

  it.each([
    ["a forged signature", { "X-Slack-Signature": `v0=${"0".repeat(64)}` }, undefined],
    ["a stale timestamp", {}, Math.floor(Date.now() / 1000) - 6 * 60],
    ["no signature", { "X-Slack-Signature": "" }, undefined],
  ])("answers 401 to %s and changes nothing", async (_what, headers, timestamp) => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 6, { externalId: `sig-${_what}` })]);
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "interactive",
      body: blockActionsPayload({
        userId: APPROVER,
        actionId: `approve:${id}`,
        value: String(id),
        channelId: "C0TESTCHAN1",
        messageTs: "1.000001",
      }),
      headers,
      timestamp,
    });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
  });
});

describe("slack.outbreak", () => {
  it("30 pending actions in one burst at 1 message/second: every action reachable, none lost, no invalid_blocks", async () => {
    // 4 investigations of 6, and 6 actions on their own.
    const { bodies, messages } = outbreak(4, 6, 6);
    const burst = await ingest(app.ctx.db, bodies);
    await expectBurstReachable(app, burst, messages);
  });
});
