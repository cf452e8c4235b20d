// The writes of ingest: devices, investigations and actions, each idempotent on its key, and the
// audit events and outbox rows of the actions that are new, each a statement whatever the
// batch's size.
import { sql } from "drizzle-orm";
import { executePrepared, type Tx } from "../client.ts";
import { fromDriverRow, insertFromJson, type JsonRows, jsonRows } from "../jsonRows.ts";
import { OUTBOX_CHANNEL, type OutboxMessage, type TimerGroup } from "../outbox.ts";
import {
  type ActionRow,
  actionEvents,
  actions,
  devices,
  investigations,
  outbox,
  slackMessages,
} from "../schema.ts";
import type { NewMessage } from "./messages.ts";

export type NewAction = typeof actions.$inferInsert;
/** New actions written out for `insertNewActions`. */
export type NewActionRows = JsonRows<typeof actions>;

/** Writes out rows of actions for `insertNewActions`: the work of building them, apart from it. */
export function writeNewActions(rows: readonly NewAction[]): NewActionRows {
  return jsonRows(actions, rows);
}

/**
 * The message each new action is shown on, by its place among the rows: a stored message's id,
 * or the index in `work.messages` of one created with it (the other is null).
 */
export type MessagesOfRows = { stored: (number | null)[]; created: (number | null)[] };
/** An action's idempotency key: the source and the source's own id for it. */
export type ExternalKey = { source: string; externalId: string };
/**
 * A timer of every waiting action of a source and type about to be stored: what a waiting action
 * is due, its expiry and reminder steps, is decided by those two alone, at the same moment for all
 * of a batch (positional, as a batch's steps are written as one JSON text of these).
 */
export type TimerStep = [source: string, type: string, kind: TimerGroup["kind"], dueAt: number];
/** What ingest needs back of an action it stored. */
export type StoredAction = Pick<ActionRow, "id" | "source" | "externalId" | "status" | "slackMessageId">;

export async function insertDevices(tx: Tx, rows: { id: string; name: string }[]): Promise<void> {
  if (rows.length > 0)
    await executePrepared(
      tx,
      sql`insert into ${devices} ${insertFromJson(devices, rows)} on conflict do nothing`,
    );
}

export async function insertInvestigations(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length > 0)
    await executePrepared(
      tx,
      sql`insert into ${investigations} (id) select unnest(${sql.param(ids)}::text[])
      on conflict do nothing`,
    );
}

/**
 * Inserts the actions whose key is new and returns those, with the messages `work.messages`
 * created for them, each with the audit event that starts its trail and the outbox rows that
 * follow them, in the same statement (one round trip); the others are left as they are. Each row
 * is shown on the message `messagesOf` gives it, when it gives one. Outbox rows,
 * in this order: the post of each created message that shows one of the stored actions, the
 * `renders` (when any action is stored), and one `timerGroups` row with the timers of the stored
 * actions that wait: those arriving pending, but for `work.timers.approvedOnArrival`.
 */
