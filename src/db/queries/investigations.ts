// What the investigation page shows: an investigation's actions and each one's audit trail.
import { and, asc, eq, inArray, isNotNull } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import {
  type ActionEventRow,
  type ActionRow,
  actionEvents,
  actions,
  investigations,
  slackMessages,
} from "../schema.ts";

export type ActionWithEvents = {
  action: ActionRow;
  events: ActionEventRow[];
  /** The posted threat message that shows the action, when it is grouped into one. */
  threatMessage?: { channel: string; ts: string };
};

export type InvestigationView = {
  id: string;
  createdAt: Date;
  /** At most `limit`, oldest first. */
  actions: ActionWithEvents[];
  /** Whether the investigation has more actions than were read. */
  more: boolean;
};

/** The first `limit` actions of the investigation; undefined when there is no such investigation. */
export async function getInvestigation(
  db: DbOrTx,
  id: string,
  limit: number,
): Promise<InvestigationView | undefined> {
  const [investigation] = await db.select().from(investigations).where(eq(investigations.id, id));
  if (!investigation) return undefined;
  const rows = await db
    .select()
    .from(actions)
    .where(eq(actions.investigationId, id))
    .orderBy(asc(actions.id))
    .limit(limit + 1);
  return {
    ...investigation,
    actions: await withEvents(db, rows.slice(0, limit)),
    more: rows.length > limit,
  };
}

/** Each action with its audit trail, oldest event first. */
export async function withEvents(db: DbOrTx, rows: ActionRow[]): Promise<ActionWithEvents[]> {
  if (rows.length === 0) return [];
  const events = await db
    .select()
    .from(actionEvents)
    .where(
      inArray(
        actionEvents.actionId,
        rows.map((row) => row.id),
      ),
    )
    .orderBy(asc(actionEvents.id));
  const byAction = new Map<number, ActionEventRow[]>();
  for (const event of events) {
    const list = byAction.get(event.actionId);
    if (list) list.push(event);
    else byAction.set(event.actionId, [event]);
  }
  const messageIds = [
    ...new Set(rows.flatMap((row) => (row.slackMessageId === null ? [] : [row.slackMessageId]))),
  ];
  const threats = messageIds.length
    ? await db
        .select({ id: slackMessages.id, channel: slackMessages.channel, ts: slackMessages.ts })
        .from(slackMessages)
        .where(
          and(
            inArray(slackMessages.id, messageIds),
            isNotNull(slackMessages.threatKey),
            isNotNull(slackMessages.ts),
          ),
        )
    : [];
  const threatOf = new Map(threats.map((m) => [m.id, { channel: m.channel, ts: m.ts! }]));
  return rows.map((action) => {
    const threatMessage = action.slackMessageId === null ? undefined : threatOf.get(action.slackMessageId);
    return { action, events: byAction.get(action.id) ?? [], ...(threatMessage && { threatMessage }) };
  });
}
