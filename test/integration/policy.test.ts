// The approval policy end to end, driven the way Slack drives the bot, with a policy file: the
// two-person rule, no self-approval, per-type approver groups, auto-approval and expiry.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { backendRuns } from "../../src/db/schema.ts";
import { sweepExpired } from "../../src/jobs/expirySweeper.ts";
import { timerJobId } from "../../src/jobs/queues.ts";
import { decide } from "../../src/services/decide.ts";
import { expireAction } from "../../src/services/expiry.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  APPROVER_GROUP,
  GROUP_APPROVER,
  startTestApp,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { buttonsOf, click, ephemeralsFor, submitView, waitForMessage } from "../support/slackUser.ts";

const ALICE = "U0ALICE001";
const TIER2_GROUP = "S0TIER2";
/** In the tier-2 group, but not among APPROVERS. */
const TIER2_OUTSIDER = "U0OUTSIDER";
const EXPIRY_MS = 4000;

let app: TestApp;
beforeAll(async () => {
  const policyFile = writePolicyFile({
    twoPersonRule: {},
    types: {
      remove_scheduled_task: { ttl: EXPIRY_MS },
      disable_driver: { approvers: [TIER2_GROUP] },
    },
    autoApprove: [
      { type: "quarantine_file", source: "antivirus", pathPrefixesRequiringApproval: ["C:\\Windows\\"] },
    ],
    requesters: { "bob@example.com": APPROVER },
  });
  app = await startTestApp("policy", {
    env: { POLICY_FILE: policyFile, APPROVERS: `${APPROVER},${APPROVER_GROUP},${ALICE}` },
    slack: {
      users: [{ id: ALICE, name: "alice", email: "alice@example.com" }],
      userGroups: { [APPROVER_GROUP]: [GROUP_APPROVER], [TIER2_GROUP]: [APPROVER, TIER2_OUTSIDER] },
    },
  });
});
afterAll(() => app?.close());

const ingestOne = async (body: Record<string, unknown>) =>
  (await ingest(app.ctx.db, [{ investigationId: undefined, ...body }], app.ctx.config.policy))[0]!;
const blocksText = (message: { blocks?: unknown[] }) => JSON.stringify(message.blocks);
const kinds = async (id: number) => (await getActionEvents(app.ctx.db, id)).map((e) => e.kind);
const applyRuns = async (id: number) =>
  (
    await app.ctx.db
      .select()
      .from(backendRuns)
      .where(and(eq(backendRuns.actionId, id), eq(backendRuns.operation, "apply")))
  ).map((r) => r.count);
/** The private answer `userId` gets to what `act` does. */
async function answerTo(userId: string, act: () => Promise<unknown>): Promise<string> {
  const before = ephemeralsFor(app, userId).length;
  await act();
  return waitFor(async () => ephemeralsFor(app, userId)[before], 10_000, `an answer to ${userId}`);
}

