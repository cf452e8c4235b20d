// The Defender connector's store: its lease, its cursors, the alerts that proposed actions and the
// automated investigations it announced.
import { and, asc, desc, eq, gt, inArray, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import {
  type ActionRow,
  actions,
  connectorCursors,
  connectorLeases,
  type DefenderAlertRow,
  type DefenderInvestigationRow,
  defenderAlertActions,
  defenderAlerts,
  defenderInvestigations,
} from "../schema.ts";

// --- The lease ----------------------------------------------------------------------------

/**
 * Takes the lease `name` for `holder` for `ttlMs`, or renews it when `holder` has it already.
 * A lease another holder let run out is taken over. Returns whether `holder` has it now.
 */
export async function takeLease(db: DbOrTx, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const expires = sql`clock_timestamp() + make_interval(secs => ${ttlMs / 1000})`;
  const rows = await db
    .insert(connectorLeases)
    .values({ name, holder, expiresAt: expires, acquiredAt: sql`clock_timestamp()` })
    .onConflictDoUpdate({
      target: connectorLeases.name,
      set: {
        holder,
        expiresAt: expires,
        acquiredAt: sql`case when ${connectorLeases.holder} = ${holder} then ${connectorLeases.acquiredAt} else clock_timestamp() end`,
      },
      setWhere: sql`${connectorLeases.holder} = ${holder} or ${connectorLeases.expiresAt} < clock_timestamp()`,
    })
    .returning({ holder: connectorLeases.holder });
  return rows.length > 0;
}

/**
 * Whether `holder` still has the lease, held until the transaction ends: a process that lost it
 * (paused past its expiry, then woke) cannot commit work another holder is doing too.
 */
export async function stillHolds(db: DbOrTx, name: string, holder: string): Promise<boolean> {
  const rows = await db
    .select({ holder: connectorLeases.holder })
    .from(connectorLeases)
    .where(
      and(
        eq(connectorLeases.name, name),
        eq(connectorLeases.holder, holder),
        gt(connectorLeases.expiresAt, sql`clock_timestamp()`),
      ),
    )
    .for("share");
  return rows.length > 0;
}

export async function giveUpLease(db: DbOrTx, name: string, holder: string): Promise<void> {
  await db
    .delete(connectorLeases)
    .where(and(eq(connectorLeases.name, name), eq(connectorLeases.holder, holder)));
}

// --- Cursors ------------------------------------------------------------------------------

export async function readCursor(db: DbOrTx, stream: string): Promise<Record<string, unknown> | null> {
  const [row] = await db.select().from(connectorCursors).where(eq(connectorCursors.stream, stream));
  return row?.state ?? null;
}

export async function saveCursor(db: DbOrTx, stream: string, state: Record<string, unknown>): Promise<void> {
  await db
    .insert(connectorCursors)
    .values({ stream, state })
    .onConflictDoUpdate({ target: connectorCursors.stream, set: { state, updatedAt: new Date() } });
}

// --- Alerts -------------------------------------------------------------------------------

export type AlertValues = Omit<DefenderAlertRow, "resolvedAt" | "createdAt">;

/**
 * Stores what the alerts say now. When each was first seen resolved is kept while it stays
 * resolved, and cleared when it is reopened, so that a second resolution is told again.
 */
export async function upsertAlerts(db: DbOrTx, rows: AlertValues[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(defenderAlerts)
    .values(rows)
    .onConflictDoUpdate({
      target: defenderAlerts.id,
      set: {
        incidentId: sql`excluded.incident_id`,
        investigationId: sql`excluded.investigation_id`,
        title: sql`excluded.title`,
        severity: sql`excluded.severity`,
        status: sql`excluded.status`,
        assignedTo: sql`excluded.assigned_to`,
        classification: sql`excluded.classification`,
        determination: sql`excluded.determination`,
        machineId: sql`excluded.machine_id`,
        computerDnsName: sql`excluded.computer_dns_name`,
        lastUpdateTime: sql`excluded.last_update_time`,
        resolvedAt: sql`case when lower(excluded.status) = 'resolved' then ${defenderAlerts.resolvedAt} end`,
      },
    });
}

/** Marks the alert resolved; true only the first time, so its actions hear of it once. */
export async function markAlertResolved(db: DbOrTx, alertId: string): Promise<boolean> {
  const rows = await db
    .update(defenderAlerts)
    .set({ resolvedAt: new Date() })
    .where(and(eq(defenderAlerts.id, alertId), sql`${defenderAlerts.resolvedAt} is null`))
    .returning({ id: defenderAlerts.id });
  return rows.length > 0;
}

export async function linkAlertActions(
  db: DbOrTx,
  links: { actionId: number; alertId: string }[],
): Promise<void> {
  if (links.length === 0) return;
  await db.insert(defenderAlertActions).values(links).onConflictDoNothing();
}

/** The actions an alert proposed, locked for this transaction, by id. */
export async function lockActionsOfAlert(db: DbOrTx, alertId: string): Promise<ActionRow[]> {
  const rows = await db
    .select({ action: actions })
    .from(actions)
    .innerJoin(defenderAlertActions, eq(defenderAlertActions.actionId, actions.id))
    .where(eq(defenderAlertActions.alertId, alertId))
    .orderBy(asc(actions.id))
    .for("update", { of: actions });
  return rows.map((row) => row.action);
}

/** The alerts that proposed `actionIds`, each once, by id. */
export async function alertsOfActions(db: DbOrTx, actionIds: number[]): Promise<DefenderAlertRow[]> {
  if (actionIds.length === 0) return [];
  return db
    .selectDistinct({ alert: defenderAlerts })
    .from(defenderAlerts)
    .innerJoin(defenderAlertActions, eq(defenderAlertActions.alertId, defenderAlerts.id))
    .where(inArray(defenderAlertActions.actionId, actionIds))
    .orderBy(asc(defenderAlerts.id))
    .then((rows) => rows.map((row) => row.alert));
}

export async function getAlert(db: DbOrTx, id: string): Promise<DefenderAlertRow | undefined> {
  const [row] = await db.select().from(defenderAlerts).where(eq(defenderAlerts.id, id));
  return row;
}

// --- Automated investigations -------------------------------------------------------------

export type InvestigationValues = Omit<DefenderInvestigationRow, "createdAt" | "updatedAt">;

export async function lockInvestigation(
  db: DbOrTx,
  id: string,
): Promise<DefenderInvestigationRow | undefined> {
  const [row] = await db
    .select()
    .from(defenderInvestigations)
    .where(eq(defenderInvestigations.id, id))
    .for("update");
  return row;
}

export async function insertInvestigation(db: DbOrTx, values: InvestigationValues): Promise<void> {
  await db.insert(defenderInvestigations).values(values);
}

export async function updateInvestigation(
  db: DbOrTx,
  id: string,
  values: Omit<InvestigationValues, "id" | "slackMessageId">,
): Promise<void> {
  await db
    .update(defenderInvestigations)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(defenderInvestigations.id, id));
}

/** The investigations last seen waiting for approval, oldest first. */
export async function pendingInvestigationIds(db: DbOrTx, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: defenderInvestigations.id })
    .from(defenderInvestigations)
    .where(eq(defenderInvestigations.state, "PendingApproval"))
    .orderBy(asc(defenderInvestigations.createdAt))
    .limit(limit);
  return rows.map((row) => row.id);
}

