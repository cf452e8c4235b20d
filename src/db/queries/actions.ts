// Reads of actions, as free functions taking the db (or a transaction) first.
import { and, asc, desc, eq, gte, inArray, lt, lte, type SQL, sql } from "drizzle-orm";
import type { ActionType, Source } from "../../domain/actionTypes.ts";
import type { Status } from "../../domain/status.ts";
import { anyOf, type DbOrTx, type Tx } from "../client.ts";
import { type ActionEventRow, type ActionRow, actionEvents, actions } from "../schema.ts";

export async function getAction(db: DbOrTx, id: number): Promise<ActionRow | undefined> {
  const [row] = await db.select().from(actions).where(eq(actions.id, id));
  return row;
}

/** The action, locked FOR UPDATE until `tx` ends. */
export async function lockAction(tx: Tx, id: number): Promise<ActionRow | undefined> {
  const [row] = await tx.select().from(actions).where(eq(actions.id, id)).for("update");
  return row;
}

export async function getActionEvents(db: DbOrTx, actionId: number): Promise<ActionEventRow[]> {
  return db
    .select()
    .from(actionEvents)
    .where(eq(actionEvents.actionId, actionId))
    .orderBy(asc(actionEvents.id));
}

export async function getActionsByIds(db: DbOrTx, ids: number[]): Promise<ActionRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(actions).where(inArray(actions.id, ids)).orderBy(desc(actions.id));
}

/** The actions one Slack message shows that still wait for a decision, oldest first. */
export async function pendingActionsOnMessage(db: DbOrTx, messageId: number): Promise<ActionRow[]> {
  return pendingOnMessage(db, messageId);
}

/** The same, locked for this transaction. */
export async function lockPendingOfMessage(tx: Tx, messageId: number): Promise<ActionRow[]> {
  return pendingOnMessage(tx, messageId).for("update");
}

function pendingOnMessage(db: DbOrTx, messageId: number) {
  return db
    .select()
    .from(actions)
    .where(and(eq(actions.slackMessageId, messageId), eq(actions.status, "pending")))
    .orderBy(asc(actions.id));
}

export type ActionFilters = {
  status?: Status[];
  type?: ActionType[];
  source?: Source[];
  deviceId?: string;
  /** Any of these devices (a name can belong to several); an empty list matches nothing. */
  deviceIds?: string[];
  deviceName?: string;
  investigationId?: string;
  sha256?: string;
  decidedBy?: string;
  since?: Date;
};

export function filterConditions(filters: ActionFilters): SQL[] {
  const where: SQL[] = [];
  if (filters.status?.length) where.push(inArray(actions.status, filters.status));
  if (filters.type?.length) where.push(inArray(actions.type, filters.type));
  if (filters.source?.length) where.push(inArray(actions.source, filters.source));
  if (filters.deviceId) where.push(eq(actions.deviceId, filters.deviceId));
  if (filters.deviceIds) where.push(inArray(actions.deviceId, filters.deviceIds));
  if (filters.deviceName) where.push(sql`lower(${actions.deviceName}) = lower(${filters.deviceName})`);
  if (filters.investigationId) where.push(eq(actions.investigationId, filters.investigationId));
  if (filters.sha256) where.push(eq(actions.sha256, filters.sha256.toLowerCase()));
  if (filters.decidedBy) where.push(eq(actions.decidedBy, filters.decidedBy));
  // Bound through the column, which turns the Date into a timestamp (a raw `sql` Date is refused).
  if (filters.since) where.push(gte(actions.createdAt, filters.since));
  return where;
}

