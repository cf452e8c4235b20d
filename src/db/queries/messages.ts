// Which Slack message shows which pending action. Actions on the same thing across devices (a
// file, a URL…) that arrive close together share one threat message, which takes in later ones
// of the same threat; the others of one investigation that arrive together share one message,
// and a message not yet posted takes in late arrivals of its investigation, so a burst becomes
// a few threat messages and one message per investigation rather than a flood.
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { type ThreatKind, threatKindOf } from "../../domain/threats.ts";
import { anyOf, type Db, type DbOrTx, executePrepared, type Tx } from "../client.ts";
import { transactionLocksOnTexts } from "../locks.ts";
import type { OutboxMessage } from "../outbox.ts";
import {
  type ActionEventRow,
  type ActionRow,
  actionEvents,
  actions,
  type SlackMessageRow,
  slackMessages,
} from "../schema.ts";
import { RENDER_NEEDED } from "../transitions.ts";
import { type UndoRequest, withUndoRequests } from "./actions.ts";
import { approversOfEach } from "./approvals.ts";
import { awaitingSignInOnMessage } from "./stepUps.ts";

// How long an unposted message keeps taking in actions; the post waits about this long too.
const JOIN_WINDOW_SECONDS = 10;

/** The policy's threat grouping (domain/policy.ts `threats`), the window in milliseconds. */
export type ThreatGrouping = { minActions: number; windowMs: number; keys: readonly ThreatKind[] };

/**
 * A pending action about to be stored, by a key of the caller's (its place in the batch): what
 * decides its message. Assigned before the insert, so each action is written once with its
 * message rather than inserted and then updated (a second copy of the row in every index).
 */
export type Arrival = Pick<ActionRow, "threatKey" | "investigationId"> & { id: number };

/**
 * What the assignment of a batch's arrivals reads, under the locks of their threat keys: each
 * key's open threat message and pending actions within the window (other than the arrivals
 * themselves), and each investigation's message that can still take actions in (locked for
 * this transaction).
 */
export type AssignmentReads = {
  openThreat: Map<string, number>;
  pendingOfThreat: Map<string, number>;
  joinable: Map<string, number>;
};

/** A message to create, as `insertNewActions` creates it with the actions it shows. */
export type NewMessage = { channel: string; threatKey: string | null; investigationId: string | null };

export type MessagePlan = {
  /** The stored message each arrival joins, by the arrival's key. */
  joinedOf: Map<number, number>;
  /** The stored messages that take arrivals in (to bump before the arrivals are stored). */
  joined: number[];
  /** The messages to create, and by the arrival's key the index in it of the arrival's message. */
  toCreate: NewMessage[];
  newOf: Map<number, number>;
};

/** The arrival's threat key when the grouping groups its kind. */
function groupedKey(action: Pick<Arrival, "threatKey">, grouping: ThreatGrouping | undefined): string | null {
  const key = action.threatKey;
  if (key === null || grouping === undefined) return null;
  const kind = threatKindOf(key);
  return kind !== null && grouping.keys.includes(kind) ? key : null;
}

/**
 * Takes the locks of the candidates' threat keys (one ingest at a time per key decides), then
 * reads what `planMessages` needs. Its statements are sent together, in this order, so a
 * caller can send its own with them in one round trip. A candidate may be stored already (a
 * batch sent again): a threat's pending actions are counted without the candidates, which
 * `planMessages` counts as arrivals, so none counts twice.
 */
