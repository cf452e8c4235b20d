// The private replies the bot keeps following (schema.ts `privateReplies`): recorded when sent,
// marked behind when one of their actions changes, and refreshed through their response_url
// while Slack still takes it (30 minutes, 5 uses).
import { and, eq, gt, lt, lte, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { type PrivateReplyRow, privateReplies } from "../schema.ts";

/** Slack's response_url: valid 30 minutes after the interaction that gave it, for 5 uses. */
export const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;
export const RESPONSE_URL_USES = 5;

export type SentReply = {
  slackUserId: string;
  responseUrl: string;
  source: string;
  note: string | null;
  actionIds: readonly number[];
};

/**
 * Records a reply about to be sent through a fresh response_url (its first use) and returns its
 * id. `replyId`: the reply the click came from, which now answers to this URL instead; it is
 * taken over only if it is the same person's.
 */
export async function recordPrivateReply(
  db: DbOrTx,
  reply: SentReply,
  replyId: number | undefined,
): Promise<number> {
  const values = {
    ...reply,
    actionIds: [...reply.actionIds],
    uses: 1,
    expiresAt: new Date(Date.now() + RESPONSE_URL_LIFETIME_MS),
  };
  if (replyId !== undefined) {
    const [taken] = await db
      .update(privateReplies)
      .set({ ...values, renderedVersion: sql`${privateReplies.version}` })
      .where(and(eq(privateReplies.id, replyId), eq(privateReplies.slackUserId, reply.slackUserId)))
      .returning({ id: privateReplies.id });
    if (taken) return taken.id;
  }
  const [created] = await db.insert(privateReplies).values(values).returning({ id: privateReplies.id });
  return created!.id;
}

/**
 * Marks behind every reply still reachable that shows one of `actionIds`; returns their ids, to
 * refresh. Called in the transaction that hands the changes to the queues.
 */
export async function markRepliesBehind(db: DbOrTx, actionIds: readonly number[]): Promise<number[]> {
  if (actionIds.length === 0) return [];
  const rows = await db
    .update(privateReplies)
    .set({ version: sql`${privateReplies.version} + 1` })
    .where(
      and(
        sql`${privateReplies.actionIds} && ${`{${actionIds.join(",")}}`}::bigint[]`,
        gt(privateReplies.expiresAt, sql`now()`),
        lt(privateReplies.uses, RESPONSE_URL_USES),
      ),
    )
    .returning({ id: privateReplies.id });
  return rows.map((row) => row.id);
}

/** Reply `replyId`, if a change came after its last render and Slack still takes its URL. */
const behindAndReachable = (replyId: number) =>
  and(
    eq(privateReplies.id, replyId),
    lt(privateReplies.renderedVersion, privateReplies.version),
    lt(privateReplies.uses, RESPONSE_URL_USES),
    gt(privateReplies.expiresAt, sql`now()`),
  );

/**
 * Spends one use of a reply's response_url for a refresh, if it is behind and Slack still takes
 * the URL; returns the reply as it stands then (with the use counted), or null.
 */
export async function claimRefresh(db: DbOrTx, replyId: number): Promise<PrivateReplyRow | null> {
  const [row] = await db
    .update(privateReplies)
    .set({ uses: sql`${privateReplies.uses} + 1` })
    .where(behindAndReachable(replyId))
    .returning();
  return row ?? null;
}

/** After a refresh: rendered up to `version`, showing `actionIds` (a listing's page may have moved). */
export async function markReplyRefreshed(
  db: DbOrTx,
  replyId: number,
  refreshed: { version: number; actionIds: readonly number[] },
): Promise<void> {
  await db
    .update(privateReplies)
    .set({
      renderedVersion: sql`greatest(${privateReplies.renderedVersion}, ${refreshed.version})`,
      actionIds: [...refreshed.actionIds],
    })
    .where(eq(privateReplies.id, replyId));
}

/** Slack refused the URL (expired or used up): the reply is no longer followed. */
export async function markReplyUnreachable(db: DbOrTx, replyId: number): Promise<void> {
  await db.update(privateReplies).set({ uses: RESPONSE_URL_USES }).where(eq(privateReplies.id, replyId));
}

/** Whether a change landed after the refresh that rendered `version`. */
export async function replyBehind(db: DbOrTx, replyId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: privateReplies.id })
    .from(privateReplies)
    .where(behindAndReachable(replyId));
  return row !== undefined;
}

/** Forgets the replies Slack no longer takes; returns how many. */
export async function deleteExpiredReplies(db: DbOrTx): Promise<number> {
  const rows = await db
    .delete(privateReplies)
    .where(lte(privateReplies.expiresAt, sql`now()`))
    .returning({ id: privateReplies.id });
  return rows.length;
}