/** Newest first, keyset-paginated on the id so that pages stay stable while actions arrive. */
export async function listActions(
  db: DbOrTx,
  filters: ActionFilters,
  page: { limit: number; before?: number },
): Promise<{ actions: ActionRow[]; nextCursor: number | null }> {
  const where = filterConditions(filters);
  if (page.before !== undefined) where.push(lt(actions.id, page.before));
  const rows = await db
    .select()
    .from(actions)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(actions.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  return { actions: pageRows, nextCursor: more ? pageRows[pageRows.length - 1]!.id : null };
}

/** Pending actions past their expiry, oldest expiry first. */
export async function overduePendingIds(db: DbOrTx, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: actions.id })
    .from(actions)
    .where(and(eq(actions.status, "pending"), lte(actions.expiresAt, new Date())))
    .orderBy(asc(actions.expiresAt))
    .limit(limit);
  return rows.map((row) => row.id);
}

/** Which of `actionIds` have an audit event of `kind`. */
export async function actionsWithEvent(db: DbOrTx, actionIds: number[], kind: string): Promise<number[]> {
  const rows = await db
    .select({ actionId: actionEvents.actionId })
    .from(actionEvents)
    .where(and(inArray(actionEvents.actionId, actionIds), eq(actionEvents.kind, kind)));
  return rows.map((row) => row.actionId);
}

/** The actions, locked for this transaction in id order (so that concurrent lockers queue, not deadlock). */
export async function lockActions(tx: DbOrTx, ids: number[]): Promise<ActionRow[]> {
  return tx.select().from(actions).where(anyOf(actions.id, ids)).orderBy(asc(actions.id)).for("update");
}

/** What each action's work runs on one after another (its device, or its URL), by action id. */
export async function actionLanes(db: DbOrTx, ids: number[]): Promise<Map<number, string>> {
  const found = await db
    .select({
      id: actions.id,
      lane: sql<string | null>`coalesce(${actions.deviceId}, ${actions.entity}->>'url')`,
    })
    .from(actions)
    .where(anyOf(actions.id, ids));
  return new Map(found.flatMap((row) => (row.lane === null ? [] : [[row.id, row.lane] as const])));
}

/** Actions waiting on the worker (to run or to be undone) since before `before`. */
export async function stuckActions(db: DbOrTx, before: Date, limit: number) {
  return db
    .select({
      id: actions.id,
      status: actions.status,
      attempt: actions.attempt,
      undoAttempt: actions.undoAttempt,
    })
    .from(actions)
    .where(
      and(
        inArray(actions.status, ["approved", "running", "undo_requested", "undoing"]),
        lt(actions.updatedAt, before),
      ),
    )
    .limit(limit);
}

/** Who asked for an action's undo and when, and when it finished: what its undo lines say. */
export type UndoRequest = { by: string; at: Date; doneAt: Date | null };

const UNDO_STATUSES: readonly string[] = ["undo_requested", "undoing", "undone", "undo_failed"];

/** `rows` with the last undo request of each one in an undo status, from its audit trail. */
export async function withUndoRequests<T extends ActionRow>(
  db: DbOrTx,
  rows: T[],
): Promise<(T & { undo?: UndoRequest })[]> {
  const ids = rows.filter((row) => UNDO_STATUSES.includes(row.status)).map((row) => row.id);
  if (ids.length === 0) return rows;
  const events = await db
    .select({
      actionId: actionEvents.actionId,
      kind: actionEvents.kind,
      actor: actionEvents.actor,
      at: actionEvents.at,
    })
    .from(actionEvents)
    .where(
      and(
        inArray(actionEvents.actionId, ids),
        inArray(actionEvents.kind, ["request_undo", "retry_undo", "finish_undo"]),
      ),
    )
    .orderBy(asc(actionEvents.id));
  const undo = new Map<number, UndoRequest>();
  for (const event of events) {
    if (event.kind === "finish_undo") {
      const asked = undo.get(event.actionId);
      if (asked) asked.doneAt = event.at;
    } else {
      undo.set(event.actionId, { by: event.actor, at: event.at, doneAt: null });
    }
  }
  return rows.map((row) => {
    const found = undo.get(row.id);
    return found ? { ...row, undo: found } : row;
  });
}
