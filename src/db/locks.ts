// Every advisory lock space the program uses, in one place so that no two share a number: a
// shared number makes unrelated work wait on each other. A two-key lock is (space, key); the
// migration lock is a one-key lock, which Postgres keeps apart from two-key ones.
import { type SQL, sql } from "drizzle-orm";

export const LOCK_SPACES = {
  /** One-key: creating the database and applying migrations, across processes. */
  migration: 7_314_001,
  /** Per Slack message: one render at a time, so an older render never lands after a newer one. */
  messageRender: 7_314_002,
  /** Per Slack message: its reminders and escalations are posted one at a time. */
  messageReminders: 7_314_003,
  /** Per thing an action touches (a file on a device, a service, a URL…), in the simulated fleet. */
  touchedThing: 7_314_004,
  /** Per threat key and channel: one ingest at a time decides whether its threat message exists. */
  threatMessage: 7_314_005,
  /** Per device (Defender): who takes its one live response session is decided one at a time. */
  liveResponseDevice: 7_314_006,
} as const;

type LockSpace = Exclude<keyof typeof LOCK_SPACES, "migration">;

/** Waits for the (space, key) lock, held until the transaction ends. */
export function transactionLock(space: LockSpace, key: number | SQL): SQL {
  return sql`select pg_advisory_xact_lock(${LOCK_SPACES[space]}, ${key})`;
}

/** Waits for the (space, hash of each text) locks, taken in the order given, in one statement. */
export function transactionLocksOnTexts(space: LockSpace, texts: readonly string[]): SQL {
  // The array's elements come in its order, so callers that sort their texts cannot deadlock.
  return sql`select pg_advisory_xact_lock(${LOCK_SPACES[space]}, hashtext(k))
    from jsonb_array_elements_text(${JSON.stringify(texts)}::jsonb) as k`;
}

/** Takes the (space, key) lock until the transaction ends if it is free; selects `locked`. */
export function tryTransactionLock(space: LockSpace, key: number | SQL): SQL {
  return sql`select pg_try_advisory_xact_lock(${LOCK_SPACES[space]}, ${key}) as locked`;
}
