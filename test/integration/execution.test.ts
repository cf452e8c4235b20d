// The worker runs approved actions and their undo against the simulated fleet, exactly once.
import { and, eq, inArray } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSimulatedBackend } from "../../src/backend/simulated/backend.ts";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { getDeviceView } from "../../src/db/queries/fleet.ts";
import {
  backendRuns,
  blockedUrls,
  deviceDrivers,
  deviceFiles,
  deviceRegistryValues,
  deviceScheduledTasks,
  deviceServices,
  devices,
} from "../../src/db/schema.ts";
import { parseIngestBody } from "../../src/domain/actionInput.ts";
import { ACTION_TYPES, type ActionType, isUndoable } from "../../src/domain/actionTypes.ts";
import { decide, decideInTransaction } from "../../src/services/decide.ts";
import { ingestActions } from "../../src/services/ingest.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import { startTestApp, TEST_CHANNEL, type TestApp, waitFor } from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("execution", { env: { STUCK_AFTER_MS: "3000" } });
});
afterAll(() => app?.close());

/** How many execute jobs this process's workers finished with `outcome`. */
async function executeJobs(outcome: string): Promise<number> {
  const { values } = await app.ctx.metrics.jobs.get();
  return values.find((v) => v.labels.queue === "execute" && v.labels.outcome === outcome)?.value ?? 0;
}

/** Everything the simulated fleet knows about one device, for before/after comparisons. */
async function fleetState(deviceId: string) {
  const db = app.ctx.db;
  const [device] = await db.select().from(devices).where(eq(devices.id, deviceId));
  return {
    device: { isolated: device?.isolated, restricted: device?.codeExecutionRestricted },
    files: await db
      .select()
      .from(deviceFiles)
      .where(eq(deviceFiles.deviceId, deviceId))
      .orderBy(deviceFiles.sha256),
    registry: await db
      .select()
      .from(deviceRegistryValues)
      .where(eq(deviceRegistryValues.deviceId, deviceId))
      .orderBy(deviceRegistryValues.key, deviceRegistryValues.valueName),
    services: await db
      .select()
      .from(deviceServices)
      .where(eq(deviceServices.deviceId, deviceId))
      .orderBy(deviceServices.name),
    drivers: await db
      .select()
      .from(deviceDrivers)
      .where(eq(deviceDrivers.deviceId, deviceId))
      .orderBy(deviceDrivers.name),
    tasks: await db
      .select()
      .from(deviceScheduledTasks)
      .where(eq(deviceScheduledTasks.deviceId, deviceId))
      .orderBy(deviceScheduledTasks.path),
    urls: await db.select({ url: blockedUrls.url }).from(blockedUrls).orderBy(blockedUrls.url),
  };
}

/** Seeds the state each action type will change, so undo has something real to restore. */
async function seedDevice(deviceId: string, n: number) {
  const db = app.ctx.db;
  await db
    .insert(devices)
    .values({ id: deviceId, name: `PC-${n}` })
    .onConflictDoNothing();
  await db
    .insert(deviceFiles)
    .values({ deviceId, sha256: sha256Of(n), path: "C:\\x.exe", state: "present" })
    .onConflictDoNothing();
  await db
    .insert(deviceRegistryValues)
    .values({
      deviceId,
      key: "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
      valueName: `updater${n}`,
      valueType: "REG_SZ",
      data: `C:\\Temp\\up${n}.exe`,
    })
    .onConflictDoNothing();
  await db
    .insert(deviceServices)
    .values({ deviceId, name: `EvilSvc${n}`, state: "running", startType: "manual" })
    .onConflictDoNothing();
  await db
    .insert(deviceDrivers)
    .values({ deviceId, name: `rootkit${n}.sys`, enabled: true, startType: "boot" })
    .onConflictDoNothing();
  await db
    .insert(deviceScheduledTasks)
    .values({
      deviceId,
      path: `\\Microsoft\\Windows\\Updater${n}`,
      definition: { action: "C:\\Temp\\u.exe", trigger: "logon" },
    })
    .onConflictDoNothing();
}

const EXPECTED_EFFECT: Record<
  ActionType,
  (view: NonNullable<Awaited<ReturnType<typeof getDeviceView>>>, n: number) => void
