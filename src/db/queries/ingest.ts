// The writes of ingest: devices, investigations and actions, each idempotent on its key, and the
// audit events of the actions that are new, each a statement whatever the batch's size.
import { sql } from "drizzle-orm";
import type { Tx } from "../client.ts";
import { fromDriverRow, insertFromJson } from "../jsonRows.ts";
import { type ActionRow, actionEvents, actions, devices, investigations } from "../schema.ts";

export type NewAction = typeof actions.$inferInsert;
/** An action's idempotency key: the source and the source's own id for it. */
export type ExternalKey = { source: string; externalId: string };

export async function insertDevices(tx: Tx, rows: { id: string; name: string }[]): Promise<void> {
  if (rows.length > 0)
    await tx.execute(sql`insert into ${devices} ${insertFromJson(devices, rows)} on conflict do nothing`);
}

export async function insertInvestigations(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length > 0)
    await tx.execute(sql`insert into ${investigations} (id) select unnest(${sql.param(ids)}::text[])
      on conflict do nothing`);
}

/**
 * Inserts the actions whose key is new and returns those, each with the audit event that starts
 * its trail (in the same statement: one round trip for both); the others are left as they are.
 */
export async function insertNewActions(
  tx: Tx,
  rows: NewAction[],
  received: {
    /** The event's kind by the status the action arrives in; `fallback` for the others. */
    kinds: Partial<Record<string, string>>;
    fallback: string;
    actor: string;
  },
): Promise<ActionRow[]> {
  if (rows.length === 0) return [];
  const inserted = await tx.execute<Record<string, unknown>>(sql`
    with inserted as (
      insert into ${actions} ${insertFromJson(actions, rows)}
      on conflict (source, external_id) do nothing
      returning *
    ),
    received as (
      insert into ${actionEvents} (action_id, kind, actor, detail)
      select id, coalesce(${JSON.stringify(received.kinds)}::jsonb ->> status, ${received.fallback}),
        ${received.actor}, jsonb_build_object('source', source, 'externalId', external_id)
      from inserted order by id
    )
    select * from inserted order by id`);
  return inserted.map((raw) => fromDriverRow(actions, raw));
}

export async function getActionsByExternalKeys(tx: Tx, keys: ExternalKey[]): Promise<ActionRow[]> {
  if (keys.length === 0) return [];
  const pairs = JSON.stringify(keys.map((key) => [key.source, key.externalId]));
  const rows = await tx.execute<Record<string, unknown>>(sql`
    select * from ${actions} where (source, external_id) in (
      select e->>0, e->>1 from json_array_elements(${pairs}::json) e)`);
  return rows.map((raw) => fromDriverRow(actions, raw));
}
