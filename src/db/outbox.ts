// The outbox: work that must follow a committed change, written in the same transaction, so a
// Redis outage loses nothing. The dispatcher (jobs/outboxDispatcher.ts) turns rows into jobs.
import { sql } from "drizzle-orm";
import type { Status } from "../domain/status.ts";
import { anyOf, type DbOrTx, type Tx } from "./client.ts";
import { type OutboxRow, outbox } from "./schema.ts";

export const OUTBOX_CHANNEL = "action_center_outbox";
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
  /** A message changed without an action of its own changing: a Defender investigation's notice, or a posted threat message that took in more actions. */
  | { topic: "message.changed"; payload: { messageId: number; messageVersion: number } }
  | { topic: "action.changed"; payload: ActionChanged }
  /** A batch's changes in one row: a row per action would cost more than the action itself. */
  | { topic: "actions.changed"; payload: { changes: ActionChanged[] } }
  | {
      topic: "timer";
      /** `dueAt`: epoch milliseconds, so that time spent in the outbox does not delay it. */
      payload: { actionId: number; kind: "expire" | "remind" | "escalate"; dueAt: number };
    };

export async function writeOutbox(tx: DbOrTx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.insert(outbox).values(messages.map((m) => ({ topic: m.topic, payload: m.payload })));
  // Delivered at commit, so a dispatcher wakes only for work that really happened.
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/** The oldest outbox rows no other dispatcher holds, locked until this transaction ends. */
export async function claimOutbox(tx: Tx, limit: number): Promise<OutboxRow[]> {
  return tx.select().from(outbox).orderBy(outbox.id).limit(limit).for("update", { skipLocked: true });
}

export async function deleteOutbox(tx: Tx, ids: number[]): Promise<void> {
  await tx.delete(outbox).where(anyOf(outbox.id, ids));
}