describe("policy.twoPersonRule", () => {
  it("isolation needs two distinct approvers; the message counts them; the same person twice does not count", async () => {
    const id = await ingestOne(actionBody("isolate_device", 1));
    expect((await getAction(app.ctx.db, id))!.approvalsNeeded).toBe(2);
    const posted = await waitForMessage(app, id);
    expect(posted.text).toMatch(/^Approval needed \(0 of 2\)/);

    await click(app, APPROVER, posted, `approve:${id}`);
    const once = await waitForMessage(app, id, (m) =>
      blocksText(m).includes(`1 of 2 approvals: <@${APPROVER}>`),
    );
    expect(once.ts).toBe(posted.ts);
    expect(buttonsOf(once).map((b) => b.action_id)).toContain(`approve:${id}`);
    expect(await statusOf(app.ctx.db, id)).toBe("pending");

    expect(await answerTo(APPROVER, () => click(app, APPROVER, once, `approve:${id}`))).toMatch(
      /already approved .*1 of 2.*same person twice/,
    );
    expect(await statusOf(app.ctx.db, id)).toBe("pending");

    await click(app, GROUP_APPROVER, once, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(await applyRuns(id)).toEqual([1]);
    const events = await getActionEvents(app.ctx.db, id);
    expect(events.filter((e) => e.kind === "approval_recorded").map((e) => e.actor)).toEqual([APPROVER]);
    expect(events.find((e) => e.kind === "approve")).toMatchObject({
      actor: GROUP_APPROVER,
      detail: { approvedBy: [APPROVER, GROUP_APPROVER] },
    });
  });

  it("a reject by any approver ends it, approvals so far notwithstanding", async () => {
    const id = await ingestOne(actionBody("restrict_code_execution", 2));
    const posted = await waitForMessage(app, id);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForMessage(app, id, (m) => blocksText(m).includes("1 of 2 approvals"));
    const done = await submitView(app, GROUP_APPROVER, "reject_action", String(id), {
      reason: { reason: { type: "plain_text_input", value: "pentest box" } },
    });
    expect(done.status).toBe(200);
    expect(await statusOf(app.ctx.db, id)).toBe("rejected");
    await waitForMessage(
      app,
      id,
      (m) =>
        /Rejected/.test(blocksText(m)) &&
        buttonsOf(m).every((b) => /^(open_investigation|go_hunt):/.test(b.action_id)),
    );
    expect(await applyRuns(id)).toEqual([]);
  });

  it("20 concurrent clicks by two approvers run the action once", async () => {
    const id = await ingestOne(actionBody("isolate_device", 3));
    const posted = await waitForMessage(app, id);
    const answered = () => ephemeralsFor(app, APPROVER).length + ephemeralsFor(app, GROUP_APPROVER).length;
    const before = answered();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        click(app, i % 2 ? APPROVER : GROUP_APPROVER, posted, `approve:${id}`),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    // One approval recorded, one that approves, 18 refusals each answered.
    await waitFor(async () => answered() - before === 18, 10_000, "18 answers");
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(await applyRuns(id)).toEqual([1]);
    const events = await kinds(id);
    expect(events.filter((k) => k === "approve")).toHaveLength(1);
    expect(events.filter((k) => k === "approval_recorded")).toHaveLength(1);
  });
});

describe("policy.selfApproval", () => {
  it("the requester of a manual action cannot approve it, found by their users.info address (cached)", async () => {
    const id = await ingestOne(
      actionBody("stop_service", 4, { source: "manual", requestedBy: "alice@example.com" }),
    );
    const posted = await waitForMessage(app, id);
    const selfApprove = () => click(app, ALICE, posted, `approve:${id}`);
    expect(await answerTo(ALICE, selfApprove)).toMatch(/You requested this action, so you cannot approve it/);
    expect(await answerTo(ALICE, selfApprove)).toMatch(/You requested this action/);
    expect(await statusOf(app.ctx.db, id)).toBe("pending");
    const lookups = app.slackApi.callsTo("users.info");
    expect(lookups.map((c) => c.args.user)).toEqual([ALICE]);
    const refusals = (await getActionEvents(app.ctx.db, id)).filter((e) => e.kind === "decision_refused");
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ actor: ALICE, detail: { reason: "requested it themselves" } });

    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
  });

  it("the policy's explicit mapping names the requester without asking Slack", async () => {
    const lookups = app.slackApi.callsTo("users.lookupByEmail").length;
    const id = await ingestOne(
      actionBody("stop_service", 5, { source: "manual", requestedBy: "Bob@Example.com" }),
    );
    const posted = await waitForMessage(app, id);
    expect(await answerTo(APPROVER, () => click(app, APPROVER, posted, `approve:${id}`))).toMatch(
      /You requested this action/,
    );
    expect(app.slackApi.callsTo("users.lookupByEmail")).toHaveLength(lookups);
    // Rejecting one's own request is fine.
    const done = await submitView(app, APPROVER, "reject_action", String(id), {
      reason: { reason: { type: "plain_text_input", value: "sent by mistake" } },
    });
    expect(done.status).toBe(200);
    expect(await statusOf(app.ctx.db, id)).toBe("rejected");
  });
});

describe("policy.approverGroups", () => {
  it("only the type's own group (and only approvers in it) may decide that type", async () => {
    const id = await ingestOne(actionBody("disable_driver", 6));
    const posted = await waitForMessage(app, id);
    expect(await answerTo(GROUP_APPROVER, () => click(app, GROUP_APPROVER, posted, `approve:${id}`))).toBe(
      `:no_entry: You are not allowed to approve disable driver actions: only <!subteam^${TIER2_GROUP}> may.`,
    );
    expect(await answerTo(TIER2_OUTSIDER, () => click(app, TIER2_OUTSIDER, posted, `approve:${id}`))).toMatch(
      /not allowed to approve actions\. Approvers:/,
    );
    expect(await statusOf(app.ctx.db, id)).toBe("pending");
    const refusals = (await getActionEvents(app.ctx.db, id)).filter((e) => e.kind === "decision_refused");
    expect(refusals.map((e) => [e.actor, e.detail.reason])).toEqual([
      [GROUP_APPROVER, "not an approver of disable_driver"],
      [TIER2_OUTSIDER, "not an approver"],
    ]);

    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
  });
});

describe("policy.autoApprove", () => {
  it("approves by policy outside the listed folders: shown in the channel and history, and run", async () => {
    const body = (n: number, path: string) =>
      actionBody("quarantine_file", n, {
        source: "antivirus",
        investigationId: undefined,
        entity: { sha256: `${n}`.padStart(64, "c"), path },
      });
    const res = await app.api("/api/v1/actions", {
      method: "POST",
      body: JSON.stringify({
        actions: [body(7, "C:\\Users\\kim\\Downloads\\evil.exe"), body(8, "C:\\Windows\\System32\\evil.dll")],
      }),
    });
    expect(res.status).toBe(201);
    const { actions } = (await res.json()) as { actions: { id: string; status: string }[] };
    expect(actions.map((a) => a.status)).toEqual(["approved", "pending"]);
    const [auto, manual] = actions.map((a) => Number(a.id)) as [number, number];

    await waitForStatuses(app.ctx.db, [auto], ["completed"]);
    expect(await applyRuns(auto)).toEqual([1]);
    expect((await getActionEvents(app.ctx.db, auto)).find((e) => e.kind === "approve")).toMatchObject({
      actor: "policy",
      detail: { reason: "auto-approval rule 1" },
    });
    const shown = await (await app.api(`/api/v1/actions/${auto}`)).json();
    expect(shown).toMatchObject({ status: "completed", decidedBy: "policy" });
    const message = await waitForMessage(app, auto, (m) => /approved by policy/.test(blocksText(m)));
    expect(buttonsOf(message).map((b) => b.action_id)).toContain(`undo:${auto}`);

    // The one in a protected folder waits for a person, with its timers; the other has none.
    await waitFor(
      async () => app.ctx.queues.timers.getJob(timerJobId({ actionId: manual, kind: "expire" })),
      10_000,
      "the expiry job",
    );
    expect(
      await app.ctx.queues.timers.getJob(timerJobId({ actionId: auto, kind: "expire" })),
    ).toBeUndefined();
    expect(await statusOf(app.ctx.db, manual)).toBe("pending");
  });
});

