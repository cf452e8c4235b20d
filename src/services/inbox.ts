// The rule that makes a Slack request decide at most once: the decision it leads to commits in
// the same transaction that marks its inbox row done, and a row already done decides nothing.
// The row being handled travels with the async context of its handling (AsyncLocalStorage), so
// every decision made on its behalf — a button, a modal, a bulk undo — settles it without each
// listener passing an id along.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Db, Tx } from "../db/client.ts";
import { settleInboxRow } from "../db/inbox.ts";

type Handling = { inboxId: number; decided: boolean };

const handling = new AsyncLocalStorage<Handling>();

/** Runs `work` as the handling of inbox row `inboxId`; says whether a decision settled the row. */
export async function handleInboxRow(
  inboxId: number,
  work: () => Promise<unknown>,
): Promise<{ decided: boolean }> {
  const state: Handling = { inboxId, decided: false };
  await handling.run(state, work);
  return { decided: state.decided };
}

/**
 * Runs `work` (a decision) in one transaction that also settles the request being handled, if
 * any; when that request was already settled by a concurrent handling, nothing is decided and
 * `alreadyDecided` is the answer. Outside a handled request (the API, the policy) it is a plain
 * transaction. Later decisions of the same request (after it settled) go on as part of it.
 */
export async function decideOnce<T>(
  db: Db,
  work: (tx: Tx) => Promise<T>,
  alreadyDecided: () => T,
): Promise<T> {
  const request = handling.getStore();
  if (!request || request.decided) return db.transaction(work);
  const outcome = await db.transaction(async (tx) => {
    if (!(await settleInboxRow(tx, request.inboxId, "decided"))) return { settledBefore: true as const };
    return { value: await work(tx) };
  });
  if ("settledBefore" in outcome) return alreadyDecided();
  request.decided = true;
  return outcome.value;
}
