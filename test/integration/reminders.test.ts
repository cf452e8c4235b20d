// Reminders and escalations of a pending action: delayed jobs created with the action, posted
// while it still waits, never after a decision, and still posted after the process restarts.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { QUEUE_NAMES, type TimerJob, timerJobId } from "../../src/jobs/queues.ts";
import { type FakeMessage, type FakeSlackApi, startFakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { decide } from "../../src/services/decide.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  APPROVER_GROUP,
  GROUP_APPROVER,
  startTestApp,
  TEST_CHANNEL,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { click, waitForMessage } from "../support/slackUser.ts";

const ESCALATION_CHANNEL = "C0ESCALATE";
const LEADS_GROUP = "S0LEADS01";
const APPROVER_MENTIONS = `<@${APPROVER}>, <!subteam^${APPROVER_GROUP}>`;

/** Reminder and escalation a few seconds after arrival: after the post, before anyone would decide. */
function timedPolicy(remindMs: number, escalateMs: number): string {
  return writePolicyFile({
    reminder: { after: remindMs },
    escalation: { after: escalateMs, channel: ESCALATION_CHANNEL, mention: [LEADS_GROUP] },
    // The built-in 15 minutes for isolation would otherwise win over the policy-wide reminder.
    types: { isolate_device: { reminder: null } },
  });
}

const reminderIn = (message: FakeMessage) =>
  message.replies.find((r) => r.text.startsWith(":bell: *Reminder:*"));
const escalationsOf = (slackApi: FakeSlackApi, ts: string) =>
  (slackApi.messages.get(ESCALATION_CHANNEL) ?? []).filter((m) => m.text.includes(`p${ts.replace(".", "")}`));

/** The audit events of reminders and escalations, once both are recorded (just after their posts). */
async function sentEvents(app: TestApp, id: number) {
  return waitFor(
    async () => {
      const sent = (await getActionEvents(app.ctx.db, id)).filter(
        (e) => e.kind === "reminded" || e.kind === "escalated",
      );
      return sent.length === 2 ? sent.map((e) => [e.kind, e.actor]) : undefined;
    },
    10_000,
    "the reminder and escalation events",
  );
}

describe("reminders", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp("reminders", { env: { POLICY_FILE: timedPolicy(2000, 3500) } });
  });
  afterAll(() => app?.close());

  it("a waiting action gets a reminder in its thread mentioning the approvers, then an escalation", async () => {
    const [id] = await ingest(
      app.ctx.db,
      [actionBody("stop_service", 1, { investigationId: undefined })],
      app.ctx.config.policy,
    );
    const posted = await waitForMessage(app, id!);
    const reminder = await waitFor(async () => reminderIn(posted), 20_000, "the reminder");
    expect(reminder.text).toContain("Stop service");
    expect(reminder.text).toContain(APPROVER_MENTIONS);

    const escalation = await waitFor(
      async () => escalationsOf(app.slackApi, posted.ts)[0],
      20_000,
      "the escalation",
    );
    expect(escalation.text).toMatch(/^:rotating_light: \*Escalation:\* \*Stop service\*/);
    expect(escalation.text).toContain(`<!subteam^${LEADS_GROUP}>`);
    expect(escalation.text).toContain(
      `/archives/${TEST_CHANNEL}/p${posted.ts.replace(".", "")}|Open the request>`,
    );

    expect(await sentEvents(app, id!)).toEqual([
      ["reminded", "system"],
      ["escalated", "system"],
    ]);

    // Once decided, the audit trail goes to the thread; the reminder is not repeated in it.
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitFor(
      async () => posted.replies.some((r) => /\*Approved\*/.test(r.text)),
      20_000,
      "the audit line",
    );
    expect(posted.replies.filter((r) => /Reminder/.test(r.text))).toEqual([reminder]);
  });

  it("an investigation's batch in one message gets one reminder and one escalation for all of it", async () => {
    const ids = await ingest(
      app.ctx.db,
      [0, 1, 2].map((n) => actionBody("stop_process", 10 + n, { investigationId: "inv-reminded" })),
      app.ctx.config.policy,
    );
    const posted = await waitForMessage(app, ids[0]!);
    await waitFor(async () => escalationsOf(app.slackApi, posted.ts).length > 0, 20_000, "the escalation");
    for (const id of ids) await sentEvents(app, id);
    const reminders = posted.replies.filter((r) => /Reminder/.test(r.text));
    expect(reminders.map((r) => r.text)).toEqual([
      expect.stringMatching(/3 actions are still waiting for approval/),
    ]);
    expect(escalationsOf(app.slackApi, posted.ts)).toHaveLength(1);
    // Every action's own timers ran, and found theirs sent already.
    const outcomes = await Promise.all(
      ids.flatMap((actionId) =>
        (["remind", "escalate"] as const).map(async (kind) => {
          const job = await app.ctx.queues.timers.getJob(timerJobId({ actionId, kind }));
          await waitFor(async () => (await job!.isCompleted()) || undefined, 10_000, `${kind} job`);
          return (await app.ctx.queues.timers.getJob(job!.id!))!.returnvalue;
        }),
      ),
    );
    expect(outcomes.filter((o) => o === "sent")).toHaveLength(2);
    expect(outcomes.filter((o) => o === "already_sent")).toHaveLength(4);
  });

  it("no reminder and no escalation once the action is decided", async () => {
    const [id] = await ingest(
      app.ctx.db,
      [actionBody("disable_driver", 2, { investigationId: undefined })],
      app.ctx.config.policy,
    );
    // Decided at once, well before the reminder is due.
    expect(
      await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: GROUP_APPROVER }),
    ).toMatchObject({
      ok: true,
    });
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const posted = await waitForMessage(app, id!);
    // Both timers ran and found nothing left to remind of.
    for (const kind of ["remind", "escalate"] as const) {
      const job = await app.ctx.queues.timers.getJob(timerJobId({ actionId: id!, kind }));
      expect(job, kind).toBeDefined();
      await waitFor(async () => (await job!.isCompleted()) || undefined, 20_000, `the ${kind} job`);
      const done = await app.ctx.queues.timers.getJob(job!.id!);
      expect(done!.returnvalue).toBe("not_pending");
    }
    expect(reminderIn(posted)).toBeUndefined();
    expect(escalationsOf(app.slackApi, posted.ts)).toEqual([]);
    const kinds = (await getActionEvents(app.ctx.db, id!)).map((e) => e.kind);
    expect(kinds).not.toContain("reminded");
    expect(kinds).not.toContain("escalated");
  });
});

