// The inbox of signed Slack requests (schema.ts: slack_inbox): written before the ack, settled
// in the decision's own transaction, taken over by a recovery when its claim runs out.
import { sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "./client.ts";
import { type SlackInboxRow, slackInbox } from "./schema.ts";

export type InboxRequest = { requestKey: string; kind: string; payload: Record<string, unknown> };
export type InboxEntry = Pick<SlackInboxRow, "id" | "kind" | "payload" | "attempts" | "receivedAt">;
export type InboxOutcome = NonNullable<SlackInboxRow["outcome"]>;

/**
 * Records the requests in one statement, each claimed for `claimMs`; returns each one's row id in
 * order, or null for a request whose key was already received (a replay, or Slack's own retry).
 */
export async function insertInboxRequests(
  db: DbOrTx,
  requests: readonly InboxRequest[],
  claimMs: number,
): Promise<(number | null)[]> {
  // The same key twice in one batch: the first one is the request, the others its replays.
  const first = new Map<string, number>();
  requests.forEach((request, i) => {
    if (!first.has(request.requestKey)) first.set(request.requestKey, i);
  });
  const rows = [...first.values()].map((i) => ({
    request_key: requests[i]!.requestKey,
    kind: requests[i]!.kind,
    payload: requests[i]!.payload,
  }));
  // One array parameter: the statement is prepared once whatever the size of the burst.
  const inserted = await db.execute<{ id: string; request_key: string }>(sql`
    insert into slack_inbox (request_key, kind, payload, claimed_until)
    select r.request_key, r.kind, r.payload, clock_timestamp() + make_interval(secs => ${claimMs / 1000})
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(request_key text, kind text, payload jsonb)
    on conflict (request_key) do nothing
    returning id, request_key`);
  const idOf = new Map(inserted.map((row) => [row.request_key, Number(row.id)]));
  return requests.map((request, i) =>
    first.get(request.requestKey) === i ? (idOf.get(request.requestKey) ?? null) : null,
  );
}

/**
 * Marks the row done inside `tx`, the transaction of what it decided; false when it was done
 * already (a concurrent handling of the same request won), so that it decides nothing twice.
 */
export async function settleInboxRow(tx: Tx, id: number, outcome: InboxOutcome): Promise<boolean> {
  const settled = await tx.execute(sql`
    update slack_inbox set done_at = clock_timestamp(), outcome = ${outcome}
    where id = ${id} and done_at is null
    returning id`);
  return settled.length === 1;
}

/** Marks handled rows done (requests that decide nothing, or whose decision settled nothing). */
export async function finishInboxRows(
  db: DbOrTx,
  ids: readonly number[],
  outcome: InboxOutcome,
): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(sql`
    update slack_inbox set done_at = clock_timestamp(), outcome = ${outcome}
    where id = any(${sql.param(ids)}) and done_at is null`);
}

/** Keeps the rows this process is still handling away from recoveries for another `claimMs`. */
export async function renewInboxClaims(db: DbOrTx, ids: readonly number[], claimMs: number): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(sql`
    update slack_inbox set claimed_until = clock_timestamp() + make_interval(secs => ${claimMs / 1000})
    where id = any(${sql.param(ids)}) and done_at is null`);
}

/**
 * Takes over the oldest row whose claim ran out (its process died), claimed for `claimMs` and
 * counted as an attempt; a row another recovery holds is skipped. One at a time, so that only a
 * handling that starts counts: a process killed meanwhile has not tried the rows behind it.
 */
export async function claimAbandonedInboxRow(db: DbOrTx, claimMs: number): Promise<InboxEntry | null> {
  const [row] = await db.execute<{
    id: string;
    kind: string;
    payload: Record<string, unknown>;
    attempts: number;
    received_ms: number;
  }>(sql`
    update slack_inbox i
    set claimed_until = clock_timestamp() + make_interval(secs => ${claimMs / 1000}), attempts = i.attempts + 1
    from (
      select id from slack_inbox
      where done_at is null and claimed_until < clock_timestamp()
      order by id limit 1
      for update skip locked
    ) abandoned
    where i.id = abandoned.id
    returning i.id, i.kind, i.payload, i.attempts, (extract(epoch from i.received_at) * 1000)::float8 as received_ms`);
  if (!row) return null;
  const { kind, payload, attempts } = row;
  return { id: Number(row.id), kind, payload, attempts, receivedAt: new Date(row.received_ms) };
}

/** Forgets finished requests received more than `ageMs` ago; returns how many. */
export async function deleteFinishedInboxRows(db: DbOrTx, ageMs: number): Promise<number> {
  const deleted = await db.execute(sql`
    delete from ${slackInbox}
    where done_at is not null and received_at < clock_timestamp() - make_interval(secs => ${ageMs / 1000})
    returning 1`);
  return deleted.length;
}
