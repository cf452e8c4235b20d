// The simulated fleet as the contract's device view shows it.
import { and, asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import {
  blockedUrls,
  deviceDrivers,
  deviceFiles,
  deviceRegistryValues,
  deviceScheduledTasks,
  deviceServices,
  devices,
} from "../schema.ts";

export async function getDeviceView(db: DbOrTx, id: string) {
  const [device] = await db.select().from(devices).where(eq(devices.id, id));
  if (!device) return undefined;
  const [files, services, drivers, registry, tasks, urls] = await Promise.all([
    db
      .select({ sha256: deviceFiles.sha256 })
      .from(deviceFiles)
      .where(and(eq(deviceFiles.deviceId, id), eq(deviceFiles.state, "quarantined")))
      .orderBy(asc(deviceFiles.sha256)),
    db
      .select({ name: deviceServices.name })
      .from(deviceServices)
      .where(and(eq(deviceServices.deviceId, id), eq(deviceServices.state, "stopped")))
      .orderBy(asc(deviceServices.name)),
    db
      .select({ name: deviceDrivers.name })
      .from(deviceDrivers)
      .where(and(eq(deviceDrivers.deviceId, id), eq(deviceDrivers.enabled, false)))
      .orderBy(asc(deviceDrivers.name)),
    db
      .selectDistinct({ key: deviceRegistryValues.key })
      .from(deviceRegistryValues)
      .where(and(eq(deviceRegistryValues.deviceId, id), eq(deviceRegistryValues.present, false)))
      .orderBy(asc(deviceRegistryValues.key)),
    db
      .select({ path: deviceScheduledTasks.path })
      .from(deviceScheduledTasks)
      .where(and(eq(deviceScheduledTasks.deviceId, id), eq(deviceScheduledTasks.present, false)))
      .orderBy(asc(deviceScheduledTasks.path)),
    db.select({ url: blockedUrls.url }).from(blockedUrls).orderBy(asc(blockedUrls.url)),
  ]);
  return {
    id: device.id,
    name: device.name,
    online: device.online,
    isolated: device.isolated,
    codeExecutionRestricted: device.codeExecutionRestricted,
    quarantinedFiles: files.map((f) => f.sha256),
    stoppedServices: services.map((s) => s.name),
    disabledDrivers: drivers.map((d) => d.name),
    removedRegistryKeys: registry.map((r) => r.key),
    removedScheduledTasks: tasks.map((t) => t.path),
    blockedUrls: urls.map((u) => u.url),
  };
}
