// The two-person rule covers undo (issue 21, item 6): one approver cannot undo a two-person
// isolation, from its message or from the bulk-undo confirmation; a second, different approver
// can; policy `twoPersonRule.undo: false` gives one-person undo back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { decide } from "../../src/services/decide.ts";
import { BULK_UNDO_CALLBACK_ID, undoPickInputId } from "../../src/slack/actionIds.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import { APPROVER, GROUP_APPROVER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { buttonsOf, click, ephemeralsFor, submitView, waitForMessage } from "../support/slackUser.ts";

const blocksText = (message: { blocks?: unknown[] }) => JSON.stringify(message.blocks);
const kinds = async (app: TestApp, id: number) => (await getActionEvents(app.ctx.db, id)).map((e) => e.kind);

/** Isolations approved by two people and run: completed, with an Undo button on their message. */
async function completedIsolations(app: TestApp, from: number, count: number): Promise<number[]> {
  const bodies = Array.from({ length: count }, (_, i) =>
    actionBody("isolate_device", from + i, { investigationId: undefined }),
  );
  const ids = await ingest(app.ctx.db, bodies, app.ctx.config.policy);
  for (const actionId of ids) {
    for (const actor of [APPROVER, GROUP_APPROVER])
      await decide(app.ctx.db, { actionId, decision: "approve", actor });
  }
  await waitForStatuses(app.ctx.db, ids, ["completed"]);
  return ids;
}

/** The bulk-undo confirmation submitted by `user` with `ids` checked. */
async function confirmUndo(app: TestApp, user: string, ids: number[]): Promise<string> {
  const res = await submitView(app, user, BULK_UNDO_CALLBACK_ID, JSON.stringify({ more: [] }), {
    [undoPickInputId(0)]: {
      pick: { type: "checkboxes", selected_options: ids.map((id) => ({ value: String(id) })) },
    },
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe("twoPersonRule.undo (default: on)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp("two_person_undo", {
      env: { POLICY_FILE: writePolicyFile({ twoPersonRule: {} }) },
    });
  });
  afterAll(() => app?.close());

  it("one approver's Undo records an undo approval and waits; a second approver's runs the undo", async () => {
    const [id] = await completedIsolations(app, 1, 1);
    expect((await getAction(app.ctx.db, id!))!.undoApprovalsNeeded).toBe(2);
    const completed = await waitForMessage(app, id!, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );

    await click(app, APPROVER, completed, `undo:${id}`);
    const waiting = await waitForMessage(app, id!, (m) =>
      blocksText(m).includes(`undo waiting for 1 more approver (1 of 2 undo approvals: <@${APPROVER}>)`),
    );
    expect(await statusOf(app.ctx.db, id!)).toBe("completed");
    expect((await getActionEvents(app.ctx.db, id!)).at(-1)).toMatchObject({
      kind: "undo_approval_recorded",
      actor: APPROVER,
      detail: { approvals: 1, needed: 2 },
    });
    expect(await kinds(app, id!)).not.toContain("request_undo");

    // The same approver again does not count.
    const before = ephemeralsFor(app, APPROVER).length;
    await click(app, APPROVER, waiting, `undo:${id}`, { triggerId: "trigger-undo-again" });
    const answer = await waitFor(async () => ephemeralsFor(app, APPROVER)[before], 10_000, "the answer");
    expect(answer).toMatch(/already approved the undo of .*1 of 2.*same person twice/);
    expect(await statusOf(app.ctx.db, id!)).toBe("completed");

    await click(app, GROUP_APPROVER, waiting, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
    expect((await getActionEvents(app.ctx.db, id!)).find((e) => e.kind === "request_undo")).toMatchObject({
      actor: GROUP_APPROVER,
      detail: { undoApprovedBy: [APPROVER, GROUP_APPROVER] },
    });
  });

  it("the bulk-undo confirmation counts each isolation's undo approvers the same way", async () => {
    const ids = await completedIsolations(app, 10, 2);
    const first = await confirmUndo(app, APPROVER, ids);
    expect(first).toContain("Waiting for another approver");
    expect(first).toContain("Nothing was undone");
    for (const id of ids) {
      expect(await statusOf(app.ctx.db, id)).toBe("completed");
      expect(await kinds(app, id)).toContain("undo_approval_recorded");
    }
    // The same person confirming again undoes nothing.
    expect(await confirmUndo(app, APPROVER, ids)).toContain("already approved by this person");
    await confirmUndo(app, GROUP_APPROVER, ids);
    await waitForStatuses(app.ctx.db, ids, ["undone"]);
  });

  it("a type the rule does not name is undone by one approver", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 20, { investigationId: undefined })]);
    await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    expect((await getAction(app.ctx.db, id!))!.undoApprovalsNeeded).toBe(1);
    const completed = await waitForMessage(app, id!, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );
    await click(app, APPROVER, completed, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
  });
});

describe("twoPersonRule.undo: false", () => {
  let app: TestApp;
  beforeAll(async () => {
    const policy = writePolicyFile({ twoPersonRule: { undo: false } });
    app = await startTestApp("one_person_undo", { env: { POLICY_FILE: policy } });
  });
  afterAll(() => app?.close());

  it("one approver undoes a two-person isolation", async () => {
    const [id] = await completedIsolations(app, 30, 1);
    expect((await getAction(app.ctx.db, id!))!.undoApprovalsNeeded).toBe(1);
    const completed = await waitForMessage(app, id!, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );
    await click(app, APPROVER, completed, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
    expect(await kinds(app, id!)).not.toContain("undo_approval_recorded");
  });
});
