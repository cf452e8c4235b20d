// Which Slack message shows which pending action. Actions of one investigation that arrive
// together share one message; a message not yet posted takes in late arrivals of its
// investigation, so a burst becomes one message per investigation rather than a flood.
import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { anyOf, type DbOrTx, type Tx } from "../client.ts";
import type { OutboxMessage } from "../outbox.ts";
import { type ActionRow, actions, slackMessages } from "../schema.ts";

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

export type SlackMessageRow = typeof slackMessages.$inferSelect;

export async function getSlackMessage(db: DbOrTx, id: number): Promise<SlackMessageRow | undefined> {
  const [row] = await db.select().from(slackMessages).where(eq(slackMessages.id, id));
  return row;
}
