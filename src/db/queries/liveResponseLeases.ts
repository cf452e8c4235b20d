// Defender's one live response session per device, shared by every worker
// (schema.ts: live_response_leases). A lease is held by one run of one action (its operation and
// attempt); it is free again once released, or once its holder no longer runs that attempt (the
// run failed and rolled back, or the action moved on), so that no crash leaves a device locked.
import { sql } from "drizzle-orm";
import type { ActionType } from "../../domain/actionTypes.ts";
import type { Tx } from "../client.ts";
import { tryTransactionLock } from "../locks.ts";

export type SessionRun = { actionId: number; operation: "apply" | "undo"; attempt: number };
/** The action types whose apply, and whose undo, take a live response session. */
export type ScriptedTypes = { apply: readonly ActionType[]; undo: readonly ActionType[] };

/**
 * Takes the right to decide who holds the device's session, until the transaction ends; false
 * when another worker is deciding it right now (the caller checks again a little later).
 */
export async function lockDeviceSession(tx: Tx, deviceId: string): Promise<boolean> {
  const [row] = await tx.execute<{ locked: boolean }>(
    tryTransactionLock("liveResponseDevice", sql`hashtext(${deviceId})`),
  );
  return row?.locked === true;
}

/** The run holding the device's session, if its holder still runs that attempt. */
export async function sessionHolder(tx: Tx, deviceId: string): Promise<SessionRun | null> {
  const [row] = await tx.execute<{ action_id: string; operation: "apply" | "undo"; attempt: number }>(sql`
    select l.action_id, l.operation, l.attempt
    from live_response_leases l join actions a on a.id = l.action_id
    where l.device_id = ${deviceId} and (
      (l.operation = 'apply' and a.status in ('approved', 'running') and a.attempt = l.attempt) or
      (l.operation = 'undo' and a.status in ('undo_requested', 'undoing') and a.undo_attempt = l.attempt))`);
  return row ? { actionId: Number(row.action_id), operation: row.operation, attempt: row.attempt } : null;
}

/**
 * Another action on the device waiting for (or running) a session that was decided before
 * `run`'s action: decision order is the order of the audit events that started each run (an
 * approval or a retry for apply, an undo request or its retry for undo). Null when none is.
 */
export async function earlierSessionRun(
  tx: Tx,
  deviceId: string,
  run: SessionRun,
  scripted: ScriptedTypes,
): Promise<number | null> {
  const [row] = await tx.execute<{ id: string }>(sql`
    with runs as (
      select a.id, a.status in ('approved', 'running') as applying
      from actions a
      where a.device_id = ${deviceId} and (
        (a.status in ('approved', 'running') and a.type = any(${sql.param([...scripted.apply])})) or
        (a.status in ('undo_requested', 'undoing') and a.type = any(${sql.param([...scripted.undo])})))
    ),
    ordered as (
      select r.id, (
        select max(e.id) from action_events e
        where e.action_id = r.id and e.kind = any(case when r.applying
          then array['approve', 'retry'] else array['request_undo', 'retry_undo'] end)
      ) as decided_by_event
      from runs r
    )
    select id from ordered
    where id <> ${run.actionId}
      and decided_by_event < (select decided_by_event from ordered where id = ${run.actionId})
    order by decided_by_event
    limit 1`);
  return row ? Number(row.id) : null;
}

/** Gives the device's session to `run` (the caller checked that it is free and `run`'s turn). */
export async function takeSession(tx: Tx, deviceId: string, run: SessionRun): Promise<void> {
  await tx.execute(sql`
    insert into live_response_leases (device_id, action_id, operation, attempt)
    values (${deviceId}, ${run.actionId}, ${run.operation}, ${run.attempt})
    on conflict (device_id) do update set action_id = excluded.action_id,
      operation = excluded.operation, attempt = excluded.attempt, acquired_at = clock_timestamp()`);
}

/** Frees the device's session if `actionId` holds it. */
export async function releaseSession(tx: Tx, deviceId: string, actionId: number): Promise<void> {
  await tx.execute(sql`
    delete from live_response_leases where device_id = ${deviceId} and action_id = ${actionId}`);
}
