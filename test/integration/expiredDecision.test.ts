// A decision after the expiry time is refused by the decision itself, with no help from the expiry
// job: here the job is removed from Redis (as a Redis that lost its data would) and the action's
// time runs out while its message still shows Approve.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { actions, backendRuns } from "../../src/db/schema.ts";
import { timerJobId } from "../../src/jobs/queues.ts";
import { decide } from "../../src/services/decide.ts";
import { ingest, statusOf } from "../support/actions.ts";
import { APPROVER, GROUP_APPROVER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { buttonsOf, click, ephemeralsFor, waitForMessage } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("expired_decision", {
    env: { POLICY_FILE: writePolicyFile({ twoPersonRule: { types: ["isolate_device"] } }) },
  });
});
afterAll(() => app?.close());

/** A posted action whose expiry job is gone and whose time ran out a moment ago. */
async function overdueAction(type: "stop_service" | "isolate_device", n: number) {
  const [id] = await ingest(
    app.ctx.db,
    [actionBody(type, n, { investigationId: undefined })],
    app.ctx.config.policy,
  );
  const message = await waitForMessage(app, id!);
  const job = await waitFor(
    async () => app.ctx.queues.timers.getJob(timerJobId({ actionId: id!, kind: "expire" })),
    10_000,
    "the expiry job",
  );
  await job.remove();
  await app.ctx.db
    .update(actions)
    .set({ expiresAt: new Date(Date.now() - 5) })
    .where(eq(actions.id, id!));
  return { id: id!, message };
}

const runs = async (id: number) =>
  app.ctx.db
    .select()
    .from(backendRuns)
    .where(and(eq(backendRuns.actionId, id), eq(backendRuns.operation, "apply")));

describe("a decision after the expiry time", () => {
  it("20 approvals a few ms late: all refused, the action expires once (audited), nothing runs", async () => {
    const { id, message } = await overdueAction("stop_service", 1);
    expect(buttonsOf(message).map((b) => b.action_id)).toContain(`approve:${id}`);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        click(app, i % 2 ? APPROVER : GROUP_APPROVER, message, `approve:${id}`),
      ),
    );
    expect(answers.every((r) => r.status === 200)).toBe(true);
    await waitFor(
      async () => ephemeralsFor(app, APPROVER).length + ephemeralsFor(app, GROUP_APPROVER).length >= 20,
      10_000,
      "20 answers",
    );
    for (const text of [...ephemeralsFor(app, APPROVER), ...ephemeralsFor(app, GROUP_APPROVER)]) {
      expect(text).toMatch(
        /^Nothing changed: Stop service on .* expired at .*, before your decision; it was not run\.$/,
      );
    }
    expect(await statusOf(app.ctx.db, id)).toBe("expired");
    const events = await getActionEvents(app.ctx.db, id);
    expect(events.filter((e) => e.kind === "approve")).toEqual([]);
    const expiries = events.filter((e) => e.kind === "expire");
    expect(expiries).toHaveLength(1);
    expect(expiries[0]).toMatchObject({
      actor: "system",
      detail: { decision: "approve", reason: "expired before this decision" },
    });
    expect(await runs(id)).toEqual([]);
    // The message shows it expired, in place.
    await waitForMessage(
      app,
      id,
      (m) => m.ts === message.ts && /Expired — not run/.test(JSON.stringify(m.blocks)),
    );
  });

  it("the second approval of a two-person action, late: refused, expired, not run", async () => {
    const { id, message } = await overdueAction("isolate_device", 2);
    // The first approval came in time.
    await app.ctx.db
      .update(actions)
      .set({ expiresAt: new Date(Date.now() + 60_000) })
      .where(eq(actions.id, id));
    await click(app, APPROVER, message, `approve:${id}`);
    await waitFor(
      async () => (await getActionEvents(app.ctx.db, id)).some((e) => e.kind === "approval_recorded"),
      10_000,
      "the first approval",
    );
    await app.ctx.db
      .update(actions)
      .set({ expiresAt: new Date(Date.now() - 5) })
      .where(eq(actions.id, id));
    await click(app, GROUP_APPROVER, message, `approve:${id}`);
    await waitFor(async () => (await statusOf(app.ctx.db, id)) === "expired", 10_000, "the expiry");
    const events = await getActionEvents(app.ctx.db, id);
    expect(events.map((e) => e.kind)).not.toContain("approve");
    expect((await getAction(app.ctx.db, id))!.decidedBy).toBeNull();
    expect(await runs(id)).toEqual([]);
  });

  it("a reject after the expiry time is refused too: the action expired, it was not rejected", async () => {
    const { id } = await overdueAction("stop_service", 3);
    const outcome = await decide(app.ctx.db, {
      actionId: id,
      decision: "reject",
      actor: APPROVER,
      comment: "late",
    });
    expect(outcome.ok).toBe(false);
    expect(await statusOf(app.ctx.db, id)).toBe("expired");
  });
});
