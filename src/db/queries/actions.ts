// Queries on actions, as free functions taking the db (or a transaction) first.
import { and, asc, desc, eq, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { ActionInput } from "../../domain/actionInput.ts";
import type { ActionType, Source } from "../../domain/actionTypes.ts";
import {
  approvalsNeeded,
  autoApprove,
  DEFAULT_POLICY,
  type Policy,
  remindersFor,
  ttlFor,
} from "../../domain/policy.ts";
import { nextStatus, type Status, type Transition } from "../../domain/status.ts";
import type { Db, DbOrTx, Tx } from "../client.ts";
import {
  type ActionEventRow,
  type ActionRow,
  actionEvents,
  actions,
  devices,
  investigations,
  outbox,
} from "../schema.ts";
import { decisionTransition } from "./decisions.ts";
import { assignMessages } from "./messages.ts";

export const OUTBOX_CHANNEL = "action_center_outbox";
/** The actor of what the approval policy does by itself (auto-approval). */
const POLICY_ACTOR = "policy";

/** The domain event of a status change, for the Slack side. */
export type ActionChanged = {
  actionId: number;
  status: Status;
  eventId: number;
  /** The Slack message showing the action, and the version a render must reach. */
  messageId: number | null;
  messageVersion: number | null;
  /**
   * Whether this change must queue a render: not when the message is not posted yet (the
   * post shows the state of the moment) or was behind already (the render queued then
   * renders the latest version). Rows written before this field existed render.
   */
  render?: boolean;
};

/** Work that must follow a committed change, written in the same transaction (the outbox). */
export type OutboxMessage =
  | { topic: "execute"; payload: { actionId: number; operation: "apply" | "undo"; attempt: number } }
  | { topic: "message.created"; payload: { messageId: number } }
  | { topic: "action.changed"; payload: ActionChanged }
  /** A batch's changes in one row: a row per action would cost more than the action itself. */
  | { topic: "actions.changed"; payload: { changes: ActionChanged[] } }
  | {
      topic: "timer";
      /** `dueAt`: epoch milliseconds, so that time spent in the outbox does not delay it. */
      payload: { actionId: number; kind: "expire" | "remind" | "escalate"; dueAt: number };
    };

/**
 * In the RETURNING of a message's version bump: the message is posted and was rendered up to
 * the version before this bump, so this change is the one that puts it behind.
 */
const RENDER_NEEDED = sql.raw("(ts is not null and version - 1 <= rendered_version)");

export async function writeOutbox(tx: DbOrTx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.insert(outbox).values(messages.map((m) => ({ topic: m.topic, payload: m.payload })));
  // Delivered at commit, so a dispatcher wakes only for work that really happened.
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

export type IngestResult = { id: number; externalId: string; status: Status; created: boolean };

/**
 * Stores a validated batch in one transaction. Idempotent on (source, externalId), also when the
 * same batch arrives twice at once: the unique index decides and the loser reads the winner's row.
 */
export async function ingestActions(
  db: Db,
  inputs: ActionInput[],
  options: {
    /** The Slack channel new pending actions are shown in. */
    channel: string;
    /**
     * Sets each pending action's expiry, approvals needed and timers, and approves what it
     * approves automatically; the built-in defaults when left out.
     */
    policy?: Policy;
    /** Makes the backend agree with an action recorded as already completed. */
    onRecordedCompleted?: (tx: Tx, action: ActionRow) => Promise<void>;
  },
): Promise<IngestResult[]> {
  const policy = options.policy ?? DEFAULT_POLICY;
  return db.transaction(async (tx) => {
    const deviceRows = uniqueBy(
      inputs.flatMap((a) => (a.device ? [{ id: a.device.id, name: a.device.name }] : [])),
      (d) => d.id,
    );
    if (deviceRows.length > 0) await tx.insert(devices).values(deviceRows).onConflictDoNothing();
    const investigationRows = uniqueBy(
      inputs.flatMap((a) => (a.investigationId ? [{ id: a.investigationId }] : [])),
      (i) => i.id,
    );
    if (investigationRows.length > 0)
      await tx.insert(investigations).values(investigationRows).onConflictDoNothing();

    const now = new Date();
    const inserted = await tx
      .insert(actions)
      .values(
        inputs.map((a) => ({
          externalId: a.externalId,
          source: a.source,
          type: a.type,
          status: a.status,
          investigationId: a.investigationId ?? null,
          incidentId: a.incidentId ?? null,
          deviceId: a.device?.id ?? null,
          deviceName: a.device?.name ?? null,
          entity: a.entity,
          sha256: a.entity.sha256 ?? null,
          requestedBy: a.requestedBy ?? null,
          comment: a.comment ?? null,
          completedAt: a.status === "completed" ? now : null,
          ...(a.status === "pending" && {
            expiresAt: new Date(now.getTime() + ttlFor(policy, a)),
            approvalsNeeded: approvalsNeeded(policy, a),
          }),
        })),
      )
      .onConflictDoNothing({ target: [actions.source, actions.externalId] })
      .returning();

    const key = (source: string, externalId: string) => `${source}\u0000${externalId}`;
    const byKey = new Map<string, { row: ActionRow; created: boolean }>();
    for (const row of inserted) byKey.set(key(row.source, row.externalId), { row, created: true });
    const missing = inputs.filter((a) => !byKey.has(key(a.source, a.externalId)));
    if (missing.length > 0) {
      const existing = await tx
        .select()
        .from(actions)
        .where(
          sql`(${actions.source}, ${actions.externalId}) in (${sql.join(
            missing.map((a) => sql`(${a.source}, ${a.externalId})`),
            sql`, `,
          )})`,
        );
      for (const row of existing) byKey.set(key(row.source, row.externalId), { row, created: false });
    }

    if (inserted.length > 0) {
      await tx.insert(actionEvents).values(
        inserted.map((row) => ({
          actionId: row.id,
          kind: row.status === "completed" ? "recorded_completed" : "received",
          actor: "api",
          detail: { source: row.source, externalId: row.externalId },
        })),
      );
      for (const row of inserted)
        if (row.status === "completed") await options.onRecordedCompleted?.(tx, row);
      const pending = inserted.filter((row) => row.status === "pending");
      const automatic = pending.flatMap((row) => {
        const verdict = autoApprove(policy, row);
        return verdict ? [{ row, rule: verdict.rule }] : [];
      });
      const approvedByPolicy = new Set(automatic.map((a) => a.row.id));
      const waiting = pending.filter((row) => !approvedByPolicy.has(row.id));
      await writeOutbox(tx, [
        ...(await assignMessages(tx, pending, options.channel)),
        ...waiting.flatMap((row) => timerMessages(policy, row, now)),
      ]);
      // Shown in the channel and history like any other, approved by the policy instead of a person.
      for (const { row, rule } of automatic) {
        const approved = await transitionAction(
          tx,
          decisionTransition({
            actionId: row.id,
            decision: "approve",
            actor: POLICY_ACTOR,
            detail: { reason: `auto-approval rule ${rule + 1}`, rule },
          }),
        );
        if (!approved.ok) throw new Error(`auto-approval of action ${row.id} failed: ${approved.reason}`);
        byKey.set(key(row.source, row.externalId), { row: approved.action, created: true });
      }
    }
    return inputs.map((a) => {
      const found = byKey.get(key(a.source, a.externalId));
      if (!found) throw new Error(`ingest lost track of ${a.source}/${a.externalId}`);
      return {
        id: found.row.id,
        externalId: found.row.externalId,
        status: found.row.status,
        created: found.created,
      };
    });
  });
}

/** A waiting action's expiry, reminder and escalation, as delayed jobs created with the action. */
function timerMessages(policy: Policy, row: ActionRow, now: Date): OutboxMessage[] {
  const timer = (kind: "expire" | "remind" | "escalate", dueAt: number): OutboxMessage => ({
    topic: "timer",
    payload: { actionId: row.id, kind, dueAt },
  });
  return [
    timer("expire", row.expiresAt!.getTime()),
    ...remindersFor(policy, row).map((step) => timer(step.kind, now.getTime() + step.afterMs)),
  ];
}

function uniqueBy<T>(items: T[], keyOf: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(keyOf(item))) seen.set(keyOf(item), item);
  return [...seen.values()];
}

export type TransitionRequest = {
  actionId: number;
  transition: Transition;
  actor: string;
  detail?: Record<string, unknown>;
  /** Extra columns to set with the status (decision fields, error, undo data…), from the locked row. */
  set?: (current: ActionRow) => ActionChanges;
  /** Work to enqueue once the change commits. */
  enqueue?: (action: ActionRow) => OutboxMessage[];
  /** The row as this transaction already locked it (FOR UPDATE), to save reading it again. */
  locked?: ActionRow;
};

export type ActionChanges = Partial<
  Pick<
    ActionRow,
    | "decidedBy"
    | "decidedAt"
    | "decisionComment"
    | "completedAt"
    | "error"
    | "undoData"
    | "attempt"
    | "undoAttempt"
  >
>;

export type TransitionOutcome =
  | { ok: true; action: ActionRow; previous: ActionRow; eventId: number }
  | { ok: false; reason: string; action: ActionRow | null };

/**
 * Moves one action along the status machine inside `tx`: locks the row, asks the domain whether
 * the move is allowed, updates it, appends the audit event and the outbox rows. Two concurrent
 * callers serialise on the row lock; the second sees the new status and is refused.
 */
export async function transitionAction(tx: Tx, request: TransitionRequest): Promise<TransitionOutcome> {
  const current =
    request.locked ??
    (await tx.select().from(actions).where(eq(actions.id, request.actionId)).for("update"))[0];
  if (!current) return { ok: false, reason: "no such action", action: null };
  const verdict = nextStatus(current, request.transition);
  if (!verdict.ok) return { ok: false, reason: verdict.reason, action: current };
  const changes = { ...request.set?.(current), status: verdict.to, updatedAt: new Date() };
  // The row is locked by this transaction, so the update cannot miss: the new row is known here.
  const updated: ActionRow = { ...current, ...changes };
  const update = tx.update(actions).set(changes).where(eq(actions.id, current.id)).getSQL();
  const eventId = await recordChange(
    tx,
    updated,
    {
      kind: request.transition,
      actor: request.actor,
      detail: { from: verdict.from, to: verdict.to, ...request.detail },
    },
    request.enqueue?.(updated) ?? [],
    update,
  );
  return { ok: true, action: updated, previous: current, eventId };
}

/**
 * Appends an audit event about `action` that its Slack message must show (a status change, an
 * approval under the two-person rule) and queues the re-render, and `work`, for the commit.
 */
export async function recordChange(
  tx: Tx,
  action: ActionRow,
  event: { kind: string; actor: string; detail: Record<string, unknown> },
  work: OutboxMessage[] = [],
  /** An UPDATE of the action to run in the same statement. */
  update?: SQL,
): Promise<number> {
  // One round trip: the update, the event, the message's new version and the outbox rows, then
  // the wake-up. This runs on every status change: the hot path of decisions and the worker.
  const [row] = await tx.execute<{ event_id: string }>(sql`
    with ${update ? sql`updated as (${update} returning 1),` : sql``}
    event as (
      insert into action_events (action_id, kind, actor, detail)
      values (${action.id}, ${event.kind}, ${event.actor}, ${JSON.stringify(event.detail)}::jsonb)
      returning id
    ),
    message as (
      update slack_messages set version = version + 1 where id = ${action.slackMessageId}
      returning version, ${RENDER_NEEDED} as render
    ),
    queued as (
      insert into outbox (topic, payload)
      select 'action.changed', jsonb_build_object(
        'actionId', ${action.id}::bigint,
        'status', ${action.status}::text,
        'eventId', event.id,
        'messageId', ${action.slackMessageId}::bigint,
        'messageVersion', (select version from message),
        'render', coalesce((select render from message), false)
      ) from event
      union all
      select w.topic, w.payload from jsonb_to_recordset(${JSON.stringify(work)}::jsonb) as w(topic text, payload jsonb)
      returning 1
    )
    select event.id as event_id, (select count(*) from queued) as queued, pg_notify(${OUTBOX_CHANNEL}, '')
    from event`);
  return Number(row!.event_id);
}

export type ChangeEvent = { kind: string; actor: string; detail: Record<string, unknown> };

/**
 * Several actions, locked by `tx`, each moved through one or more transitions, recorded in one
 * statement: every row's new state, every audit event in order, each message's new version and
 * one domain-event row holding every action's change. The worker's batches go through here: a
 * round trip per action would cost more than the action itself.
 */
export async function recordTransitions(
  tx: Tx,
  changes: { action: ActionRow; events: ChangeEvent[] }[],
): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map(({ action: a }) => ({
    id: a.id,
    status: a.status,
    updated_at: a.updatedAt,
    decided_by: a.decidedBy,
    decided_at: a.decidedAt,
    decision_comment: a.decisionComment,
    completed_at: a.completedAt,
    error: a.error,
    undo_data: a.undoData,
    attempt: a.attempt,
    undo_attempt: a.undoAttempt,
    message_id: a.slackMessageId,
  }));
  const events = changes.flatMap(({ action, events }) => events.map((e) => ({ action_id: action.id, ...e })));
  await tx.execute(sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as c(
        id bigint, status text, updated_at timestamptz, decided_by text, decided_at timestamptz,
        decision_comment text, completed_at timestamptz, error text, undo_data jsonb, attempt int,
        undo_attempt int, message_id bigint)
    ),
    updated as (
      update actions a set status = c.status, updated_at = c.updated_at, decided_by = c.decided_by,
        decided_at = c.decided_at, decision_comment = c.decision_comment, completed_at = c.completed_at,
        error = c.error, undo_data = c.undo_data, attempt = c.attempt, undo_attempt = c.undo_attempt
      from input c where a.id = c.id
      returning a.id
    ),
    event as (
      insert into action_events (action_id, kind, actor, detail)
      select e.action_id, e.kind, e.actor, e.detail
      from rows from (jsonb_to_recordset(${JSON.stringify(events)}::jsonb)
        as (action_id bigint, kind text, actor text, detail jsonb)) with ordinality as e(action_id, kind, actor, detail, ord)
      order by e.ord
      returning id, action_id
    ),
    message as (
      -- An array, not a join: planned for about 100 input rows, a join would read a small
      -- table whole, and these are index look-ups whatever its size.
      update slack_messages set version = version + 1
      where id = any(array(select message_id from input)) returning id, version, ${RENDER_NEEDED} as render
    ),
    last_event as (select action_id, max(id) as id from event group by action_id),
    queued as (
      insert into outbox (topic, payload)
      select 'actions.changed', jsonb_build_object('changes', jsonb_agg(jsonb_build_object(
        'actionId', c.id,
        'status', c.status,
        'eventId', last_event.id,
        'messageId', c.message_id,
        'messageVersion', message.version,
        'render', coalesce(message.render, false)
      ) order by c.id)) from input c
        join last_event on last_event.action_id = c.id
        left join message on message.id = c.message_id
      having count(*) > 0
      returning 1
    )
    select (select count(*) from updated) as updated, (select count(*) from queued) as queued,
      pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/** Records an audit event that is not a status change (a refused attempt, a note). */
export async function appendEvent(
  db: DbOrTx,
  event: { actionId: number; kind: string; actor: string; detail?: Record<string, unknown> },
): Promise<void> {
  await db.insert(actionEvents).values({ ...event, detail: event.detail ?? {} });
}

export async function getAction(db: DbOrTx, id: number): Promise<ActionRow | undefined> {
  const [row] = await db.select().from(actions).where(eq(actions.id, id));
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
