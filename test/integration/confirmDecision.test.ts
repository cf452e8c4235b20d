// A decision button is checked on the server before any confirmation: Slack would show a button's
// own `confirm` to everyone. A non-approver is refused at once and sees no dialog; an approver gets
// the confirmation modal, whose submission decides — once, however often it is submitted.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { backendRuns } from "../../src/db/schema.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  BYSTANDER,
  GROUP_APPROVER,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { postToSlackEndpoint } from "../support/slackRequests.ts";
import {
  buttonsOf,
  clickPayload,
  ephemeralsFor,
  submitView,
  viewOpenedBy,
  waitForMessage,
} from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("confirm_decision");
});
afterAll(() => app?.close());

/** Clicks without confirming: the click's answer and the modal it opened, if any. */
async function clickOnly(userId: string, message: Parameters<typeof clickPayload>[1], actionId: string) {
  const body = clickPayload(userId, message, actionId);
  const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body });
  expect(res.status).toBe(200);
  return { view: await viewOpenedBy(app, body.trigger_id), triggerId: body.trigger_id };
}

type OpenedModal = {
  view: { title: { text: string }; submit: { text: string }; close: { text: string }; blocks: unknown[] };
};

function openedModal(triggerId: string): OpenedModal["view"] {
  const call = app.slackApi.callsTo("views.open").find((c) => c.args.trigger_id === triggerId);
  return (call!.args as OpenedModal).view;
}

describe("a decision's confirmation is the server's", () => {
  it("a non-approver's Approve opens no modal: refused at once, audited and threaded", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 1, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    // The button carries no client-side confirm, which Slack would show to everyone.
    const approve = buttonsOf(posted).find((b) => b.action_id === `approve:${id}`);
    expect(approve).toBeDefined();
    expect(approve).not.toHaveProperty("confirm");

    const before = ephemeralsFor(app, BYSTANDER).length;
    const clicked = await clickOnly(BYSTANDER, posted, `approve:${id}`);
    expect(clicked.view).toBeNull();
    expect(app.slackApi.callsTo("views.open").some((c) => c.args.trigger_id === clicked.triggerId)).toBe(
      false,
    );
    const answer = await waitFor(async () => ephemeralsFor(app, BYSTANDER)[before], 5000, "the refusal");
    expect(answer).toMatch(/You are not allowed to approve actions/);
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
    expect((await getActionEvents(app.ctx.db, id!)).at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: BYSTANDER,
      detail: { decision: "approve", reason: "not an approver" },
    });
    await waitFor(
      async () =>
        app.slackApi.findMessage(posted.channel, posted.ts)?.replies.find((r) => /Refused/.test(r.text)),
      10_000,
      "the refusal threaded under the message",
    );
  });

  it("a non-approver's Reject opens no reason modal either", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 2, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    const before = ephemeralsFor(app, BYSTANDER).length;
    const clicked = await clickOnly(BYSTANDER, posted, `reject:${id}`);
    expect(clicked.view).toBeNull();
    expect(await waitFor(async () => ephemeralsFor(app, BYSTANDER)[before], 5000, "the refusal")).toMatch(
      /not allowed to reject/,
    );
    expect((await getActionEvents(app.ctx.db, id!)).at(-1)).toMatchObject({
      kind: "decision_refused",
      detail: { decision: "reject" },
    });
  });

  it("an approver's Approve opens the confirmation; the click alone decides nothing", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 3, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    const clicked = await clickOnly(GROUP_APPROVER, posted, `approve:${id}`);
    expect(clicked.view).not.toBeNull();
    const modal = openedModal(clicked.triggerId);
    expect(modal.submit.text).toBe("Approve");
    expect(modal.close.text).toBe("Cancel");
    expect(JSON.stringify(modal.blocks)).toMatch(
      /Approve this action\?.*Stop service.*It runs as soon as you approve it/,
    );
    expect(clicked.view!.private_metadata.length).toBeLessThanOrEqual(3000);
    // Cancelled (never submitted): still pending, nothing recorded.
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
    expect((await getActionEvents(app.ctx.db, id!)).map((e) => e.kind)).not.toContain("approve");
  });

  it("the confirmation submitted twice approves once and runs once, and the message follows", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("disable_driver", 4, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    const { view } = await clickOnly(APPROVER, posted, `approve:${id}`);
    const submit = () => submitView(app, APPROVER, view!.callback_id, view!.private_metadata, {});
    const answers = await Promise.all([submit(), submit()]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const runs = await app.ctx.db
      .select()
      .from(backendRuns)
      .where(and(eq(backendRuns.actionId, id!), eq(backendRuns.operation, "apply")));
    expect(runs.map((r) => r.count)).toEqual([1]);
    expect((await getActionEvents(app.ctx.db, id!)).filter((e) => e.kind === "approve")).toHaveLength(1);
    // The same message, updated in place: Undo now, Approve gone.
    const updated = await waitForMessage(app, id!, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );
    expect(updated.ts).toBe(posted.ts);
    await waitFor(
      async () => ephemeralsFor(app, APPROVER).some((t) => /Already approved by/.test(t)),
      5000,
      "the second submission told it was approved already",
    );
  });

  it("Undo on a completed action: a non-approver is refused at once, an approver confirms in a modal", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 5, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    const { view } = await clickOnly(APPROVER, posted, `approve:${id}`);
    await submitView(app, APPROVER, view!.callback_id, view!.private_metadata, {});
    const completed = await waitForMessage(app, id!, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );
    expect(buttonsOf(completed).find((b) => b.action_id === `undo:${id}`)).not.toHaveProperty("confirm");

    const refused = await clickOnly(BYSTANDER, completed, `undo:${id}`);
    expect(refused.view).toBeNull();
    const asked = await clickOnly(GROUP_APPROVER, completed, `undo:${id}`);
    const modal = openedModal(asked.triggerId);
    expect(modal.submit.text).toBe("Undo");
    expect(JSON.stringify(modal.blocks)).toMatch(/Undo: Start service/);
    await submitView(app, GROUP_APPROVER, asked.view!.callback_id, asked.view!.private_metadata, {});
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
  });

  it("a confirmation whose private_metadata is not ours decides nothing and says so", async () => {
    const res = await submitView(app, APPROVER, "confirm_decision", '{"id":"1; drop table"}', {});
    expect(res.status).toBe(200);
    const dm = await waitFor(
      async () =>
        app.slackApi.callsTo("chat.postMessage").find((c) => /out of date/.test(String(c.args.text))),
      5000,
      "the out-of-date answer",
    );
    expect(dm.args.channel).toBe(APPROVER);
  });
});