/** The investigation a Slack message announces, if it announces one. */
export async function investigationOfMessage(
  db: DbOrTx,
  messageId: number,
): Promise<DefenderInvestigationRow | undefined> {
  const [row] = await db
    .select()
    .from(defenderInvestigations)
    .where(eq(defenderInvestigations.slackMessageId, messageId));
  return row;
}

// --- What was done in Defender ------------------------------------------------------------

/** Which of the external ids `source` has stored already. */
export async function storedExternalIds(
  db: DbOrTx,
  source: ActionRow["source"],
  externalIds: string[],
): Promise<Set<string>> {
  if (externalIds.length === 0) return new Set();
  const rows = await db
    .select({ externalId: actions.externalId })
    .from(actions)
    .where(and(eq(actions.source, source), inArray(actions.externalId, externalIds)));
  return new Set(rows.map((row) => row.externalId));
}

/** The newest completed action of `type` on the device before `before`, locked; what a reversal reverses. */
export async function lockLatestCompleted(
  db: DbOrTx,
  filter: { type: ActionRow["type"]; deviceId: string; before: Date },
): Promise<ActionRow | undefined> {
  const [row] = await db
    .select()
    .from(actions)
    .where(
      and(
        eq(actions.type, filter.type),
        eq(actions.deviceId, filter.deviceId),
        eq(actions.status, "completed"),
        lt(actions.completedAt, filter.before),
      ),
    )
    .orderBy(desc(actions.completedAt))
    .limit(1)
    .for("update");
  return row;
}
