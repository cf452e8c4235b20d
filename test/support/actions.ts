// Shortcuts for tests that act on the store the way the program does.
import { eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../src/db/client.ts";
import { actions, deviceFiles, devices } from "../../src/db/schema.ts";
import { parseIngestBody } from "../../src/domain/actionInput.ts";
import type { Policy } from "../../src/domain/policy.ts";
import type { Status } from "../../src/domain/status.ts";
import { decide } from "../../src/services/decide.ts";
import { ingestActions } from "../../src/services/ingest.ts";
import { APPROVER, TEST_CHANNEL, waitFor } from "./app.ts";
import { actionBody, sha256Of } from "./fixtures.ts";
import { seedFleetFor } from "./fleet.ts";

/**
 * Stores actions as the ingest API does, the simulated fleet given what they name (fleet.ts); pass the
 * app's policy when it runs with a policy file.
 */
export async function ingest(db: Db, bodies: Record<string, unknown>[], policy?: Policy): Promise<number[]> {
  await seedFleetFor(db, bodies);
  const parsed = parseIngestBody({ actions: bodies });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return (await ingestActions(db, parsed.actions, { channel: TEST_CHANNEL, policy })).map((r) => r.id);
}

export async function statusOf(db: Db, id: number): Promise<Status> {
  const [row] = await db.select({ status: actions.status }).from(actions).where(eq(actions.id, id));
  return row!.status;
}

/** Waits until every action has one of `statuses`; returns the count by status. */
export async function waitForStatuses(db: Db, ids: number[], statuses: Status[], timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const rows = await db
        .select({ status: actions.status, n: sql<number>`count(*)::int` })
        .from(actions)
        .where(inArray(actions.id, ids))
        .groupBy(actions.status);
      const done = rows.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + r.n, 0);
      return done === ids.length ? Object.fromEntries(rows.map((r) => [r.status, r.n])) : undefined;
    },
    timeoutMs,
    `${ids.length} actions to reach ${statuses.join("/")}`,
  );
}

/**
 * A quarantine of a file already gone from its (new, simulated) device, approved: it fails, so
 * Retry is on offer, and a retry fails again the same way. `n` names the device and the file.
 */
export async function failedQuarantine(db: Db, n: number): Promise<number> {
  const device = { id: `gone-file-${n}`, name: `PC-G${n}` };
  await db.insert(devices).values(device);
  await db
    .insert(deviceFiles)
    .values({ deviceId: device.id, sha256: sha256Of(n), path: "C:\\x.exe", state: "missing" });
  const [id] = await ingest(db, [actionBody("quarantine_file", n, { investigationId: undefined, device })]);
  await decide(db, { actionId: id!, decision: "approve", actor: APPROVER });
  await waitForStatuses(db, [id!], ["failed"]);
  return id!;
}
