// Slack deliveries seen over Socket Mode (schema.ts `slack_deliveries`): one claim per gesture, so
// an envelope Slack redelivers, on this connection or another process's, is handled once.
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { slackDeliveries } from "../schema.ts";

/**
 * `claimed`: this caller handles the delivery. `handled`: a listener already finished it.
 * `in_progress`: another listener holds a claim younger than `staleAfterSeconds` (a claim older
 * than that, never handled, belonged to a process that died before acking: it is taken over).
 */
export type DeliveryClaim = "claimed" | "handled" | "in_progress";

export async function claimDelivery(db: Db, key: string, staleAfterSeconds: number): Promise<DeliveryClaim> {
  const claimed = await db
    .insert(slackDeliveries)
    .values({ key })
    .onConflictDoUpdate({
      target: slackDeliveries.key,
      set: { claimedAt: sql`now()`, deliveries: sql`${slackDeliveries.deliveries} + 1` },
      setWhere: and(
        isNull(slackDeliveries.handledAt),
        lt(slackDeliveries.claimedAt, sql`now() - make_interval(secs => ${staleAfterSeconds})`),
      ),
    })
    .returning({ key: slackDeliveries.key });
  if (claimed.length > 0) return "claimed";
  const [row] = await db
    .select({ handledAt: slackDeliveries.handledAt })
    .from(slackDeliveries)
    .where(eq(slackDeliveries.key, key));
  return row?.handledAt ? "handled" : "in_progress";
}

export async function markDeliveryHandled(db: Db, key: string): Promise<void> {
  await db.update(slackDeliveries).set({ handledAt: sql`now()` }).where(eq(slackDeliveries.key, key));
}

/** Gives up a claim whose listener failed, so Slack's redelivery is handled. */
export async function releaseDelivery(db: Db, key: string): Promise<void> {
  await db.delete(slackDeliveries).where(eq(slackDeliveries.key, key));
}

/** Forgets deliveries claimed more than `olderThanSeconds` ago; Slack stops retrying long before. */
export async function purgeDeliveries(db: Db, olderThanSeconds: number): Promise<number> {
  const gone = await db
    .delete(slackDeliveries)
    .where(lt(slackDeliveries.claimedAt, sql`now() - make_interval(secs => ${olderThanSeconds})`))
    .returning({ key: slackDeliveries.key });
  return gone.length;
}
