// The default backend: a fleet of devices kept in Postgres. Each action type changes the state
// Defender would change, saves what it replaced, and undo puts it back exactly.
import { and, eq, sql } from "drizzle-orm";
import type { Tx } from "../db/client.ts";
import {
  type ActionRow,
  backendRuns,
  blockedUrls,
  deviceDrivers,
  deviceFiles,
  deviceProcesses,
  deviceRegistryValues,
  deviceScheduledTasks,
  deviceServices,
  devices,
} from "../db/schema.ts";
import { ACTION_TYPE_INFO, isUndoable } from "../domain/actionTypes.ts";
import { BackendError, type InTransactionBackend, type UndoData } from "./types.ts";

type RegistryValue = { valueName: string; valueType: string; data: string; present: boolean };

export function createSimulatedBackend(): InTransactionBackend {
  return {
    name: "simulated",
    runsInTransaction: true,
    async apply(tx, action) {
      const device = await requireOnlineDevice(tx, action);
      const undoData = await applyToFleet(tx, action, device);
      await countRun(tx, action, "apply");
      return undoData;
    },
    async undo(tx, action) {
      if (!isUndoable(action.type)) {
        throw new BackendError(`${ACTION_TYPE_INFO[action.type].label} cannot be undone`, false);
      }
      const device = await requireOnlineDevice(tx, action);
      await undoOnFleet(tx, action, device, action.undoData ?? {});
      await countRun(tx, action, "undo");
    },
  };
}

async function requireOnlineDevice(tx: Tx, action: ActionRow): Promise<string> {
  if (!ACTION_TYPE_INFO[action.type].needsDevice) return "";
  if (!action.deviceId) throw new BackendError("the action names no device", false);
  const [device] = await tx.select().from(devices).where(eq(devices.id, action.deviceId)).for("update");
  if (!device)
    throw new BackendError(`device ${action.deviceName ?? action.deviceId} is not in the fleet`, false);
  if (!device.online) throw new BackendError(`device ${device.name} is offline`, true);
  return device.id;
}

async function countRun(tx: Tx, action: ActionRow, operation: "apply" | "undo"): Promise<void> {
  const attempt = operation === "apply" ? action.attempt : action.undoAttempt;
  await tx
    .insert(backendRuns)
    .values({ actionId: action.id, operation, attempt })
    .onConflictDoUpdate({
      target: [backendRuns.actionId, backendRuns.operation, backendRuns.attempt],
      set: { count: sql`${backendRuns.count} + 1`, lastRunAt: sql`now()` },
    });
}

async function applyToFleet(tx: Tx, action: ActionRow, deviceId: string): Promise<UndoData> {
  const entity = action.entity;
  switch (action.type) {
    case "isolate_device": {
      const [before] = await tx.select().from(devices).where(eq(devices.id, deviceId));
      await tx.update(devices).set({ isolated: true }).where(eq(devices.id, deviceId));
      return { isolated: before!.isolated };
    }
    case "restrict_code_execution": {
      const [before] = await tx.select().from(devices).where(eq(devices.id, deviceId));
      await tx.update(devices).set({ codeExecutionRestricted: true }).where(eq(devices.id, deviceId));
      return { codeExecutionRestricted: before!.codeExecutionRestricted };
    }
    case "quarantine_file": {
      const sha256 = entity.sha256!;
      const where = and(eq(deviceFiles.deviceId, deviceId), eq(deviceFiles.sha256, sha256));
      const [file] = await tx.select().from(deviceFiles).where(where);
      if (file?.state === "missing") throw new BackendError("the file is no longer on the device", false);
      if (!file) {
        // The detection saw the file there; the simulated fleet learns of it now.
        await tx
          .insert(deviceFiles)
          .values({ deviceId, sha256, path: entity.path ?? null, state: "quarantined" });
        return { state: "present" };
      }
      await tx.update(deviceFiles).set({ state: "quarantined" }).where(where);
      return { state: file.state };
    }
    case "remove_registry_key": {
      const key = entity.key!;
      const scope = [eq(deviceRegistryValues.deviceId, deviceId), eq(deviceRegistryValues.key, key)];
      if (entity.valueName !== undefined) scope.push(eq(deviceRegistryValues.valueName, entity.valueName));
      let values = await tx
        .select()
        .from(deviceRegistryValues)
        .where(and(...scope));
      if (values.length === 0) {
        const [created] = await tx
          .insert(deviceRegistryValues)
          .values({ deviceId, key, valueName: entity.valueName ?? "", data: "", present: true })
          .returning();
        values = [created!];
      }
      await tx
        .update(deviceRegistryValues)
        .set({ present: false })
        .where(and(...scope));
      const saved: RegistryValue[] = values.map((v) => ({
        valueName: v.valueName,
        valueType: v.valueType,
        data: v.data,
        present: v.present,
      }));
      return { values: saved };
    }
    case "stop_service": {
      const where = and(eq(deviceServices.deviceId, deviceId), eq(deviceServices.name, entity.name!));
      const [service] = await tx.select().from(deviceServices).where(where);
      if (!service) {
        await tx
          .insert(deviceServices)
          .values({ deviceId, name: entity.name!, state: "stopped", startType: "disabled" });
        return { state: "running", startType: "automatic" };
      }
      await tx.update(deviceServices).set({ state: "stopped", startType: "disabled" }).where(where);
      return { state: service.state, startType: service.startType };
    }
    case "disable_driver": {
      const where = and(eq(deviceDrivers.deviceId, deviceId), eq(deviceDrivers.name, entity.name!));
      const [driver] = await tx.select().from(deviceDrivers).where(where);
      if (!driver) {
        await tx.insert(deviceDrivers).values({ deviceId, name: entity.name!, enabled: false });
        return { enabled: true };
      }
      await tx.update(deviceDrivers).set({ enabled: false }).where(where);
      return { enabled: driver.enabled };
    }
    case "remove_scheduled_task": {
      const where = and(
        eq(deviceScheduledTasks.deviceId, deviceId),
        eq(deviceScheduledTasks.path, entity.path!),
      );
      const [task] = await tx.select().from(deviceScheduledTasks).where(where);
      if (!task) {
        const definition = { path: entity.path!, note: "definition captured at removal" };
        await tx
          .insert(deviceScheduledTasks)
          .values({ deviceId, path: entity.path!, definition, present: false });
        return { present: true, definition };
      }
      await tx.update(deviceScheduledTasks).set({ present: false }).where(where);
      return { present: task.present, definition: task.definition };
    }
    case "stop_process": {
      const scope = [eq(deviceProcesses.deviceId, deviceId)];
      if (entity.pid !== undefined) scope.push(eq(deviceProcesses.pid, entity.pid));
      if (entity.imagePath !== undefined) scope.push(eq(deviceProcesses.imagePath, entity.imagePath));
      await tx
        .update(deviceProcesses)
        .set({ running: false })
        .where(and(...scope));
      return {};
    }
    case "block_url": {
      const [existing] = await tx.select().from(blockedUrls).where(eq(blockedUrls.url, entity.url!));
      if (!existing) await tx.insert(blockedUrls).values({ url: entity.url!, actionId: action.id });
      return { wasBlocked: existing !== undefined };
    }
    case "run_antivirus_scan":
    case "collect_investigation_package":
      // Nothing on the device changes; the run itself (counted in backend_runs) is the effect.
      return {};
  }
}

