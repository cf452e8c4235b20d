// BACKEND=defender end to end: the real app (Postgres, Redis, workers, Slack loop against the fake
// Slack) drives a local stand-in for Entra ID and the Defender for Endpoint API.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { takeFromBudget } from "../../src/backend/defender/budget.ts";
import { runMarker } from "../../src/backend/defender/requests.ts";
import { installationId } from "../../src/db/installation.ts";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { actions } from "../../src/db/schema.ts";
import { ACTION_TYPES, type ActionType, isUndoable } from "../../src/domain/actionTypes.ts";
import { createRedis } from "../../src/lib/redis.ts";
import { decide } from "../../src/services/decide.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { REDIS_URL, uniqueName } from "../support/db.ts";
import {
  defenderEnv,
  type FakeDefender,
  type LiveResponseSession,
  type RecordedCall,
  startFakeDefender,
} from "../support/fakeDefender.ts";
import { actionBody, sha1Of } from "../support/fixtures.ts";
import { buttonsOf, click, waitForMessage } from "../support/slackUser.ts";

let fake: FakeDefender;
let app: TestApp;
/** This app's installation id, in every marker it leaves in Defender. */
let installation: string;
/** How long a live response waits for a session someone else holds, in these tests. */
const SESSION_WAIT_MS = 1500;

