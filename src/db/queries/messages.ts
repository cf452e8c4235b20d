// Which Slack message shows which pending action. Actions of one investigation that arrive
// together share one message; a message not yet posted takes in late arrivals of its
// investigation, so a burst becomes one message per investigation rather than a flood.
import { and, asc, eq, gt, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { anyOf, type DbOrTx, type Tx } from "../client.ts";
import type { OutboxMessage } from "../outbox.ts";
import {
  type ActionEventRow,
  type ActionRow,
  actionEvents,
  actions,
  type SlackMessageRow,
  slackMessages,
} from "../schema.ts";
import { approversOfEach } from "./approvals.ts";

// How long an unposted message keeps taking in actions; the post waits about this long too.
const JOIN_WINDOW_SECONDS = 10;

export async function assignMessages(
  tx: Tx,
  pending: ActionRow[],
  channel: string,
): Promise<OutboxMessage[]> {
  if (pending.length === 0) return [];
  const byInvestigation = new Map<string, ActionRow[]>();
  const alone: ActionRow[] = [];
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
            inArray(slackMessages.investigationId, [...byInvestigation.keys()]),
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

  const assignments: { messageId: number; actionIds: number[]; isNew: boolean }[] = [];
  let next = 0;
  for (const [investigationId, members] of byInvestigation) {
    const existing = joined.get(investigationId);
    const messageId = existing ?? created[next++]!.id;
    assignments.push({ messageId, actionIds: members.map((a) => a.id), isNew: existing === undefined });
  }
  for (const action of alone)
    assignments.push({ messageId: created[next++]!.id, actionIds: [action.id], isNew: true });

  for (const { messageId, actionIds } of assignments) {
    await tx.update(actions).set({ slackMessageId: messageId }).where(anyOf(actions.id, actionIds));
  }
  // A joined message may already be rendering: bump it so the render that follows includes these.
  const joinedIds = assignments.filter((a) => !a.isNew).map((a) => a.messageId);
  if (joinedIds.length) {
    await tx
      .update(slackMessages)
      .set({ version: sql`${slackMessages.version} + 1` })
      .where(inArray(slackMessages.id, joinedIds));
  }
  return assignments
    .filter((a) => a.isNew)
    .map((a) => ({ topic: "message.created" as const, payload: { messageId: a.messageId } }));
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

/** An action as its message shows it: with the approvals so far when it needs more than one. */
export type MessageAction = ActionRow & { approvals?: { needed: number; by: string[] } };

export async function messageActions(db: DbOrTx, messageId: number): Promise<MessageAction[]> {
  const rows = await db
    .select()
    .from(actions)
    .where(eq(actions.slackMessageId, messageId))
    .orderBy(asc(actions.id));
  const counted = rows.filter((row) => row.approvalsNeeded > 1).map((row) => row.id);
  if (counted.length === 0) return rows;
  const given = await approversOfEach(db, counted);
  return rows.map((row) =>
    row.approvalsNeeded > 1
      ? { ...row, approvals: { needed: row.approvalsNeeded, by: given.get(row.id) ?? [] } }
      : row,
  );
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

/** The audit events of `actionIds` after `afterEventId`, oldest first. */
export async function eventsAfter(
  db: DbOrTx,
  actionIds: number[],
  afterEventId: number,
  limit: number,
): Promise<ActionEventRow[]> {
  return db
    .select()
    .from(actionEvents)
    .where(and(inArray(actionEvents.actionId, actionIds), gt(actionEvents.id, afterEventId)))
    .orderBy(asc(actionEvents.id))
    .limit(limit);
}

export async function markThreaded(db: DbOrTx, messageId: number, eventId: number): Promise<void> {
  await db.update(slackMessages).set({ threadedEventId: eventId }).where(eq(slackMessages.id, messageId));
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