describe("reminders.restart", () => {
  it("reminder and escalation still come when the process that took the action has stopped", async () => {
    const database = await createTestDatabase("reminders_restart");
    const prefix = uniqueName("reminders_restart");
    const slackApi = await startFakeSlackApi({
      validateMessage,
      validateView,
      userGroups: { [APPROVER_GROUP]: [GROUP_APPROVER] },
    });
    const env = { POLICY_FILE: timedPolicy(4000, 5500), QUEUE_PREFIX: prefix };
    const first = await startTestApp("reminders_restart", { databaseUrl: database.url, slackApi, env });
    let firstRunning = true;
    let second: TestApp | undefined;
    const probe = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const timers = new Queue<TimerJob>(QUEUE_NAMES.timers, { connection: probe, prefix });
    try {
      const [id] = await ingest(
        first.ctx.db,
        [actionBody("quarantine_file", 3, { investigationId: undefined })],
        first.ctx.config.policy,
      );
      const remindId = timerJobId({ actionId: id!, kind: "remind" });
      await waitFor(async () => timers.getJob(remindId), 10_000, "the reminder job");
      // Stopped, not closed: its queues and database stay for the process that replaces it.
      await first.stop();
      firstRunning = false;
      expect(await timers.getJobState(remindId)).toBe("delayed");
      expect(await timers.getJobState(timerJobId({ actionId: id!, kind: "escalate" }))).toBe("delayed");

      second = await startTestApp("reminders_restart", { databaseUrl: database.url, slackApi, env });
      const posted = await waitForMessage(second, id!);
      const reminder = await waitFor(async () => reminderIn(posted), 20_000, "the reminder");
      expect(reminder.text).toContain(APPROVER_MENTIONS);
      await waitFor(async () => escalationsOf(slackApi, posted.ts).length === 1, 20_000, "the escalation");
      expect(await sentEvents(second, id!)).toEqual([
        ["reminded", "system"],
        ["escalated", "system"],
      ]);
    } finally {
      if (firstRunning) await first.stop();
      await second?.close();
      await obliterateQueues(prefix);
      await timers.close();
      probe.disconnect();
      await slackApi.close();
      await database.drop();
    }
  });
});