describe("policy.expiry", () => {
  it("an undecided action expires: its message says so in place, and a later approval changes nothing", async () => {
    const id = await ingestOne(actionBody("remove_scheduled_task", 9));
    const stored = (await getAction(app.ctx.db, id))!;
    const ttl = stored.expiresAt!.getTime() - stored.createdAt.getTime();
    expect(Math.abs(ttl - EXPIRY_MS)).toBeLessThan(1000);
    const posted = await waitForMessage(app, id);
    expect(blocksText(posted)).toContain("*Expires*");
    // What a client that has not refreshed yet still shows, Approve button and all.
    const stale = structuredClone(posted);

    await waitForStatuses(app.ctx.db, [id], ["expired"], 20_000);
    const expired = await waitForMessage(app, id, (m) => /Expired — not run/.test(blocksText(m)));
    expect(expired.ts).toBe(posted.ts);
    expect(expired.text).toMatch(/^Expired without a decision/);
    expect(buttonsOf(expired).map((b) => b.action_id)).toEqual([`open_investigation:${id}`, `go_hunt:${id}`]);
    expect((await getActionEvents(app.ctx.db, id)).find((e) => e.kind === "expire")).toMatchObject({
      actor: "system",
    });

    expect(await answerTo(APPROVER, () => click(app, APPROVER, stale, `approve:${id}`))).toMatch(
      /expired at .*, before your decision; it was not run/,
    );
    expect(await statusOf(app.ctx.db, id)).toBe("expired");
    expect(await kinds(id)).not.toContain("approve");
    expect(await applyRuns(id)).toEqual([]);
  });

  it("the sweep expires an overdue action whose expiry job was lost", async () => {
    const id = await ingestOne(actionBody("remove_scheduled_task", 10));
    const job = await waitFor(
      async () => app.ctx.queues.timers.getJob(timerJobId({ actionId: id, kind: "expire" })),
      10_000,
      "the expiry job",
    );
    await job.remove();
    const { expiresAt } = (await getAction(app.ctx.db, id))!;
    await waitFor(async () => Date.now() > expiresAt!.getTime(), 20_000, "the expiry time to pass");
    // The app sweeps every minute too; either sweep expires it, as nothing else is left to.
    await sweepExpired(app.ctx);
    expect(await statusOf(app.ctx.db, id)).toBe("expired");
  });

  it("expiry racing an approval, 100 times: exactly one of them wins each time", async () => {
    const ids = await ingest(
      app.ctx.db,
      Array.from({ length: 100 }, (_, i) =>
        actionBody(i % 2 ? "isolate_device" : "run_antivirus_scan", 200 + i, { investigationId: "inv-race" }),
      ),
      app.ctx.config.policy,
    );
    // The isolations already have one approval: the race is with the approval that completes them.
    for (const id of ids.filter((_, i) => i % 2))
      expect(
        await decide(app.ctx.db, { actionId: id, decision: "approve", actor: GROUP_APPROVER }),
      ).toMatchObject({
        ok: true,
        approvals: { count: 1, needed: 2 },
      });

    const outcomes = await Promise.all(
      ids.map(async (id, i) => {
        const approve = () => decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
        const expire = () => expireAction(app.ctx, id);
        // Either one is asked first, half the time each; both are under way before either is awaited.
        const early = i % 4 < 2 ? expire() : undefined;
        const approval = approve();
        const expiry = early ?? expire();
        return { id, approved: (await approval).ok, expired: (await expiry).ok };
      }),
    );
    for (const outcome of outcomes)
      expect(outcome.approved !== outcome.expired, JSON.stringify(outcome)).toBe(true);

    await waitForStatuses(app.ctx.db, ids, ["completed", "expired"], 60_000);
    for (const { id, approved } of outcomes) {
      const events = await kinds(id);
      expect(
        events.filter((k) => k === "approve" || k === "expire"),
        `action ${id}`,
      ).toEqual([approved ? "approve" : "expire"]);
      expect(await statusOf(app.ctx.db, id)).toBe(approved ? "completed" : "expired");
      expect(await applyRuns(id)).toEqual(approved ? [1] : []);
    }
  });
});