export async function readAssignments(
  tx: Tx,
  candidates: readonly (Pick<Arrival, "threatKey" | "investigationId"> &
    Pick<ActionRow, "source" | "externalId">)[],
  channel: string,
  grouping?: ThreatGrouping,
): Promise<AssignmentReads> {
  const grouped = candidates.filter((a) => groupedKey(a, grouping) !== null);
  const keys = [...new Set(grouped.map((a) => a.threatKey!))].sort();
  const investigationIds = [
    ...new Set(candidates.flatMap((a) => (a.investigationId ? [a.investigationId] : []))),
  ];
  const windowStart = sql`now() - make_interval(secs => ${(grouping?.windowMs ?? 0) / 1000})`;
  const [, open, pending, joinable] = await Promise.all([
    keys.length
      ? executePrepared(
          tx,
          transactionLocksOnTexts(
            "threatMessage",
            keys.map((key) => `${channel} ${key}`),
          ),
        )
      : [],
    keys.length
      ? tx
          .select({ id: slackMessages.id, threatKey: slackMessages.threatKey })
          .from(slackMessages)
          .where(
            and(
              eq(slackMessages.channel, channel),
              anyOf(slackMessages.threatKey, keys),
              gt(slackMessages.createdAt, windowStart),
            ),
          )
          .orderBy(desc(slackMessages.createdAt))
          .prepare("openThreatMessages")
          .execute()
      : [],
    // A look-up per key in the partial index of pending threat actions: as one scan with the
    // keys as a filter, the planner read every action of the window and compared each with
    // every key.
    keys.length
      ? executePrepared<{ threat_key: string; n: number }>(
          tx,
          sql`
          select k as threat_key, (select count(*)::int from ${actions}
            where ${actions.threatKey} = k and ${actions.status} = 'pending' and ${actions.createdAt} > ${windowStart}
              and (${actions.source}, ${actions.externalId}) not in (
                select e ->> 0, e ->> 1 from json_array_elements(${JSON.stringify(
                  grouped.map((a) => [a.source, a.externalId]),
                )}::json) as e)) as n
          from unnest(${sql.param(keys)}::text[]) as k`,
        )
      : [],
    investigationIds.length
      ? tx
          .select({ id: slackMessages.id, investigationId: slackMessages.investigationId })
          .from(slackMessages)
          .where(
            and(
              anyOf(slackMessages.investigationId, investigationIds),
              isNull(slackMessages.ts),
              eq(slackMessages.channel, channel),
              gt(slackMessages.createdAt, sql`now() - make_interval(secs => ${JOIN_WINDOW_SECONDS})`),
            ),
          )
          .for("update", { skipLocked: true })
          .prepare("joinableMessages")
          .execute()
      : [],
  ]);
  const openThreat = new Map<string, number>();
  for (const message of open)
    if (!openThreat.has(message.threatKey!)) openThreat.set(message.threatKey!, message.id);
  return {
    openThreat,
    pendingOfThreat: new Map(pending.map((row) => [row.threat_key, row.n])),
    joinable: new Map(joinable.map((m) => [m.investigationId!, m.id])),
  };
}

/**
 * Which message shows each arrival, from what `readAssignments` read. The arrivals whose threat
 * has a threat message open in `channel` join it; a threat without one gets one once
 * `minActions` of its actions are pending within the window (these arrivals included: earlier
 * ones stay where they are shown). The others of one investigation share its message, a message
 * not yet posted taking in late arrivals; an action of no investigation gets one of its own.
 * Writes nothing: the caller bumps the joined messages and creates the new ones with the actions.
 */
export function planMessages(
  pending: Arrival[],
  channel: string,
  reads: AssignmentReads,
  grouping?: ThreatGrouping,
): MessagePlan {
  const byThreat = new Map<string, Arrival[]>();
  const byInvestigation = new Map<string, Arrival[]>();
  for (const action of pending) {
    const key = groupedKey(action, grouping);
    if (key === null) continue;
    const members = byThreat.get(key);
    if (members) members.push(action);
    else byThreat.set(key, [action]);
  }
  const joinedOf = new Map<number, number>();
  const joined = new Set<number>();
  const join = (messageId: number, members: Arrival[]) => {
    joined.add(messageId);
    for (const a of members) joinedOf.set(a.id, messageId);
  };
  const toCreate: NewMessage[] = [];
  const newOf = new Map<number, number>();
  const create = (message: NewMessage, members: Arrival[]) => {
    for (const a of members) newOf.set(a.id, toCreate.length);
    toCreate.push(message);
  };
  for (const [key, members] of byThreat) {
    const open = reads.openThreat.get(key);
    if (open !== undefined) join(open, members);
    else if ((reads.pendingOfThreat.get(key) ?? 0) + members.length >= grouping!.minActions)
      create({ channel, threatKey: key, investigationId: null }, members);
    else byThreat.delete(key);
  }
  const inThreat = new Set([...byThreat.values()].flat().map((a) => a.id));
  const alone: Arrival[] = [];
  for (const action of pending) {
    if (inThreat.has(action.id)) continue;
    if (action.investigationId === null) {
      alone.push(action);
      continue;
    }
    const members = byInvestigation.get(action.investigationId);
    if (members) members.push(action);
    else byInvestigation.set(action.investigationId, [action]);
  }
  for (const [investigationId, members] of byInvestigation) {
    const open = reads.joinable.get(investigationId);
    if (open !== undefined) join(open, members);
    else create({ channel, threatKey: null, investigationId }, members);
  }
  for (const action of alone) create({ channel, threatKey: null, investigationId: null }, [action]);
  return { joinedOf, joined: [...joined], toCreate, newOf };
}

