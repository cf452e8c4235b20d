// The transition engine: every status change of an action goes through here, with its audit
// event, its message's new version and the outbox rows in the same statement.
import { asc, eq, type SQL, sql } from "drizzle-orm";
import { type Result, refuse } from "../domain/result.ts";
import { nextStatus, type Transition, type TransitionRefusal } from "../domain/status.ts";
import { anyOf, type DbOrTx, type Tx } from "./client.ts";
import { OUTBOX_CHANNEL, type OutboxMessage, withExecutesTogether } from "./outbox.ts";
import { type ActionRow, actionEvents, actions } from "./schema.ts";

/**
 * In the RETURNING of a message's version bump: the message is posted and was rendered up to
 * the version before this bump, so this change is the one that puts it behind.
 */
export const RENDER_NEEDED = sql.raw("(ts is not null and version - 1 <= rendered_version)");

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

export type TransitionOutcome = Result<
  { action: ActionRow; previous: ActionRow; eventId: number },
  TransitionRefusal | "no_such_action",
  { action: ActionRow | null }
>;

/**
 * Moves one action along the status machine inside `tx`: locks the row, asks the domain whether
 * the move is allowed, updates it, appends the audit event and the outbox rows. Two concurrent
 * callers serialise on the row lock; the second sees the new status and is refused.
 */
export async function transitionAction(tx: Tx, request: TransitionRequest): Promise<TransitionOutcome> {
  const current =
    request.locked ??
    (await tx.select().from(actions).where(eq(actions.id, request.actionId)).for("update"))[0];
  if (!current) return { ...refuse("no_such_action", "no such action"), action: null };
  const verdict = nextStatus(current, request.transition);
  if (!verdict.ok) return { ...verdict, action: current };
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
  /** Work to enqueue once the changes commit (e.g. the runs that approvals start). */
  work: OutboxMessage[] = [],
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
    ordered as (
      -- Message rows locked in id order, as ingest locks the threat messages it bumps: a batch
      -- and an ingest touching the same two threat messages cannot deadlock.
      select id from slack_messages where id = any(array(select message_id from input)) order by id for update
    ),
    message as (
      -- An array, not a join: planned for about 100 input rows, a join would read a small
      -- table whole, and these are index look-ups whatever its size.
      update slack_messages set version = version + 1
      where id = any(array(select id from ordered)) returning id, version, ${RENDER_NEEDED} as render
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
      union all
      select w.topic, w.payload from jsonb_to_recordset(${JSON.stringify(withExecutesTogether(work))}::jsonb) as w(topic text, payload jsonb)
      returning 1
    )
    select (select count(*) from updated) as updated, (select count(*) from queued) as queued,
      pg_notify(${OUTBOX_CHANNEL}, '')`);
}

export type SetTransitionOutcome = Result<
  { action: ActionRow; previous: ActionRow },
  TransitionRefusal | "no_such_action" | "asked_twice" | "refused",
  { action: ActionRow | null }
>;

/**
 * The set-based counterpart of `transitionAction`: locks every row in id order in one statement
 * (so two callers over the same rows cannot deadlock), asks the domain about each move in
 * TypeScript, then records every allowed change, its audit event and its work in one more
 * statement. Thousands of decisions cost two round trips instead of two per action.
 */
export async function transitionActions(
  tx: Tx,
  requests: readonly TransitionRequest[],
  /** A check of the locked row beyond the status machine; a reason refuses the move. */
  refusalOf?: (current: ActionRow) => string | null,
): Promise<SetTransitionOutcome[]> {
  if (requests.length === 0) return [];
  const ids = [...new Set(requests.map((r) => r.actionId))].sort((a, b) => a - b);
  const locked = await tx
    .select()
    .from(actions)
    .where(anyOf(actions.id, ids))
    .orderBy(asc(actions.id))
    .for("update");
  const byId = new Map(locked.map((row) => [row.id, row]));
  const now = new Date();
  const changes: { action: ActionRow; events: ChangeEvent[] }[] = [];
  const work: OutboxMessage[] = [];
  const seen = new Set<number>();
  const outcomes = requests.map((request): SetTransitionOutcome => {
    const current = byId.get(request.actionId);
    if (!current) return { ...refuse("no_such_action", "no such action"), action: null };
    if (seen.has(current.id))
      return { ...refuse("asked_twice", "asked twice in one request"), action: current };
    seen.add(current.id);
    const refusal = refusalOf?.(current);
    if (refusal) return { ...refuse("refused", refusal), action: current };
    const verdict = nextStatus(current, request.transition);
    if (!verdict.ok) return { ...verdict, action: current };
    const updated: ActionRow = { ...current, ...request.set?.(current), status: verdict.to, updatedAt: now };
    changes.push({
      action: updated,
      events: [
        {
          kind: request.transition,
          actor: request.actor,
          detail: { from: verdict.from, to: verdict.to, ...request.detail },
        },
      ],
    });
    work.push(...(request.enqueue?.(updated) ?? []));
    return { ok: true, action: updated, previous: current };
  });
  await recordTransitions(tx, changes, work);
  return outcomes;
}

/** Records audit events that are not status changes (a refused attempt, a reminder sent, a note). */
export async function appendEvents(
  db: DbOrTx,
  events: { actionId: number; kind: string; actor: string; detail?: Record<string, unknown> }[],
): Promise<void> {
  if (events.length === 0) return;
  await db.insert(actionEvents).values(events.map((event) => ({ ...event, detail: event.detail ?? {} })));
}

/** Records one audit event that is not a status change. */
export async function appendEvent(
  db: DbOrTx,
  event: { actionId: number; kind: string; actor: string; detail?: Record<string, unknown> },
): Promise<void> {
  await appendEvents(db, [event]);
}
