// Shortcuts for tests that act on the store the way the program does.
import { eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../src/db/client.ts";
import { actions } from "../../src/db/schema.ts";
import { parseIngestBody } from "../../src/domain/actionInput.ts";
import type { Policy } from "../../src/domain/policy.ts";
import type { Status } from "../../src/domain/status.ts";
import { ingestActions } from "../../src/services/ingest.ts";
import { TEST_CHANNEL, waitFor } from "./app.ts";
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