/**
 * Puts posted messages behind what they show (something of theirs changed without a status
 * change: actions joined, an event to thread); returns the renders to queue.
 */
export async function bumpMessages(tx: Tx, messageIds: number[]): Promise<OutboxMessage[]> {
  if (messageIds.length === 0) return [];
  // Locked in id order first, as a batch of status changes locks them (db/transitions.ts); the
  // two statements are sent together and run in this order.
  const [, bumped] = await Promise.all([
    tx
      .select({ id: slackMessages.id })
      .from(slackMessages)
      .where(anyOf(slackMessages.id, messageIds))
      .orderBy(asc(slackMessages.id))
      .for("update")
      .prepare("lockMessages")
      .execute(),
    tx
      .update(slackMessages)
      .set({ version: sql`${slackMessages.version} + 1` })
      .where(anyOf(slackMessages.id, messageIds))
      .returning({
        id: slackMessages.id,
        version: slackMessages.version,
        render: sql<boolean>`${RENDER_NEEDED}`,
      })
      .prepare("bumpMessages")
      .execute(),
  ]);
  return bumped
    .filter((m) => m.render)
    .map((m) => ({
      topic: "message.changed" as const,
      payload: { messageId: m.id, messageVersion: m.version },
    }));
}

/** The messages showing `actionIds`. */
export async function messageIdsOf(db: DbOrTx, actionIds: readonly number[]): Promise<number[]> {
  if (actionIds.length === 0) return [];
  const rows = await db
    .selectDistinct({ id: actions.slackMessageId })
    .from(actions)
    .where(and(inArray(actions.id, [...actionIds]), isNotNull(actions.slackMessageId)));
  return rows.map((row) => row.id!);
}

/** Deletes messages created for arrivals none of which was stored (a concurrent ingest of the same batch stored them first). */
export async function deleteEmptyMessages(tx: Tx, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .delete(slackMessages)
    .where(
      and(
        inArray(slackMessages.id, ids),
        sql`not exists (select 1 from ${actions} where ${actions.slackMessageId} = ${slackMessages.id})`,
      ),
    );
}

/** A message of its own for something that is not an action (a Defender investigation's notice). */
export async function createStandaloneMessage(tx: DbOrTx, channel: string): Promise<number> {
  const [row] = await tx.insert(slackMessages).values({ channel }).returning({ id: slackMessages.id });
  return row!.id;
}

/** Marks the message behind what it shows; returns the version a render must reach. */
export async function bumpMessage(tx: DbOrTx, id: number): Promise<number> {
  const [row] = await tx
    .update(slackMessages)
    .set({ version: sql`${slackMessages.version} + 1` })
    .where(eq(slackMessages.id, id))
    .returning({ version: slackMessages.version });
  if (!row) throw new Error(`message ${id} does not exist`);
  return row.version;
}

export async function getMessage(db: DbOrTx, id: number): Promise<SlackMessageRow | undefined> {
  const [row] = await db.select().from(slackMessages).where(eq(slackMessages.id, id));
  return row;
}

/**
 * An action as its message shows it: with the approvals so far when it needs more than one, the
 * undo approvals so far when its undo does (the two-person rule), who asked for its undo, who it
 * waits on to sign in (a decision held for step-up), and for a completed quarantine its file's
 * other instances (slack/messages.ts).
 */
export type MessageAction = ActionRow & {
  approvals?: { needed: number; by: string[] };
  undoApprovals?: { needed: number; by: string[] };
  undo?: UndoRequest;
  awaitingSignIn?: { userId: string; until: Date }[];
  otherInstances?: number;
};

export async function messageActions(db: DbOrTx, messageId: number): Promise<MessageAction[]> {
  const rows = await withUndoRequests(
    db,
    await db.select().from(actions).where(eq(actions.slackMessageId, messageId)).orderBy(asc(actions.id)),
  );
  const counted = rows.filter((row) => row.approvalsNeeded > 1).map((row) => row.id);
  const undoCounted = rows
    .filter((row) => row.status === "completed" && row.undoApprovalsNeeded > 1)
    .map((row) => row.id);
  const given = counted.length ? await approversOfEach(db, counted, "approve") : new Map<number, string[]>();
  const undoGiven = undoCounted.length
    ? await approversOfEach(db, undoCounted, "undo")
    : new Map<number, string[]>();
  const waiting = await awaitingSignInOnMessage(db, messageId);
  return rows.map((row) => {
    const undoBy = undoGiven.get(row.id);
    const signIns = waiting.get(row.id);
    return {
      ...row,
      ...(row.approvalsNeeded > 1 && {
        approvals: { needed: row.approvalsNeeded, by: given.get(row.id) ?? [] },
      }),
      ...(undoBy && { undoApprovals: { needed: row.undoApprovalsNeeded, by: undoBy } }),
      // Only what can still be approved or undone waits on a sign-in; a link left over is refused when used.
      ...(signIns && (row.status === "pending" || row.status === "completed") && { awaitingSignIn: signIns }),
    };
  });
}

