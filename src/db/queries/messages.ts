// Which Slack message shows which pending action. Actions on the same thing across devices (a
// file, a URL…) that arrive close together share one threat message, which takes in later ones
// of the same threat; the others of one investigation that arrive together share one message,
// and a message not yet posted takes in late arrivals of its investigation, so a burst becomes
// a few threat messages and one message per investigation rather than a flood.
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import type { ThreatKind } from "../../domain/threats.ts";
import { anyOf, type Db, type DbOrTx, type Tx } from "../client.ts";
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

type Assignment = { messageId: number; actionIds: number[]; isNew: boolean };

/**
 * A pending action about to be stored, by a key of the caller's (its place in the batch): what
 * decides its message. Assigned before the insert, so each action is written once with its
 * message rather than inserted and then updated (a second copy of the row in every index).
 */
export type Arrival = Pick<ActionRow, "threatKey" | "investigationId"> & { id: number };

export type MessageAssignment = {
  /** Each arrival's message, by the arrival's key. */
  messageOf: Map<number, number>;
  /** Messages created for these arrivals (to delete if none of theirs is stored after all). */
  created: number[];
  /** The posts of new messages and the renders of posted ones that took arrivals in. */
  work: OutboxMessage[];
};

export async function assignMessages(
  tx: Tx,
  pending: Arrival[],
  channel: string,
  grouping?: ThreatGrouping,
): Promise<MessageAssignment> {
  if (pending.length === 0) return { messageOf: new Map(), created: [], work: [] };
  const threats = grouping ? await assignThreats(tx, pending, channel, grouping) : [];
  const inThreat = new Set(threats.flatMap((a) => a.actionIds));
  const assignments = [
    ...threats,
    ...(await assignByInvestigation(
      tx,
      pending.filter((action) => !inThreat.has(action.id)),
      channel,
    )),
  ];
  const renders = await bumpJoined(tx, assignments);
  return {
    messageOf: new Map(assignments.flatMap((a) => a.actionIds.map((id) => [id, a.messageId] as const))),
    created: assignments.filter((a) => a.isNew).map((a) => a.messageId),
    work: [
      ...assignments
        .filter((a) => a.isNew)
        .map((a) => ({ topic: "message.created" as const, payload: { messageId: a.messageId } })),
      ...renders,
    ],
  };
}

/**
 * The arrivals whose threat has a threat message open in `channel` join it; a threat without one
 * gets one once `minActions` of its actions are pending within the window (these arrivals
 * included: earlier ones stay where they are shown). One ingest at a time per threat key decides.
 */
async function assignThreats(
  tx: Tx,
  pending: Arrival[],
  channel: string,
  grouping: ThreatGrouping,
): Promise<Assignment[]> {
  const byKey = new Map<string, Arrival[]>();
  for (const action of pending) {
    const key = action.threatKey;
    if (key === null || !grouping.keys.some((kind) => key.startsWith(`${kind}:`))) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), action]);
  }
  if (byKey.size === 0) return [];
  const keys = [...byKey.keys()].sort();
  const windowStart = sql`now() - make_interval(secs => ${grouping.windowMs / 1000})`;
  // Sent together, in this order: the locks, then the open messages and the counts read under them.
  const [, open, counts] = await Promise.all([
    tx.execute(
      transactionLocksOnTexts(
        "threatMessage",
        keys.map((key) => `${channel} ${key}`),
      ),
    ),
    tx
      .select({ id: slackMessages.id, threatKey: slackMessages.threatKey })
      .from(slackMessages)
      .where(
        and(
          eq(slackMessages.channel, channel),
          anyOf(slackMessages.threatKey, keys),
          gt(slackMessages.createdAt, windowStart),
        ),
      )
      .orderBy(desc(slackMessages.createdAt)),
    tx
      .select({ threatKey: actions.threatKey, n: sql<number>`count(*)::int` })
      .from(actions)
      .where(
        and(
          anyOf(actions.threatKey, keys),
          eq(actions.status, "pending"),
          gt(actions.createdAt, windowStart),
        ),
      )
      .groupBy(actions.threatKey),
  ]);
  const openByKey = new Map<string, number>();
  for (const message of open)
    if (!openByKey.has(message.threatKey!)) openByKey.set(message.threatKey!, message.id);

  const closed = keys.filter((key) => !openByKey.has(key));
  const stored = new Map(counts.map((c) => [c.threatKey!, c.n]));
  const starting = closed.filter(
    (key) => (stored.get(key) ?? 0) + byKey.get(key)!.length >= grouping.minActions,
  );
  const created = starting.length
    ? await tx
        .insert(slackMessages)
        .values(starting.map((threatKey) => ({ channel, threatKey })))
        .returning({ id: slackMessages.id, threatKey: slackMessages.threatKey })
    : [];
  const assignments: Assignment[] = [];
  for (const [key, members] of byKey) {
    const existing = openByKey.get(key);
    const fresh = created.find((m) => m.threatKey === key)?.id;
    const messageId = existing ?? fresh;
    if (messageId !== undefined)
      assignments.push({ messageId, actionIds: members.map((a) => a.id), isNew: existing === undefined });
  }
  return assignments;
}