> = {
  isolate_device: (v) => expect(v.isolated).toBe(true),
  restrict_code_execution: (v) => expect(v.codeExecutionRestricted).toBe(true),
  quarantine_file: (v, n) => expect(v.quarantinedFiles).toContain(sha256Of(n)),
  remove_registry_key: (v) =>
    expect(v.removedRegistryKeys).toContain("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
  stop_service: (v, n) => expect(v.stoppedServices).toContain(`EvilSvc${n}`),
  disable_driver: (v, n) => expect(v.disabledDrivers).toContain(`rootkit${n}.sys`),
  remove_scheduled_task: (v, n) =>
    expect(v.removedScheduledTasks).toContain(`\\Microsoft\\Windows\\Updater${n}`),
  stop_process: () => {},
  block_url: (v, n) => expect(v.blockedUrls).toContain(`https://evil${n}.example.com/payload`),
  run_antivirus_scan: () => {},
  collect_investigation_package: () => {},
};

describe("execution.happy", () => {
  it.each(ACTION_TYPES.map((type, i) => [type, i + 1] as const))(
    "%s: apply changes the device, undo restores it exactly",
    async (type, n) => {
      const deviceId = `exec-${n}`;
      await seedDevice(deviceId, n);
      const before = await fleetState(deviceId);
      const [id] = await ingest(app.ctx.db, [
        actionBody(type, n, { device: { id: deviceId, name: `PC-${n}` } }),
      ]);
      const approved = await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: "U0APPROVER" });
      expect(approved.ok).toBe(true);
      await waitForStatuses(app.ctx.db, [id!], ["completed"]);
      const view = await getDeviceView(app.ctx.db, deviceId);
      EXPECTED_EFFECT[type](view!, n);
      const action = await getAction(app.ctx.db, id!);
      expect(action!.completedAt).not.toBeNull();
      expect(action!.decidedBy).toBe("U0APPROVER");

      const undo = await decide(app.ctx.db, { actionId: id!, decision: "request_undo", actor: "U0APPROVER" });
      if (!isUndoable(type)) {
        expect(undo).toMatchObject({ ok: false, code: "cannot_undo", message: `${type} cannot be undone` });
        return;
      }
      expect(undo.ok).toBe(true);
      await waitForStatuses(app.ctx.db, [id!], ["undone"]);
      expect(await fleetState(deviceId)).toEqual(before);
      const kinds = (await getActionEvents(app.ctx.db, id!)).map((e) => [e.kind, e.actor]);
      expect(kinds).toEqual([
        ["received", "api"],
        ["approve", "U0APPROVER"],
        ["start", "system"],
        ["complete", "system"],
        ["request_undo", "U0APPROVER"],
        ["start_undo", "system"],
        ["finish_undo", "system"],
      ]);
    },
  );

  it("applying or undoing twice leaves the same state (the simulated backend is idempotent)", async () => {
    const backend = createSimulatedBackend();
    await seedDevice("idem-1", 900);
    const [id] = await ingest(app.ctx.db, [
      actionBody("stop_service", 900, { device: { id: "idem-1", name: "PC-900" } }),
    ]);
    const action = (await getAction(app.ctx.db, id!))!;
    const undoData = await app.ctx.db.transaction((tx) => backend.apply(tx, action));
    const once = await fleetState("idem-1");
    await app.ctx.db.transaction((tx) => backend.apply(tx, action));
    expect(await fleetState("idem-1")).toEqual(once);
    const withUndo = { ...action, undoData };
    await app.ctx.db.transaction((tx) => backend.undo(tx, withUndo));
    const undone = await fleetState("idem-1");
    await app.ctx.db.transaction((tx) => backend.undo(tx, withUndo));
    expect(await fleetState("idem-1")).toEqual(undone);
  });

  it("undo restores any prior service, driver, registry and isolation state (property)", async () => {
    const backend = createSimulatedBackend();
    let n = 2000;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          state: fc.constantFrom("running" as const, "stopped" as const),
          startType: fc.constantFrom("automatic" as const, "manual" as const, "disabled" as const),
          driverEnabled: fc.boolean(),
          isolated: fc.boolean(),
          regData: fc.string({ maxLength: 40 }),
          regType: fc.constantFrom("REG_SZ", "REG_DWORD", "REG_EXPAND_SZ"),
          type: fc.constantFrom(
            "stop_service" as const,
            "disable_driver" as const,
            "isolate_device" as const,
            "remove_registry_key" as const,
          ),
        }),
        async (s) => {
          n += 1;
          const deviceId = `prop-${n}`;
          const db = app.ctx.db;
          await db.insert(devices).values({ id: deviceId, name: `P-${n}`, isolated: s.isolated });
          await db
            .insert(deviceServices)
            .values({ deviceId, name: `EvilSvc${n}`, state: s.state, startType: s.startType });
          await db
            .insert(deviceDrivers)
            .values({ deviceId, name: `rootkit${n}.sys`, enabled: s.driverEnabled });
          await db.insert(deviceRegistryValues).values({
            deviceId,
            key: "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
            valueName: `updater${n}`,
            valueType: s.regType,
            data: s.regData,
          });
          const before = await fleetState(deviceId);
          const [id] = await ingest(db, [
            actionBody(s.type, n, { device: { id: deviceId, name: `P-${n}` } }),
          ]);
          const action = (await getAction(db, id!))!;
          const undoData = await db.transaction((tx) => backend.apply(tx, action));
          await db.transaction((tx) => backend.undo(tx, { ...action, undoData }));
          expect(await fleetState(deviceId)).toEqual(before);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a burst of approvals committed together runs as one batch: many actions on one device, undo restores it", async () => {
    const db = app.ctx.db;
    const deviceId = "batch-1";
    for (const n of [1960, 1961, 1962]) await seedDevice(deviceId, n);
    const before = await fleetState(deviceId);
    const device = { id: deviceId, name: "PC-1960" };
    const bodies = [
      ...[1960, 1961, 1962].map((n) => actionBody("quarantine_file", n, { device })),
      actionBody("stop_service", 1960, { device }),
      actionBody("stop_service", 1961, { device }),
      actionBody("disable_driver", 1962, { device }),
      actionBody("remove_registry_key", 1960, { device }),
      actionBody("remove_scheduled_task", 1961, { device }),
      actionBody("isolate_device", 1960, { device }),
      actionBody("block_url", 1960),
    ];
    const ids = await ingest(db, bodies);
    // Two actions on the same things: they go in successive waves of the same batch.
    const [again] = await ingest(db, [
      actionBody("quarantine_file", 1960, { device, externalId: "ext-quarantine-again-1960" }),
    ]);
    const all = [...ids, again!];
    const jobsBefore = await executeJobs("completed");
    await db.transaction(async (tx) => {
      for (const actionId of all) {
        const outcome = await decideInTransaction(tx, { actionId, decision: "approve", actor: "U0APPROVER" });
        expect(outcome.ok).toBe(true);
      }
    });
    expect(await waitForStatuses(db, all, ["completed"])).toEqual({ completed: all.length });
    expect(await executeJobs("completed")).toBeLessThan(jobsBefore + all.length);
    const view = (await getDeviceView(db, deviceId))!;
    for (const n of [1960, 1961, 1962]) EXPECTED_EFFECT.quarantine_file(view, n);
    EXPECTED_EFFECT.isolate_device(view, 1960);
    EXPECTED_EFFECT.disable_driver(view, 1962);
    const runs = await db.select().from(backendRuns).where(inArray(backendRuns.actionId, all));
    expect(runs.map((r) => r.count)).toEqual(all.map(() => 1));

    // Undo in the reverse order of the decisions: the second quarantine of the file first.
    await db.transaction(async (tx) => {
      for (const actionId of [...all].reverse()) {
        const outcome = await decideInTransaction(tx, {
          actionId,
          decision: "request_undo",
          actor: "U0APPROVER",
        });
        expect(outcome.ok).toBe(true);
      }
    });
    expect(await waitForStatuses(db, all, ["undone"])).toEqual({ undone: all.length });
    expect(await fleetState(deviceId)).toEqual(before);
  });

  it("a batch leaves the fleet and undo data that the same actions one by one leave, repeats included (property)", async () => {
    const backend = createSimulatedBackend();
    const db = app.ctx.db;
    const undoable = (row: { type: ActionType }) => isUndoable(row.type);
    let round = 0;
    // Steps on one device's few things: two of each (files, services…), its isolation and policy.
    const step = fc.record({
      type: fc.constantFrom(
        "isolate_device" as const,
        "restrict_code_execution" as const,
        "quarantine_file" as const,
        "stop_service" as const,
        "disable_driver" as const,
        "remove_scheduled_task" as const,
        "remove_registry_key" as const,
        "run_antivirus_scan" as const,
        "stop_process" as const,
      ),
      thing: fc.integer({ min: 0, max: 1 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (steps, undoInOrder) => {
          round += 1;
          const side = async (name: string) => {
            const deviceId = `same-${name}-${round}`;
            for (const n of [3000, 3001]) await seedDevice(deviceId, n);
            const seeded = await fleetState(deviceId);
            const ids = await ingest(
              db,
              steps.map((s, i) =>
                actionBody(s.type, 3000 + s.thing, {
                  device: { id: deviceId, name: `PC-${round}` },
                  externalId: `same-${name}-${round}-${i}`,
                }),
              ),
            );
            const rows = await Promise.all(ids.map(async (id) => (await getAction(db, id))!));
            const anonymous = async () =>
              JSON.parse(JSON.stringify(await fleetState(deviceId)).replaceAll(deviceId, "DEVICE"));
            return { deviceId, seeded, rows, anonymous };
          };
          const [batched, oneByOne] = [await side("b"), await side("s")];

          const batchData = await db.transaction((tx) => backend.applyAll(tx, batched.rows));
          const singleData: Record<string, unknown>[] = [];
          for (const row of oneByOne.rows) {
            singleData.push((await db.transaction((tx) => backend.applyAll(tx, [row])))[0]!);
          }
          expect(batchData).toEqual(singleData);
          expect(await batched.anonymous()).toEqual(await oneByOne.anonymous());

          const order = <T>(rows: T[]) => (undoInOrder ? rows : [...rows].reverse());
          const withUndo = (rows: typeof batched.rows) =>
            order(rows.map((row, i) => ({ ...row, undoData: batchData[i]! })).filter(undoable));
          await db.transaction((tx) => backend.undoAll(tx, withUndo(batched.rows)));
          for (const row of withUndo(oneByOne.rows)) await db.transaction((tx) => backend.undoAll(tx, [row]));
          expect(await batched.anonymous()).toEqual(await oneByOne.anonymous());
          // Undone in the reverse order of their decisions, the device is as it was.
          if (!undoInOrder) expect(await fleetState(batched.deviceId)).toEqual(batched.seeded);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("execution.error", () => {
  it("the fleet refuses what is not there: a service not installed, an unknown process id, a file on an unknown device", async () => {
    await seedDevice("known-1", 960);
    // Ingested as Defender reports them, the fleet given nothing they name (the test helper would seed it).
    const parsed = parseIngestBody({
      actions: [
        actionBody("stop_service", 961, { device: { id: "known-1", name: "PC-960" } }),
        actionBody("stop_process", 962, { device: { id: "known-1", name: "PC-960" } }),
        actionBody("quarantine_file", 963, { device: { id: "stranger-1", name: "PC-STRANGER" } }),
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const ids = (await ingestActions(app.ctx.db, parsed.actions, { channel: TEST_CHANNEL })).map((r) => r.id);
    for (const id of ids) await decide(app.ctx.db, { actionId: id, decision: "approve", actor: "U0A" });
    await waitForStatuses(app.ctx.db, ids, ["failed"]);
    const errors = await Promise.all(ids.map(async (id) => (await getAction(app.ctx.db, id))!.error));
    expect(errors).toEqual([
      "no service EvilSvc961 is installed on PC-960",
      "no process 4962 (C:\\Temp\\miner962.exe) on PC-960",
      "the file is not on PC-STRANGER",
    ]);
    // Permanent: each failed at its first attempt, with Retry left to a person.
    for (const id of ids) {
      expect((await getActionEvents(app.ctx.db, id)).map((e) => e.kind)).toEqual([
        "received",
        "approve",
        "start",
        "fail",
      ]);
    }
  });

  it("one failing action of a batch fails alone, with its reason; the rest of the batch completes once", async () => {
    const db = app.ctx.db;
    for (let n = 1970; n < 1980; n += 1) await seedDevice(`split-${n}`, n);
    await db
      .update(deviceFiles)
      .set({ state: "missing" })
      .where(and(eq(deviceFiles.deviceId, "split-1975"), eq(deviceFiles.sha256, sha256Of(1975))));
    const ids = await ingest(
      db,
      Array.from({ length: 10 }, (_, i) =>
        actionBody("quarantine_file", 1970 + i, {
          device: { id: `split-${1970 + i}`, name: `PC-${1970 + i}` },
        }),
      ),
    );
    const splitBefore = await executeJobs("split");
    await db.transaction(async (tx) => {
      for (const actionId of ids)
        await decideInTransaction(tx, { actionId, decision: "approve", actor: "U0A" });
    });
    const failing = ids[5]!;
    await waitForStatuses(db, [failing], ["failed"]);
    expect(await waitForStatuses(db, ids, ["completed", "failed"])).toEqual({ completed: 9, failed: 1 });
    expect(await executeJobs("split")).toBe(splitBefore + 1);
    expect((await getAction(db, failing))!.error).toBe("the file is no longer on the device");
    expect((await getActionEvents(db, failing)).map((e) => e.kind)).toEqual([
      "received",
      "approve",
      "start",
      "fail",
    ]);
    const runs = await db.select().from(backendRuns).where(inArray(backendRuns.actionId, ids));
    expect(runs.map((r) => [r.actionId, r.count]).sort()).toEqual(
      ids
        .filter((id) => id !== failing)
        .map((id) => [id, 1])
        .sort(),
    );
  });

  it("a file already gone fails the action with the reason; an approver's retry is a new, audited attempt", async () => {
    await seedDevice("gone-1", 950);
    await app.ctx.db
      .update(deviceFiles)
      .set({ state: "missing" })
      .where(and(eq(deviceFiles.deviceId, "gone-1"), eq(deviceFiles.sha256, sha256Of(950))));
    const [id] = await ingest(app.ctx.db, [
      actionBody("quarantine_file", 950, { device: { id: "gone-1", name: "PC-950" } }),
    ]);
    await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: "U0A" });
    await waitForStatuses(app.ctx.db, [id!], ["failed"]);
    expect((await getAction(app.ctx.db, id!))!.error).toBe("the file is no longer on the device");

    await app.ctx.db.update(deviceFiles).set({ state: "present" }).where(eq(deviceFiles.deviceId, "gone-1"));
    const retried = await decide(app.ctx.db, { actionId: id!, decision: "retry", actor: "U0B" });
    expect(retried.ok).toBe(true);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const action = (await getAction(app.ctx.db, id!))!;
    expect(action.attempt).toBe(2);
    expect(action.error).toBeNull();
    const events = await getActionEvents(app.ctx.db, id!);
    expect(events.map((e) => e.kind)).toEqual([
      "received",
      "approve",
      "start",
      "fail",
      "retry",
      "start",
      "complete",
    ]);
    expect(events.find((e) => e.kind === "fail")!.detail).toMatchObject({
      error: "the file is no longer on the device",
    });
    expect(events.find((e) => e.kind === "retry")!.actor).toBe("U0B");
    const runs = await app.ctx.db.select().from(backendRuns).where(eq(backendRuns.actionId, id!));
    expect(runs.map((r) => [r.attempt, r.count])).toEqual([[2, 1]]);
  });

  it("an offline device is retried with backoff and completes once it is back", async () => {
    await app.ctx.db.insert(devices).values({ id: "off-1", name: "PC-OFF", online: false });
    const [id] = await ingest(app.ctx.db, [
      actionBody("isolate_device", 960, { device: { id: "off-1", name: "PC-OFF" } }),
    ]);
    await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: "U0A" });
    await waitFor(
      async () => (await app.ctx.queues.execute.getJob(`apply-${id}-1`))?.attemptsMade,
      10_000,
      "a failed attempt",
    );
    expect(await statusOf(app.ctx.db, id!)).toBe("running");
    await app.ctx.db.update(devices).set({ online: true }).where(eq(devices.id, "off-1"));
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
  });

  it("refuses decisions the status machine does not allow, changing nothing", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 970)]);
    for (const decision of ["retry", "request_undo", "retry_undo"] as const) {
      const result = await decide(app.ctx.db, { actionId: id!, decision, actor: "U0A" });
      expect(result.ok).toBe(false);
    }
    await decide(app.ctx.db, { actionId: id!, decision: "reject", actor: "U0A", comment: "false positive" });
    expect(await decide(app.ctx.db, { actionId: id!, decision: "approve", actor: "U0B" })).toMatchObject({
      ok: false,
      code: "not_now",
      message: "cannot approve an action that is rejected",
    });
    const action = (await getAction(app.ctx.db, id!))!;
    expect(action).toMatchObject({ status: "rejected", decidedBy: "U0A", decisionComment: "false positive" });
  });

  it("re-dispatches an approved action whose job Redis lost", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("disable_driver", 980)]);
    // Commit an approval by hand without its outbox row: as if Redis had lost the job.
    await app.ctx
      .sql`update actions set status = 'approved', updated_at = now() - interval '1 hour' where id = ${id!}`;
    await waitForStatuses(app.ctx.db, [id!], ["completed"], 15_000);
  });
});