export async function messageActionCount(db: DbOrTx, messageId: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(actions).where(eq(actions.slackMessageId, messageId));
  return row?.n ?? 0;
}

/** Stores where the message was posted, unless a racing post stored it first. */
export async function storePostedTs(
  db: DbOrTx,
  messageId: number,
  ts: string,
  version: number,
): Promise<void> {
  await db
    .update(slackMessages)
    .set({ ts, renderedVersion: sql`greatest(${slackMessages.renderedVersion}, ${version})` })
    .where(and(eq(slackMessages.id, messageId), isNull(slackMessages.ts)));
}

export async function markRendered(db: DbOrTx, messageId: number, version: number): Promise<void> {
  await db.update(slackMessages).set({ renderedVersion: version }).where(eq(slackMessages.id, messageId));
}

/** The audit events of the message's actions after `afterEventId`, oldest first. */
export async function messageEventsAfter(
  db: DbOrTx,
  messageId: number,
  afterEventId: number,
  limit: number,
): Promise<ActionEventRow[]> {
  return db
    .select({ event: actionEvents })
    .from(actionEvents)
    .innerJoin(actions, eq(actions.id, actionEvents.actionId))
    .where(and(eq(actions.slackMessageId, messageId), gt(actionEvents.id, afterEventId)))
    .orderBy(asc(actionEvents.id))
    .limit(limit)
    .then((rows) => rows.map((row) => row.event));
}

/** Moves the thread's cursor to `eventId` (never back) and clears the reply in flight. */
export async function markThreaded(db: DbOrTx, messageId: number, eventId: number): Promise<void> {
  await db
    .update(slackMessages)
    .set({
      threadedEventId: sql`greatest(${slackMessages.threadedEventId}, ${eventId})`,
      threadPendingEventId: null,
    })
    .where(eq(slackMessages.id, messageId));
}

/**
 * Records, before it is posted, the reply that will thread the events after `cursor` up to
 * `eventId`; false when the thread is not where the caller read it (another poster moved it).
 */
export async function claimThreadReply(
  db: DbOrTx,
  messageId: number,
  cursor: number,
  eventId: number,
): Promise<boolean> {
  const claimed = await db
    .update(slackMessages)
    .set({ threadPendingEventId: eventId })
    .where(
      and(
        eq(slackMessages.id, messageId),
        eq(slackMessages.threadedEventId, cursor),
        isNull(slackMessages.threadPendingEventId),
      ),
    )
    .returning({ id: slackMessages.id });
  return claimed.length > 0;
}

/** Forgets a reply in flight that did not land, so the next round posts it again. */
export async function clearThreadPending(db: DbOrTx, messageId: number, eventId: number): Promise<void> {
  await db
    .update(slackMessages)
    .set({ threadPendingEventId: null })
    .where(and(eq(slackMessages.id, messageId), eq(slackMessages.threadPendingEventId, eventId)));
}

/**
 * Whether a transaction is writing to the message's row right now (a status change of one of its
 * actions, which bumps its version with the audit events it adds). Its events may have ids below
 * ones already committed, so the thread waits for it: its commit queues another update anyway.
 */
export async function messageBeingWritten(db: Db, messageId: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const free = await tx.execute(
      sql`select 1 from slack_messages where id = ${messageId} for share skip locked`,
    );
    return free.length === 0;
  });
}

/** Messages created before `before` and still not posted. */
export async function unpostedMessageIds(db: DbOrTx, before: Date, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: slackMessages.id })
    .from(slackMessages)
    .where(and(isNull(slackMessages.ts), lt(slackMessages.createdAt, before)))
    .limit(limit);
  return rows.map((row) => row.id);
}

/** Posted messages whose last render is behind their version. */
export async function messagesBehind(db: DbOrTx, limit: number): Promise<{ id: number; version: number }[]> {
  return db
    .select({ id: slackMessages.id, version: slackMessages.version })
    .from(slackMessages)
    .where(and(isNotNull(slackMessages.ts), lt(slackMessages.renderedVersion, slackMessages.version)))
    .limit(limit);
}
