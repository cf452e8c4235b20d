// The writes of ingest: devices, investigations and actions, each idempotent on its key, and the
// audit events of the actions that are new.
import { sql } from "drizzle-orm";
import type { Tx } from "../client.ts";
import { type ActionRow, actionEvents, actions, devices, investigations } from "../schema.ts";

export type NewAction = typeof actions.$inferInsert;
export type NewActionEvent = typeof actionEvents.$inferInsert;
/** An action's idempotency key: the source and the source's own id for it. */
export type ExternalKey = { source: string; externalId: string };

export async function insertDevices(tx: Tx, rows: { id: string; name: string }[]): Promise<void> {
  if (rows.length > 0) await tx.insert(devices).values(rows).onConflictDoNothing();
}

export async function insertInvestigations(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length > 0)
    await tx
      .insert(investigations)
      .values(ids.map((id) => ({ id })))
      .onConflictDoNothing();
}

/** Inserts the actions whose key is new and returns those; the others are left as they are. */
export async function insertNewActions(tx: Tx, rows: NewAction[]): Promise<ActionRow[]> {
  return tx
    .insert(actions)
    .values(rows)
    .onConflictDoNothing({ target: [actions.source, actions.externalId] })
    .returning();
}

export async function getActionsByExternalKeys(tx: Tx, keys: ExternalKey[]): Promise<ActionRow[]> {
  if (keys.length === 0) return [];
  return tx
    .select()
    .from(actions)
    .where(
      sql`(${actions.source}, ${actions.externalId}) in (${sql.join(
        keys.map((key) => sql`(${key.source}, ${key.externalId})`),
        sql`, `,
      )})`,
    );
}

export async function insertActionEvents(tx: Tx, rows: NewActionEvent[]): Promise<void> {
  if (rows.length > 0) await tx.insert(actionEvents).values(rows);
}
