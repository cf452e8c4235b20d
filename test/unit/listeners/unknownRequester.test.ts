// What a requester nobody can put to a Slack user means for an approval, as policy
// `unknownRequester` says (issue 21, item 5): a second approver (the default), a refusal, or
// nothing more. Decided through the Slack handler on a real store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../../src/db/queries/actions.ts";
import type { UnknownRequester } from "../../../src/domain/policy.ts";
import type { SlackDeps } from "../../../src/slack/deps.ts";
import { decideInSlack } from "../../../src/slack/handlers/decide.ts";
import { APPROVER, GROUP_APPROVER, type Harness, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("unknown_requester");
});
afterAll(() => h?.close());

function withSetting(unknownRequester: UnknownRequester): SlackDeps {
  const { config } = h.deps.ctx;
  return {
    ...h.deps,
    ctx: { ...h.deps.ctx, config: { ...config, policy: { ...config.policy, unknownRequester } } },
  };
}

// A bare name that is not the approver's handle ("approver") or address: nobody can say who it is.
const manual = () =>
  h.action("stop_service", { source: "manual", requestedBy: "dave", investigationId: undefined });
const approve = (deps: SlackDeps, actionId: number, userId = APPROVER) =>
  decideInSlack(deps, { userId, actionId, decision: "approve" });

describe("policy.unknownRequester", () => {
  it("second_approver: the approval counts, and a second, different approver runs it", async () => {
    const deps = withSetting("second_approver");
    const id = await manual();
    expect(await approve(deps, id)).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Approval recorded \(1 of 2\)/),
    });
    expect((await getAction(h.db, id))!).toMatchObject({ status: "pending", approvalsNeeded: 2 });
    expect(await approve(deps, id)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/already approved/),
    });
    expect(await approve(deps, id, GROUP_APPROVER)).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Approved/),
    });
    expect((await getAction(h.db, id))!.status).toBe("approved");
  });

  it("refuse: nobody may approve it, and each refusal is audited", async () => {
    const deps = withSetting("refuse");
    const id = await manual();
    const answer = await approve(deps, id);
    expect(answer).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Nobody can tell who requested this action/),
    });
    expect((await getAction(h.db, id))!.status).toBe("pending");
    expect((await getActionEvents(h.db, id)).at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: APPROVER,
      detail: { reason: "requester unknown" },
    });
    // Rejecting is still anybody's to do.
    expect(
      await decideInSlack(deps, { userId: APPROVER, actionId: id, decision: "reject", comment: "who?" }),
    ).toMatchObject({ ok: true });
  });

  it("allow: one approver approves it, as if the requester were somebody else", async () => {
    const id = await manual();
    expect(await approve(withSetting("allow"), id)).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Approved/),
    });
    expect((await getAction(h.db, id))!).toMatchObject({ status: "approved", approvalsNeeded: 1 });
  });
});