async function assignByInvestigation(tx: Tx, pending: Arrival[], channel: string): Promise<Assignment[]> {
  if (pending.length === 0) return [];
  const byInvestigation = new Map<string, Arrival[]>();
  const alone: Arrival[] = [];
  for (const action of pending) {
    if (action.investigationId === null) alone.push(action);
    else
      byInvestigation.set(action.investigationId, [
        ...(byInvestigation.get(action.investigationId) ?? []),
        action,
      ]);
  }

  const joinable = byInvestigation.size
    ? await tx
        .select({ id: slackMessages.id, investigationId: slackMessages.investigationId })
        .from(slackMessages)
        .where(
          and(
            anyOf(slackMessages.investigationId, [...byInvestigation.keys()]),
            isNull(slackMessages.ts),
            eq(slackMessages.channel, channel),
            gt(slackMessages.createdAt, sql`now() - make_interval(secs => ${JOIN_WINDOW_SECONDS})`),
          ),
        )
        .for("update", { skipLocked: true })
    : [];
  const joined = new Map(joinable.map((m) => [m.investigationId!, m.id]));

  const needNew = [
    ...[...byInvestigation.keys()].filter((id) => !joined.has(id)).map((id) => ({ investigationId: id })),
    ...alone.map(() => ({ investigationId: null })),
  ];
  const created = needNew.length
    ? await tx
        .insert(slackMessages)
        .values(needNew.map((m) => ({ channel, investigationId: m.investigationId })))
        .returning({ id: slackMessages.id })
    : [];

  const assignments: Assignment[] = [];
  let next = 0;
  for (const [investigationId, members] of byInvestigation) {
    const existing = joined.get(investigationId);
    const messageId = existing ?? created[next++]!.id;
    assignments.push({ messageId, actionIds: members.map((a) => a.id), isNew: existing === undefined });
  }
  for (const action of alone)
    assignments.push({ messageId: created[next++]!.id, actionIds: [action.id], isNew: true });
  return assignments;
}

/**
 * Bumps the messages that took arrivals in; a posted one (a threat's) is rendered again, so the
 * render that follows includes them.
 */
async function bumpJoined(tx: Tx, assignments: Assignment[]): Promise<OutboxMessage[]> {
  return bumpMessages(
    tx,
    assignments.filter((a) => !a.isNew).map((a) => a.messageId),
  );
}

/**
 * Puts posted messages behind what they show (something of theirs changed without a status
 * change: actions joined, an event to thread); returns the renders to queue.
 */
export async function bumpMessages(tx: Tx, messageIds: number[]): Promise<OutboxMessage[]> {
  if (messageIds.length === 0) return [];
  // Locked in id order first, as a batch of status changes locks them (db/transitions.ts).
  await tx
    .select({ id: slackMessages.id })
    .from(slackMessages)
    .where(inArray(slackMessages.id, messageIds))
    .orderBy(asc(slackMessages.id))
    .for("update");
  const bumped = await tx
    .update(slackMessages)
    .set({ version: sql`${slackMessages.version} + 1` })
    .where(inArray(slackMessages.id, messageIds))
    .returning({
      id: slackMessages.id,
      version: slackMessages.version,
      render: sql<boolean>`${RENDER_NEEDED}`,
    });
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
