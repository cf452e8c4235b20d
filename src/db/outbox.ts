// The outbox: work that must follow a committed change, written in the same transaction, so a
// Redis outage loses nothing. The dispatcher (jobs/outboxDispatcher.ts) turns rows into jobs.
import { sql } from "drizzle-orm";
import type { Status } from "../domain/status.ts";
import { anyOf, type DbOrTx, type Tx } from "./client.ts";
import { insertFromJson } from "./jsonRows.ts";
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

/** A run of an action (or of its undo) to start: the attempt it is, so a stale job does nothing. */
export type ExecuteRequest = { actionId: number; operation: "apply" | "undo"; attempt: number };

/** Work that must follow a committed change, written in the same transaction (the outbox). */
export type OutboxMessage =
  | { topic: "execute"; payload: ExecuteRequest }
  /** Many runs started at once (an Approve all, a bulk undo): one row, not a row per action. */
  | { topic: "executes"; payload: { items: ExecuteRequest[] } }
  | { topic: "message.created"; payload: { messageId: number } }
  /** A message changed without an action of its own changing: a Defender investigation's notice, or a posted threat message that took in more actions. */
  | { topic: "message.changed"; payload: { messageId: number; messageVersion: number } }
  | { topic: "action.changed"; payload: ActionChanged }
  /** A batch's changes in one row: a row per action would cost more than the action itself. */
  | { topic: "actions.changed"; payload: { changes: ActionChanged[] } }
  /** Written before timers went in one row per ingest; still dispatched. */
  | { topic: "timer"; payload: Timer }
  /** Timers of their own in one row (a step-up's end; an ingest's, before timer groups). */
  | { topic: "timers"; payload: { timers: Timer[] } }
  /** The timers of a batch of new actions, in one row: a row each cost more than the action. */
  | { topic: "timerGroups"; payload: { groups: TimerGroup[] } };

/**
 * The same timer of many actions, due at the same moment (the actions of a batch that share a
 * source and type): each is a delayed job of its own once dispatched.
 */
export type TimerGroup = { kind: "expire" | "remind" | "escalate"; dueAt: number; actionIds: number[] };

/** A delayed job; `dueAt`: epoch milliseconds, so that time spent in the outbox does not delay it. */
export type Timer =
  | { actionId: number; kind: "expire" | "remind" | "escalate"; dueAt: number }
  /** The end of a step-up's link (and of the sign-in it started): the message stops showing it. */
  | { actionId: number; kind: "sign_in_expiry"; stepUpId: number; dueAt: number };

/**
 * The same work with every run to start in one `executes` row: thousands of decisions committed
 * together write one outbox row, and one dispatch round turns it into batch jobs, instead of a
 * row each and a round per few thousand.
 */
export function withExecutesTogether(messages: OutboxMessage[]): OutboxMessage[] {
  const items = messages.flatMap((m) =>
    m.topic === "execute" ? [m.payload] : m.topic === "executes" ? m.payload.items : [],
  );
  if (items.length < 2) return messages;
  return [
    ...messages.filter((m) => m.topic !== "execute" && m.topic !== "executes"),
    { topic: "executes", payload: { items } },
  ];
}

export async function writeOutbox(tx: DbOrTx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  // The notification is delivered at commit, so a dispatcher wakes only for work that really happened.
  await tx.execute(sql`with queued as (
      insert into ${outbox} ${insertFromJson(
        outbox,
        messages.map((m) => ({ topic: m.topic, payload: m.payload as Record<string, unknown> })),
      )} returning 1)
    select (select count(*) from queued) as queued, pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/** The oldest outbox rows no other dispatcher holds, locked until this transaction ends. */
export async function claimOutbox(tx: Tx, limit: number): Promise<OutboxRow[]> {
  return tx.select().from(outbox).orderBy(outbox.id).limit(limit).for("update", { skipLocked: true });
}

export async function deleteOutbox(tx: Tx, ids: number[]): Promise<void> {
  await tx.delete(outbox).where(anyOf(outbox.id, ids));
}
