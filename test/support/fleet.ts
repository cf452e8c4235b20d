// The simulated fleet refuses what is not there (a file not on the device, a service not installed, a
// process not running), as Defender does. Tests that ingest actions to run them first give the fleet what
// each action names, as the detection found it: the device, and its file, service or process.
import type { Db } from "../../src/db/client.ts";
import { deviceFiles, deviceProcesses, deviceServices, devices } from "../../src/db/schema.ts";

type Body = Record<string, unknown>;
const record = (value: unknown): Body =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Body) : {};

export async function seedFleetFor(db: Db, bodies: readonly unknown[]): Promise<void> {
  const rows = { devices: [] as { id: string; name: string }[], files: [], services: [], processes: [] } as {
    devices: { id: string; name: string }[];
    files: (typeof deviceFiles.$inferInsert)[];
    services: (typeof deviceServices.$inferInsert)[];
    processes: (typeof deviceProcesses.$inferInsert)[];
  };
  for (const body of bodies.map(record)) {
    const device = record(body.device);
    const entity = record(body.entity);
    if (typeof device.id !== "string") continue;
    const deviceId = device.id;
    // An action reported as completed already found it and changed it.
    const done = body.status === "completed";
    rows.devices.push({ id: deviceId, name: typeof device.name === "string" ? device.name : deviceId });
    if (body.type === "quarantine_file" && typeof entity.sha256 === "string")
      rows.files.push({
        deviceId,
        sha256: entity.sha256,
        path: (entity.path as string) ?? null,
        state: done ? "quarantined" : "present",
      });
    if (body.type === "stop_service" && typeof entity.name === "string")
      rows.services.push({
        deviceId,
        name: entity.name,
        state: done ? "stopped" : "running",
        startType: done ? "disabled" : "automatic",
      });
    if (body.type === "stop_process" && typeof entity.pid === "number")
      rows.processes.push({
        deviceId,
        pid: entity.pid,
        imagePath: (entity.imagePath as string) ?? null,
        running: !done,
      });
  }
  if (rows.devices.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.insert(devices).values(rows.devices).onConflictDoNothing();
    if (rows.files.length > 0) await tx.insert(deviceFiles).values(rows.files).onConflictDoNothing();
    if (rows.services.length > 0) await tx.insert(deviceServices).values(rows.services).onConflictDoNothing();
    if (rows.processes.length > 0)
      await tx.insert(deviceProcesses).values(rows.processes).onConflictDoNothing();
  });
}

/** The actions of an ingest API request body, when it is one. */
export function ingestedBodies(init: RequestInit): unknown[] {
  if (typeof init.body !== "string") return [];
  try {
    const parsed = record(JSON.parse(init.body));
    return Array.isArray(parsed.actions) ? parsed.actions : [parsed];
  } catch {
    return [];
  }
}