export async function insertNewActions(
  tx: Tx,
  rows: NewActionRows,
  messagesOf: MessagesOfRows,
  received: {
    /** The event's kind by the status the action arrives in; `fallback` for the others. */
    kinds: Partial<Record<string, string>>;
    fallback: string;
    actor: string;
  },
  work: {
    messages: NewMessage[];
    renders: OutboxMessage[];
    timers: { steps: TimerStep[]; approvedOnArrival: ExternalKey[] };
  },
): Promise<{ actions: StoredAction[]; createdMessages: number[] }> {
  if (rows.length === 0) return { actions: [], createdMessages: [] };
  // Identities are drawn in the order the rows are inserted, which is the order given.
  const created =
    work.messages.length > 0
      ? sql`insert into ${slackMessages} ${insertFromJson(slackMessages, work.messages)} returning id`
      : sql`select null::bigint as id where false`;
  const result = await executePrepared<{
    message: boolean;
    id: string | number;
    source: ActionRow["source"];
    external_id: string;
    status: ActionRow["status"];
    slack_message_id: string | number | null;
  }>(
    tx,
    sql`
    with created as (${created}),
    new_message as (select id, row_number() over (order by id) - 1 as n from created),
    -- Read once, then indexed by each row: a look-up per row in new_message scans it each time.
    new_message_ids as (select array_agg(id order by id) as ids from created),
    inserted as (
      insert into ${actions} ${insertFromJson(actions, rows, {
        slackMessageId: sql`coalesce((${sql.param(messagesOf.stored)}::bigint[])[input.n],
          ((select ids from new_message_ids))[(${sql.param(messagesOf.created)}::int[])[input.n] + 1])`,
      })}
      on conflict (source, external_id) do nothing
      returning id, source, type, external_id, status, slack_message_id
    ),
    received as (
      insert into ${actionEvents} (action_id, kind, actor, detail)
      select id, coalesce(${JSON.stringify(received.kinds)}::jsonb ->> status, ${received.fallback}),
        ${received.actor}, jsonb_build_object('source', source, 'externalId', external_id)
      from inserted order by id
    ),
    work as (
      select 1 as part, m.n, 'message.created' as topic, jsonb_build_object('messageId', m.id) as payload
      from new_message m
      where exists (select 1 from inserted where slack_message_id = m.id)
      union all
      select 2, r.n, r.m ->> 'topic', r.m -> 'payload'
      from jsonb_array_elements(${JSON.stringify(work.renders)}::jsonb) with ordinality as r(m, n)
      where exists (select 1 from inserted)
      union all
      select 3, 1, 'timerGroups', jsonb_build_object('groups', jsonb_agg(jsonb_build_object(
          'kind', g.kind, 'dueAt', g.due_at, 'actionIds', g.ids) order by g.due_at, g.kind))
      from (
        select s.m ->> 2 as kind, (s.m ->> 3)::bigint as due_at, jsonb_agg(i.id order by i.id) as ids
        from jsonb_array_elements(${JSON.stringify(work.timers.steps)}::jsonb) as s(m)
        join inserted i on i.source = s.m ->> 0 and i.type = s.m ->> 1
        where i.status = 'pending' and (i.source, i.external_id) not in (
          select a ->> 0, a ->> 1
          from jsonb_array_elements(${JSON.stringify(work.timers.approvedOnArrival.map((k) => [k.source, k.externalId]))}::jsonb) as a)
        group by 1, 2
      ) g
      having count(*) > 0
    ),
    queued as (
      insert into ${outbox} (topic, payload) select topic, payload from work order by part, n returning 1
    )
    -- The notification is delivered at commit, so a dispatcher wakes only for work that really happened.
    select false as message, id, source, external_id, status, slack_message_id,
      (select pg_notify(${OUTBOX_CHANNEL}, '') from (select 1 from queued limit 1) q) as notified
    from inserted
    union all
    -- The messages created, also when none of the actions was stored (a concurrent ingest stored
    -- them first): the caller deletes the ones that show nothing.
    select true, id, null, null, null, null, null from new_message
    order by message, id`,
  );
  const stored: StoredAction[] = [];
  const createdMessages: number[] = [];
  for (const row of result) {
    if (row.message) createdMessages.push(Number(row.id));
    else
      stored.push({
        id: Number(row.id),
        source: row.source,
        externalId: row.external_id,
        status: row.status,
        slackMessageId: row.slack_message_id === null ? null : Number(row.slack_message_id),
      });
  }
  return { actions: stored, createdMessages };
}

export async function getActionsByExternalKeys(tx: Tx, keys: ExternalKey[]): Promise<ActionRow[]> {
  if (keys.length === 0) return [];
  const pairs = JSON.stringify(keys.map((key) => [key.source, key.externalId]));
  const rows = await executePrepared<Record<string, unknown>>(
    tx,
    sql`select * from ${actions} where (source, external_id) in (
      select e->>0, e->>1 from json_array_elements(${pairs}::json) e)`,
  );
  return rows.map((raw) => fromDriverRow(actions, raw));
}

export async function getActionsByIds(tx: Tx, ids: number[]): Promise<ActionRow[]> {
  if (ids.length === 0) return [];
  const rows = await tx.execute<Record<string, unknown>>(
    sql`select * from ${actions} where id = any(${sql.param(ids)}) order by id`,
  );
  return rows.map((raw) => fromDriverRow(actions, raw));
}