async function undoOnFleet(tx: Tx, action: ActionRow, deviceId: string, saved: UndoData): Promise<void> {
  const entity = action.entity;
  switch (action.type) {
    case "isolate_device":
      await tx
        .update(devices)
        .set({ isolated: saved.isolated === true })
        .where(eq(devices.id, deviceId));
      return;
    case "restrict_code_execution":
      await tx
        .update(devices)
        .set({ codeExecutionRestricted: saved.codeExecutionRestricted === true })
        .where(eq(devices.id, deviceId));
      return;
    case "quarantine_file":
      await tx
        .update(deviceFiles)
        .set({ state: (saved.state as "present" | "quarantined") ?? "present" })
        .where(and(eq(deviceFiles.deviceId, deviceId), eq(deviceFiles.sha256, entity.sha256!)));
      return;
    case "remove_registry_key":
      for (const value of (saved.values as RegistryValue[] | undefined) ?? []) {
        await tx
          .insert(deviceRegistryValues)
          .values({ deviceId, key: entity.key!, ...value })
          .onConflictDoUpdate({
            target: [deviceRegistryValues.deviceId, deviceRegistryValues.key, deviceRegistryValues.valueName],
            set: { valueType: value.valueType, data: value.data, present: value.present },
          });
      }
      return;
    case "stop_service":
      await tx
        .update(deviceServices)
        .set({
          state: (saved.state as "running" | "stopped") ?? "running",
          startType: (saved.startType as "automatic" | "manual" | "disabled") ?? "automatic",
        })
        .where(and(eq(deviceServices.deviceId, deviceId), eq(deviceServices.name, entity.name!)));
      return;
    case "disable_driver":
      await tx
        .update(deviceDrivers)
        .set({ enabled: saved.enabled !== false })
        .where(and(eq(deviceDrivers.deviceId, deviceId), eq(deviceDrivers.name, entity.name!)));
      return;
    case "remove_scheduled_task":
      await tx
        .update(deviceScheduledTasks)
        .set({
          present: saved.present !== false,
          definition: (saved.definition as Record<string, unknown>) ?? {},
        })
        .where(and(eq(deviceScheduledTasks.deviceId, deviceId), eq(deviceScheduledTasks.path, entity.path!)));
      return;
    case "block_url":
      if (saved.wasBlocked !== true) await tx.delete(blockedUrls).where(eq(blockedUrls.url, entity.url!));
      return;
    case "stop_process":
    case "run_antivirus_scan":
    case "collect_investigation_package":
      throw new BackendError(`${ACTION_TYPE_INFO[action.type].label} cannot be undone`, false);
  }
}