beforeAll(async () => {
  fake = await startFakeDefender();
  app = await startTestApp("defender", {
    env: defenderEnv(fake, { DEFENDER_LIVE_RESPONSE_WAIT_MS: String(SESSION_WAIT_MS) }),
  });
  installation = await installationId(app.ctx.db);
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

let sequence = 0;
/** A device Defender knows, with a Defender-style machine id. */
function machine(): { id: string; name: string } {
  sequence += 1;
  const device = { id: sha1Of(5000 + sequence), name: `DESKTOP-${sequence}` };
  fake.addMachine(device.id, device.name.toLowerCase());
  return device;
}

async function ingestOne(type: ActionType, overrides: Record<string, unknown> = {}, target = app) {
  sequence += 1;
  const body = actionBody(type, sequence, {
    externalId: `defender-${sequence}`,
    investigationId: undefined,
    comment: "Beaconing to a known C2",
    ...(type !== "block_url" && { device: machine() }),
    ...overrides,
  });
  const [id] = await ingest(target.ctx.db, [body]);
  return id!;
}

const approve = (id: number, target = app) =>
  decide(target.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
const requestUndo = (id: number) =>
  decide(app.ctx.db, { actionId: id, decision: "request_undo", actor: APPROVER });

/** The calls that changed something in Defender (submissions, indicator changes). */
const changes = () => fake.calls.filter((c) => c.method !== "GET" && c.path.startsWith("/api/"));
const scriptOf = (call: RecordedCall) =>
  (call.body as { Commands: { params: { key: string; value: string }[] }[] }).Commands[0]!.params.find(
    (p) => p.key === "ScriptName",
  )!.value;

/** Where each operation of each type lands in Defender: endpoint, and the script for live response. */
const DEFENDER_CALLS: Record<ActionType, { apply: string; undo?: string }> = {
  isolate_device: { apply: "isolate", undo: "unisolate" },
  restrict_code_execution: { apply: "restrictCodeExecution", undo: "unrestrictCodeExecution" },
  quarantine_file: { apply: "StopAndQuarantineFile", undo: "runliveresponse ac-restore-file.ps1" },
  remove_registry_key: {
    apply: "runliveresponse ac-remove-registry-key.ps1",
    undo: "runliveresponse ac-restore-registry-key.ps1",
  },
  stop_service: {
    apply: "runliveresponse ac-stop-service.ps1",
    undo: "runliveresponse ac-start-service.ps1",
  },
  disable_driver: {
    apply: "runliveresponse ac-disable-driver.ps1",
    undo: "runliveresponse ac-enable-driver.ps1",
  },
  remove_scheduled_task: {
    apply: "runliveresponse ac-remove-scheduled-task.ps1",
    undo: "runliveresponse ac-restore-scheduled-task.ps1",
  },
  stop_process: { apply: "runliveresponse ac-stop-process.ps1" },
  block_url: { apply: "POST /api/indicators", undo: "DELETE /api/indicators" },
  run_antivirus_scan: { apply: "runAntiVirusScan" },
  collect_investigation_package: { apply: "collectInvestigationPackage" },
};

function describeChange(call: RecordedCall): string {
  if (call.path.startsWith("/api/indicators")) return `${call.method} /api/indicators`;
  const endpoint = call.path.split("/").at(-1)!;
  return endpoint === "runliveresponse" ? `${endpoint} ${scriptOf(call)}` : endpoint;
}

// Slack first: every action posts a message, one a second, so later tests build a queue of posts.
describe("defender.slack", () => {
  it("the same Slack loop as the simulated backend: ingest → Approve → completed → Undo → undone", async () => {
    const device = machine();
    const id = await ingestOne("quarantine_file", { device });
    const posted = await waitForMessage(app, id);
    const blocks = JSON.stringify(posted.blocks);
    expect(blocks).toContain(`https://security.microsoft.com/machines/${device.id}|Device in Defender`);
    expect(blocks).toContain("https://security.microsoft.com/file/");
    expect(buttonsOf(posted).find((b) => b.action_id === `go_hunt:${id}`)!.url).toMatch(
      /^https:\/\/security\.microsoft\.com\/v2\/advanced-hunting\?query=[\w-]+&timeRangeId=week$/,
    );

    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const completed = await waitForMessage(app, id, (m) =>
      buttonsOf(m).some((b) => b.action_id === `undo:${id}`),
    );
    await click(app, APPROVER, completed, `undo:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    await waitForMessage(app, id, (m) => /undone/i.test(JSON.stringify(m.blocks)));
    expect(changes().map(describeChange)).toEqual([
      "StopAndQuarantineFile",
      "runliveresponse ac-restore-file.ps1",
    ]);
  });

  it("an action of the same type already pending on the device fails clearly, shown in the Slack message", async () => {
    const id = await ingestOne("isolate_device");
    const action = (await getAction(app.ctx.db, id))!;
    fake.seedMachineAction(action.deviceId!, "Isolate", "Isolated by analyst@contoso.com from the portal");
    const posted = await waitForMessage(app, id);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toMatch(
      /^an action of the same type is already pending on the device \(400 ActiveRequestAlreadyExists: Action is already in progress; correlation id /,
    );
    const failed = await waitForMessage(app, id, (m) => JSON.stringify(m.blocks).includes("already pending"));
    expect(buttonsOf(failed).map((b) => b.action_id)).toContain(`retry:${id}`);
  });
});

describe("defender.security", () => {
  it("a rejected client secret fails fast with a readable error in the Slack message; no secret or token leaks", async () => {
    const secret = fake.clientSecret;
    fake.clientSecret = "rotated-in-entra-id-0123456789";
    fake.revokeTokens();
    try {
      const id = await ingestOne("isolate_device");
      const posted = await waitForMessage(app, id);
      await click(app, APPROVER, posted, `approve:${id}`);
      await waitForStatuses(app.ctx.db, [id], ["failed"]);
      const message = await waitForMessage(app, id, (m) => JSON.stringify(m.blocks).includes("Failed"));
      // In the status line, where the underscore is escaped as mrkdwn.
      expect(JSON.stringify(message.blocks)).toMatch(
        /Microsoft Entra ID refused the app's sign-in \(401 invalid.{1,12}client: AADSTS7000215: Invalid client secret provided/,
      );
      // One sign-in attempt, no retry storm.
      expect(fake.callsTo("POST", /token$/)).toHaveLength(1);
      expect((await app.ctx.queues.execute.getJob(`apply-${id}-1`))!.attemptsMade).toBe(1);
    } finally {
      fake.clientSecret = secret;
    }
    const [row] = await app.ctx.sql`select string_agg(row_to_json(a)::text, '') as dump from actions a`;
    const [events] = await app.ctx.sql`select string_agg(detail::text, '') as dump from action_events`;
    const jobs = JSON.stringify(
      await app.ctx.queues.execute.getJobs(["completed", "failed", "delayed", "wait"]),
    );
    const slack = JSON.stringify([...app.slackApi.messages.values()]);
    for (const text of [app.logs.join(""), row!.dump, events!.dump, jobs, slack]) {
      expect(text).not.toContain(secret);
      for (const token of fake.issuedTokens) expect(text).not.toContain(token);
    }
  });
});

describe("defender.happy", () => {
  it.each(ACTION_TYPES)(
    "%s: apply and undo call Defender's documented endpoint and wait for the outcome",
    async (type) => {
      const id = await ingestOne(type);
      const action = (await getAction(app.ctx.db, id))!;
      expect((await approve(id)).ok).toBe(true);
      await waitForStatuses(app.ctx.db, [id], ["completed"]);

      const [submitted, ...others] = changes();
      expect(others).toEqual([]);
      expect(describeChange(submitted!)).toBe(DEFENDER_CALLS[type].apply);
      expect(submitted!.status).toBe(type === "block_url" ? 200 : 201);
      const comment = JSON.stringify(submitted!.body);
      expect(comment).toContain(
        `${runMarker(action, "apply", installation)}, approved in Slack by ${APPROVER}`,
      );
      expect(comment).toContain("Beaconing to a known C2");
      const applied = (await getAction(app.ctx.db, id))!;
      if (type === "block_url") {
        // Indicators answer at once: nothing to poll.
        expect(fake.callsTo("GET", /^\/api\/machineactions/)).toEqual([]);
        expect(fake.indicators.get(String(applied.undoData!.indicatorId))).toMatchObject({
          indicatorValue: action.entity.url,
          indicatorType: "Url",
          action: "Block",
        });
      } else {
        const machineActionId = applied.backendState!.machineActionId as string;
        expect(applied.backendState).toMatchObject({ operation: "apply", attempt: 1, status: "Succeeded" });
        expect(fake.machineActions.get(machineActionId)!.status).toBe("Succeeded");
        // Polled until final: Pending → InProgress → Succeeded.
        expect(fake.callsTo("GET", new RegExp(`^/api/machineactions/${machineActionId}$`))).toHaveLength(2);
        if (DEFENDER_CALLS[type].apply.startsWith("runliveresponse")) {
          expect(fake.callsTo("GET", /GetLiveResponseResultDownloadLink\(index=0\)$/)).toHaveLength(1);
        }
      }

      fake.reset();
      const undo = await requestUndo(id);
      if (!isUndoable(type)) {
        expect(undo.ok).toBe(false);
        return;
      }
      await waitForStatuses(app.ctx.db, [id], ["undone"]);
      const undoCalls = changes();
      expect(undoCalls.map(describeChange)).toEqual([DEFENDER_CALLS[type].undo]);
      if (type === "block_url") {
        expect(undoCalls[0]!.path).toBe(`/api/indicators/${applied.undoData!.indicatorId}`);
        expect(fake.indicators.has(String(applied.undoData!.indicatorId))).toBe(false);
      } else {
        expect(JSON.stringify(undoCalls[0]!.body)).toContain(
          runMarker({ ...applied, undoAttempt: 1 }, "undo", installation),
        );
        expect((await getAction(app.ctx.db, id))!.backendState).toMatchObject({
          operation: "undo",
          attempt: 1,
          status: "Succeeded",
        });
      }
      const kinds = (await getActionEvents(app.ctx.db, id)).map((e) => e.kind);
      expect(kinds).toEqual([
        "received",
        "approve",
        "start",
        "complete",
        "request_undo",
        "start_undo",
        "finish_undo",
      ]);
    },
  );

  it("waits for Defender in the delayed set, not in a worker: 10 pending machine actions at once with 4 slots", async () => {
    fake.pollsToFinish = 1_000_000;
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push(await ingestOne("isolate_device"));
    for (const id of ids) await approve(id);
    await waitFor(
      async () => fake.callsTo("POST", /\/isolate$/).filter((c) => c.status === 201).length === 10,
      20_000,
      "all 10 submissions",
    );
    const job = await app.ctx.queues.execute.getJob(`apply-${ids[0]}-1`);
    await waitFor(async () => (await job!.getState()) === "delayed", 10_000, "a delayed check");
    expect(await waitForStatuses(app.ctx.db, ids, ["running"])).toEqual({ running: 10 });
    fake.pollsToFinish = 1;
    expect(await waitForStatuses(app.ctx.db, ids, ["completed"])).toEqual({ completed: 10 });
    // Each was submitted once, however often it was checked.
    expect(fake.callsTo("POST", /\/isolate$/)).toHaveLength(10);
  });

  it("adopts its own submission that Defender accepted before a crash, instead of failing or submitting twice", async () => {
    const id = await ingestOne("isolate_device");
    const action = (await getAction(app.ctx.db, id))!;
    const earlier = fake.seedMachineAction(
      action.deviceId!,
      "Isolate",
      `Isolate device (${runMarker(action, "apply", installation)}, approved in Slack by ${APPROVER})`,
    );
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(fake.callsTo("POST", /\/isolate$/).map((c) => c.status)).toEqual([400]);
    expect((await getAction(app.ctx.db, id))!.backendState).toMatchObject({ machineActionId: earlier.id });
  });
});

describe("defender.sessions", () => {
  const scriptsOf = (sessions: LiveResponseSession[]) => sessions.map((session) => session.script);
  /** Each session started after the one before it had ended. */
  function oneAtATime(sessions: LiveResponseSession[]): void {
    for (const [before, after] of sessions.slice(0, -1).map((s, i) => [s, sessions[i + 1]!] as const)) {
      expect(before.endedAt).not.toBeNull();
      expect(after.startedAt).toBeGreaterThanOrEqual(before.endedAt!);
    }
  }

  it("three script-based actions approved together on one device all run, one session at a time, in decision order; their undos too", async () => {
    const device = machine();
    const service = await ingestOne("stop_service", { device });
    const task = await ingestOne("remove_scheduled_task", { device });
    const driver = await ingestOne("disable_driver", { device });
    for (const id of [service, task, driver]) expect((await approve(id)).ok).toBe(true);
    await waitForStatuses(app.ctx.db, [service, task, driver], ["completed"]);
    const applied = fake.liveResponseSessions(device.id);
    expect(scriptsOf(applied)).toEqual([
      "ac-stop-service.ps1",
      "ac-remove-scheduled-task.ps1",
      "ac-disable-driver.ps1",
    ]);
    oneAtATime(applied);
    // Never refused: the device's lease kept our own sessions apart before Defender had to.
    expect(fake.callsTo("POST", /runliveresponse$/).map((c) => c.status)).toEqual([201, 201, 201]);

    for (const id of [driver, service, task]) expect((await requestUndo(id)).ok).toBe(true);
    await waitForStatuses(app.ctx.db, [service, task, driver], ["undone"]);
    const undone = fake.liveResponseSessions(device.id).slice(3);
    expect(scriptsOf(undone)).toEqual([
      "ac-enable-driver.ps1",
      "ac-start-service.ps1",
      "ac-restore-scheduled-task.ps1",
    ]);
    oneAtATime([...applied, ...undone]);
    const [leases] = await app.ctx.sql<{ n: number }[]>`
      select count(*)::int as n from live_response_leases where device_id = ${device.id}`;
    expect(leases!.n).toBe(0);
  });

  it("a session someone else holds is waited for, then the action fails naming it, never as 'the same type'", async () => {
    const device = machine();
    const theirs = fake.seedMachineAction(device.id, "LiveResponse", "Collecting a memory dump", {
      requestor: "analyst@contoso.com",
      held: true,
    });
    const id = await ingestOne("stop_service", { device });
    // This file posts many messages at Slack's pace of about one a second: late in the file, under
    // a loaded machine, a post can wait past the default 20 s.
    const posted = await waitForMessage(app, id, () => true, 50_000);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["failed"], 50_000);
    const { error } = (await getAction(app.ctx.db, id))!;
    expect(error).toMatch(
      new RegExp(
        String.raw`^another live response session is running on ${device.name}, started by analyst@contoso\.com at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(Defender machine action ${theirs.id}: "Collecting a memory dump"\); waited \d+ s for it to end, so nothing was run — retry once it has ended$`,
      ),
    );
    expect(error).not.toMatch(/same type/);
    // Asked once; then Defender's list said the session still ran, so it was not asked again.
    expect(fake.callsTo("POST", /runliveresponse$/).map((c) => c.status)).toEqual([400]);
    const failed = await waitForMessage(
      app,
      id,
      (m) => JSON.stringify(m.blocks).includes("analyst@contoso.com"),
      50_000,
    );
    expect(buttonsOf(failed).map((b) => b.action_id)).toContain(`retry:${id}`);
    fake.endMachineAction(theirs.id);
  }, 120_000);

  it("a session someone else holds that ends within the wait lets the action run after it", async () => {
    const device = machine();
    const theirs = fake.seedMachineAction(device.id, "LiveResponse", "Triage", {
      requestor: "analyst@contoso.com",
      held: true,
    });
    const id = await ingestOne("disable_driver", { device });
    await approve(id);
    await waitFor(
      async () => (await getAction(app.ctx.db, id))!.backendState?.waitingSince !== undefined,
      10_000,
      "the wait",
    );
    fake.endMachineAction(theirs.id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(fake.callsTo("POST", /runliveresponse$/).map((c) => c.status)).toEqual([400, 201]);
    oneAtATime(fake.liveResponseSessions(device.id));
  });
});

describe("defender.installations", () => {
  const OTHER_INSTALLATION = "0123456789abcdef";

  type Marker = (action: { id: number; attempt: number; undoAttempt: number }) => string;
  const cases: [string, Marker, () => string][] = [
    [
      "the same number and attempt marked without an installation id (as every installation did before)",
      (action) => `Action Center for Slack #${action.id}, apply attempt ${action.attempt}`,
      () => fake.clientId,
    ],
    [
      "another installation's marker, requested by the same app",
      (action) => runMarker(action, "apply", OTHER_INSTALLATION),
      () => fake.clientId,
    ],
    [
      "this installation's marker, requested by someone else",
      (action) => runMarker(action, "apply", installation),
      () => "analyst@contoso.com",
    ],
  ];

  it.each(cases)(
    "a pending machine action with %s on the device is never adopted",
    async (_label, marker, requestorOf) => {
      const id = await ingestOne("isolate_device");
      const action = (await getAction(app.ctx.db, id))!;
      const theirs = fake.seedMachineAction(
        action.deviceId!,
        "Isolate",
        `Isolate device (${marker(action)}, approved in Slack by ${APPROVER})`,
        { requestor: requestorOf() },
      );
      await approve(id);
      await waitForStatuses(app.ctx.db, [id], ["failed"]);
      const failed = (await getAction(app.ctx.db, id))!;
      expect(failed.error).toMatch(/^an action of the same type is already pending on the device/);
      expect(failed.backendState?.machineActionId).toBeUndefined();
      expect(fake.machineActions.get(theirs.id)!.status).not.toBe("Succeeded");
    },
  );

  it("another installation's live response on the device is someone else's session: waited for and named", async () => {
    const id = await ingestOne("remove_registry_key");
    const action = (await getAction(app.ctx.db, id))!;
    const theirs = fake.seedMachineAction(
      action.deviceId!,
      "LiveResponse",
      `Remove registry value (${runMarker(action, "apply", OTHER_INSTALLATION)})`,
      { held: true },
    );
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toMatch(
      new RegExp(
        `^another live response session is running on .*, started by ${fake.clientId} .*${theirs.id}`,
      ),
    );
    fake.endMachineAction(theirs.id);
  });
});

describe("defender.indicators", () => {
  function seedIndicator(url: string, fields: Record<string, unknown>): string {
    const id = String(9000 + sequence);
    fake.indicators.set(id, { id, indicatorValue: url, indicatorType: "Url", ...fields });
    return id;
  }

  it("a URL someone else already blocks is left alone by apply and by undo", async () => {
    const id = await ingestOne("block_url");
    const url = (await getAction(app.ctx.db, id))!.entity.url!;
    const theirs = seedIndicator(url, { action: "Block", title: "SOC block", description: "manual" });
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    await requestUndo(id);
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    expect(changes()).toEqual([]);
    expect(fake.indicators.get(theirs)).toMatchObject({ action: "Block", title: "SOC block" });
  });

  it("a URL with a non-blocking indicator is blocked, and undo puts that indicator back as it was", async () => {
    const id = await ingestOne("block_url");
    const url = (await getAction(app.ctx.db, id))!.entity.url!;
    const before = {
      action: "Allowed",
      title: "Partner portal",
      description: "allow-listed",
      severity: "Low",
    };
    const theirs = seedIndicator(url, before);
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(fake.indicators.get(theirs)).toMatchObject({ action: "Block" });
    await requestUndo(id);
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    expect(changes().map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/indicators",
      "POST /api/indicators",
    ]);
    expect(fake.indicators.get(theirs)).toMatchObject(before);
  });

  it("its own indicator from a try that died before recording it is taken over, not posted again", async () => {
    const id = await ingestOne("block_url");
    const action = (await getAction(app.ctx.db, id))!;
    const mine = seedIndicator(action.entity.url!, {
      action: "Block",
      title: `Action Center for Slack #${id}@${installation}: block URL`,
      description: "…",
    });
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect((await getAction(app.ctx.db, id))!.undoData).toEqual({ indicatorId: mine, previous: null });
    await requestUndo(id);
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    expect(changes().map((c) => `${c.method} ${c.path}`)).toEqual([`DELETE /api/indicators/${mine}`]);
  });
});

describe("defender.error", () => {
  it.each(["Failed", "TimeOut", "Cancelled"] as const)(
    "a machine action that ends %s fails the action with Defender's reason, once",
    async (final) => {
      fake.outcome = () => final;
      const id = await ingestOne("stop_service");
      await approve(id);
      await waitForStatuses(app.ctx.db, [id], ["failed"]);
      const action = (await getAction(app.ctx.db, id))!;
      const machineActionId = action.backendState!.machineActionId;
      expect(action.error).toMatch(
        new RegExp(`^Defender's LiveResponse action ${machineActionId} on DESKTOP-\\d+ ended ${final}`),
      );
      if (final === "Cancelled")
        expect(action.error).toMatch(/by analyst@contoso\.com: Cancelled from the portal$/);
      else expect(action.error).toMatch(/: The command (failed|timed out)$/);
      expect(fake.callsTo("POST", /runliveresponse$/)).toHaveLength(1);
    },
  );

  it("a live response script that exits non-zero fails the action with its errors", async () => {
    fake.scriptResult = () => ({ exit_code: 2, script_errors: "Service EvilSvc not found" });
    const id = await ingestOne("stop_service");
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toBe(
      "live response script ac-stop-service.ps1 exited with code 2: Service EvilSvc not found",
    );
  });

  it("429 with Retry-After pauses the queue for that long, costs no attempt, and the action completes", async () => {
    fake.throttle(1, 1);
    const id = await ingestOne("isolate_device");
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const api = fake.calls.filter((c) => c.path.startsWith("/api/"));
    const throttled = api.findIndex((c) => c.status === 429);
    expect(throttled).toBe(0);
    expect(api[1]!.at - api[0]!.at).toBeGreaterThanOrEqual(990);
    // Only the finishing attempt counts: the throttled one was handed back, not charged. The store
    // records the outcome before BullMQ marks the job completed, so wait for BullMQ too.
    const job = (await app.ctx.queues.execute.getJob(`apply-${id}-1`))!;
    await waitFor(async () => (await job.getState()) === "completed", 10_000, "the job completed");
    expect((await app.ctx.queues.execute.getJob(`apply-${id}-1`))!.attemptsMade).toBe(1);
    expect((await getActionEvents(app.ctx.db, id)).map((e) => e.kind)).not.toContain("fail");
  });

  it("a server error while checking does not fail a machine action that runs on", async () => {
    fake.pollsToFinish = 1_000_000;
    const id = await ingestOne("isolate_device");
    await approve(id);
    await waitFor(async () => fake.callsTo("GET", /^\/api\/machineactions\//).length > 0, 10_000, "a check");
    fake.failNext(3, 503);
    await waitFor(
      async () =>
        ((await getAction(app.ctx.db, id))!.backendState?.lastError as string | undefined)?.includes("503"),
      10_000,
      "the outage recorded",
    );
    fake.pollsToFinish = 1;
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect((await getAction(app.ctx.db, id))!.backendState).not.toHaveProperty("lastError");
  });

  it("an expired token is replaced once, and the check goes on", async () => {
    fake.pollsToFinish = 1_000_000;
    const id = await ingestOne("isolate_device");
    await approve(id);
    await waitFor(async () => fake.callsTo("GET", /^\/api\/machineactions\//).length > 0, 10_000, "a check");
    const signIns = fake.callsTo("POST", /token$/).length;
    fake.revokeTokens();
    await waitFor(async () => fake.callsTo("POST", /token$/).length > signIns, 10_000, "a new sign-in");
    fake.pollsToFinish = 1;
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    expect(fake.calls.filter((c) => c.status === 401)).toHaveLength(1);
    expect(fake.callsTo("POST", /token$/)).toHaveLength(signIns + 1);
  });

  it("a device Defender does not know fails at once with a readable reason", async () => {
    const id = await ingestOne("isolate_device", { device: { id: "0".repeat(40), name: "GHOST-PC" } });
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toMatch(
      new RegExp(
        `^device GHOST-PC \\(id ${"0".repeat(40)}\\) is not known to Defender \\(404 ResourceNotFound`,
      ),
    );
    expect(fake.callsTo("POST", /\/isolate$/)).toHaveLength(1);
  });

  it("a quarantine without SHA-1 fails permanently without calling Defender", async () => {
    const id = await ingestOne("quarantine_file", { entity: { sha256: "c".repeat(64) } });
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toMatch(/SHA-1/);
    expect(changes()).toEqual([]);
  });

  it("a missing permission fails once and names it", async () => {
    fake.roles.delete("Machine.CollectForensics");
    fake.revokeTokens();
    const id = await ingestOne("collect_investigation_package");
    await approve(id);
    await waitForStatuses(app.ctx.db, [id], ["failed"]);
    expect((await getAction(app.ctx.db, id))!.error).toMatch(
      /^Defender refused the request: the app needs the Machine\.CollectForensics application permission/,
    );
    // The revoked token's 401, then the new token's 403: no retry.
    expect(fake.callsTo("POST", /collectInvestigationPackage$/).map((c) => c.status)).toEqual([401, 403]);
    fake.revokeTokens();
  });
});

describe("defender.limits", () => {
  /** An app of its own with tighter quotas, closed after the test so its connections go. */
  async function withQuotas(
    label: string,
    quotas: Record<string, string>,
    test: (limited: TestApp) => Promise<void>,
  ) {
    const limited = await startTestApp(label, { env: defenderEnv(fake, quotas) });
    try {
      await test(limited);
    } finally {
      await limited.close();
    }
  }

  it("a spent live response quota makes that action wait while others go on", () =>
    withQuotas("defender_lr", { DEFENDER_LIVE_RESPONSE_PER_MINUTE: "1" }, async (limited) => {
      const first = await ingestOne("stop_service", {}, limited);
      const second = await ingestOne("disable_driver", {}, limited);
      const other = await ingestOne("isolate_device", {}, limited);
      await approve(first, limited);
      await waitForStatuses(limited.ctx.db, [first], ["completed"]);
      await approve(second, limited);
      await approve(other, limited);
      await waitForStatuses(limited.ctx.db, [other], ["completed"]);
      const job = await limited.ctx.queues.execute.getJob(`apply-${second}-1`);
      await waitFor(async () => (await job!.getState()) === "delayed", 10_000, "the waiting script");
      expect((await getAction(limited.ctx.db, second))!.status).toBe("running");
      expect(fake.callsTo("POST", /runliveresponse$/)).toHaveLength(1);
    }));

  it("a spent hourly quota pauses the whole queue instead of calling Defender", () =>
    // Two calls an hour, one of them the connector's share: the worker's submission and one check.
    withQuotas(
      "defender_hour",
      { DEFENDER_CALLS_PER_HOUR: "2", DEFENDER_CONNECTOR_CALLS_PER_HOUR: "1" },
      async (limited) => {
        const id = await ingestOne("isolate_device", {}, limited);
        await approve(id, limited);
        await waitFor(
          async () => (await limited.ctx.queues.execute.getRateLimitTtl()) > 60_000,
          10_000,
          "the pause",
        );
        expect(fake.calls.filter((c) => c.path.startsWith("/api/")).map((c) => c.method)).toEqual([
          "POST",
          "GET",
        ]);
        const [row] = await limited.ctx.db.select().from(actions).where(eq(actions.id, id));
        expect(row!.status).toBe("running");
      },
    ));

  it("the shared budget allows `limit` takes per window, then says how long until it refills", async () => {
    const redis = createRedis(REDIS_URL, "queue");
    const key = `${uniqueName("budget")}:calls`;
    try {
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await takeFromBudget(redis, key, 3, 60_000));
      expect(takes.slice(0, 3)).toEqual([0, 0, 0]);
      expect(takes[3]).toBeGreaterThan(0);
      expect(takes[3]).toBeLessThanOrEqual(60_000);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});
