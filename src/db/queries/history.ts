// Queries behind the history surfaces: paging both ways, devices by name, the other instances of
// a quarantined file, and the counts of the App Home.
import { and, asc, count, eq, gt, inArray, min, notInArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { type ActionRow, actions, deviceFiles, devices } from "../schema.ts";
import { type ActionFilters, filterConditions, listActions } from "./actions.ts";

/** Where a page starts: older than `before` (Next, or the first page without it), or newer than `after` (Previous). */
export type PagePosition = { before?: number } | { after: number };

export type HistoryPage = {
  /** Newest first. */
  actions: ActionRow[];
  /** The `after` cursor of the newer page, when there is one. */
  newer: number | null;
  /** The `before` cursor of the older page, when there is one. */
  older: number | null;
};

/** One page of actions, newest first, keyset-paginated on the id in either direction. */
export async function listHistoryPage(
  db: DbOrTx,
  filters: ActionFilters,
  position: PagePosition,
  pageSize: number,
): Promise<HistoryPage> {
  if ("after" in position) {
    const rows = await db
      .select()
      .from(actions)
      .where(and(...filterConditions(filters), gt(actions.id, position.after)))
      .orderBy(asc(actions.id))
      .limit(pageSize + 1);
    const page = rows.slice(0, pageSize).reverse();
    return {
      actions: page,
      newer: rows.length > pageSize ? page[0]!.id : null,
      // Previous came from an older page, which is still there: ids are never deleted.
      older: page.at(-1)?.id ?? null,
    };
  }
  const page = await listActions(db, filters, { limit: pageSize, before: position.before });
  return {
    actions: page.actions,
    newer: position.before !== undefined && page.actions.length > 0 ? page.actions[0]!.id : null,
    older: page.nextCursor,
  };
}

/** The ids of the devices with this id or this name (names compared without case). */
export async function findDeviceIds(db: DbOrTx, nameOrId: string): Promise<string[]> {
  const rows = await db
    .select({ id: devices.id })
    .from(devices)
    .where(sql`${devices.id} = ${nameOrId} or lower(${devices.name}) = lower(${nameOrId})`)
    .orderBy(asc(devices.id));
  return rows.map((row) => row.id);
}

/**
 * The other instances of the files that `selected` quarantined: completed quarantines of the
 * same SHA-256 on devices not in the selection for that file, one per device (the oldest, whose
 * undo data holds the state before any quarantine). A device where the simulated fleet knows the
 * file is no longer quarantined is left out; elsewhere the completed status is the evidence.
 */
export async function otherQuarantinedInstances(
  db: DbOrTx,
  selected: readonly Pick<ActionRow, "id" | "type" | "sha256" | "deviceId">[],
  limit: number,
): Promise<ActionRow[]> {
  const files = selected.filter((a) => a.type === "quarantine_file" && a.sha256 && a.deviceId);
  if (files.length === 0) return [];
  const rows = await db
    .selectDistinctOn([actions.sha256, actions.deviceId])
    .from(actions)
    .where(
      and(
        eq(actions.type, "quarantine_file"),
        eq(actions.status, "completed"),
        inArray(actions.sha256, [...new Set(files.map((a) => a.sha256!))]),
        notInArray(
          actions.id,
          selected.map((a) => a.id),
        ),
        sql`(${actions.sha256}, ${actions.deviceId}) not in (${sql.join(
          files.map((a) => sql`(${a.sha256}, ${a.deviceId})`),
          sql`, `,
        )})`,
        sql`not exists (select 1 from ${deviceFiles} where ${deviceFiles.deviceId} = ${actions.deviceId}
          and ${deviceFiles.sha256} = ${actions.sha256} and ${deviceFiles.state} <> 'quarantined')`,
      ),
    )
    .orderBy(actions.sha256, actions.deviceId, asc(actions.id))
    .limit(limit);
  return rows.sort((a, b) => b.id - a.id);
}

/**
 * For each completed quarantine in `shown`, how many other devices have a quarantine of the same
 * file that is or may become completed (pending, approved, running or completed): what its Undo
 * may also restore. Counted on what may still complete too, so a message rendered before the
 * other instances finish already offers them; the undo confirmation lists them as they are then.
 */
export async function otherInstanceCounts(
  db: DbOrTx,
  shown: readonly Pick<ActionRow, "id" | "type" | "status" | "sha256" | "deviceId">[],
): Promise<Map<number, number>> {
  const ids = shown
    .filter((a) => a.type === "quarantine_file" && a.status === "completed" && a.sha256 && a.deviceId)
    .map((a) => a.id);
  if (ids.length === 0) return new Map();
  const rows = await db.execute<{ id: string; n: number }>(sql`
    select a.id, count(distinct o.device_id)::int as n
    from ${actions} a
    join ${actions} o on o.sha256 = a.sha256 and o.type = 'quarantine_file' and o.device_id <> a.device_id
      and o.status in ('pending', 'approved', 'running', 'completed')
    where a.id = any(${sql.param(ids)})
    group by a.id`);
  return new Map(rows.map((row) => [Number(row.id), row.n]));
}

/** How many actions wait for approval, and the one waiting longest (ids grow with arrival). */
export async function pendingSummary(db: DbOrTx): Promise<{ count: number; oldest: ActionRow | null }> {
  const [totals] = await db
    .select({ count: count(), oldestId: min(actions.id) })
    .from(actions)
    .where(eq(actions.status, "pending"));
  if (!totals?.oldestId) return { count: 0, oldest: null };
  const [oldest] = await db.select().from(actions).where(eq(actions.id, totals.oldestId));
  return { count: totals.count, oldest: oldest ?? null };
}

/** The newest actions `userId` approved or rejected. */
export async function recentDecisions(db: DbOrTx, userId: string, limit: number): Promise<ActionRow[]> {
  return (await listActions(db, { decidedBy: userId }, { limit })).actions;
}

/** Every action of `filters`, newest first, in pages of `batch`; stops after `max` rows. */
export async function* eachAction(
  db: DbOrTx,
  filters: ActionFilters,
  options: { batch: number; max: number },
): AsyncGenerator<ActionRow> {
  let before: number | undefined;
  let yielded = 0;
  do {
    const page = await listActions(db, filters, {
      limit: Math.min(options.batch, options.max - yielded),
      before,
    });
    for (const action of page.actions) yield action;
    yielded += page.actions.length;
    before = page.nextCursor ?? undefined;
  } while (before !== undefined && yielded < options.max);
}
