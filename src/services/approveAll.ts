// Approve all on an investigation's message too large for per-action rows: every action the
// message still shows as waiting gets the checks of a single Approve (per-type approvers, no
// self-approval), each refusal audited; then the approvals commit in batches rather than one
// transaction per action. Who may decide is the caller's check, as for every decision.

import type { Db } from "../db/client.ts";
import { pendingActionsOnMessage } from "../db/queries/actions.ts";
import { getMessage } from "../db/queries/messages.ts";
import type { ActionRow } from "../db/schema.ts";
import { type Result, refuse } from "../domain/result.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { decideInTransaction } from "./decide.ts";
import { type Refusal, recordRefusal } from "./refusals.ts";

// Approvals per transaction: big enough to spare thousands of commits, small enough that the
// row locks are held briefly while people click elsewhere.
const APPROVE_ALL_BATCH = 200;

export type WaitingOnMessage = { investigationId: string | null; pending: ActionRow[] };

/** What one of our messages still shows as waiting, or null when the message is not ours. */
export async function waitingOnMessage(db: Db, messageKey: number): Promise<WaitingOnMessage | null> {
  const message = await getMessage(db, messageKey);
  if (!message) return null;
  return { investigationId: message.investigationId, pending: await pendingActionsOnMessage(db, message.id) };
}

export type ApproveAllOutcome<R extends Refusal> = Result<
  {
    approved: number;
    /** First approvals under the two-person rule: each action waits for another approver. */
    recorded: number;
    /** Decided by someone else between the read and the approval. */
    skipped: number;
    /** One per action the person may not approve, in the actions' order. */
    refusals: R[];
  },
  "not_our_message" | "nothing_waiting"
>;

export async function approveAll<R extends Refusal>(
  ctx: { db: Db; metrics: Metrics },
  request: {
    messageKey: number;
    /** The verified user id. */
    actor: string;
    refusalFor: (action: ActionRow) => Promise<R | null>;
  },
): Promise<ApproveAllOutcome<R>> {
  const { db, metrics } = ctx;
  const { actor } = request;
  const waiting = await waitingOnMessage(db, request.messageKey);
  if (!waiting) return refuse("not_our_message", "That message is not ours any more.");
  if (waiting.pending.length === 0) return refuse("nothing_waiting", "Nothing is waiting for approval here.");
  const allowed: number[] = [];
  const refusals: R[] = [];
  for (const action of waiting.pending) {
    const refusal = await request.refusalFor(action);
    if (!refusal) {
      allowed.push(action.id);
      continue;
    }
    await recordRefusal(ctx, { actionIds: [action.id], decision: "approve", actor, refusal });
    refusals.push(refusal);
  }
  let approved = 0;
  let recorded = 0;
  for (let i = 0; i < allowed.length; i += APPROVE_ALL_BATCH) {
    await db.transaction(async (tx) => {
      for (const actionId of allowed.slice(i, i + APPROVE_ALL_BATCH)) {
        const outcome = await decideInTransaction(tx, { actionId, decision: "approve", actor });
        if (outcome.ok && "approvals" in outcome) recorded += 1;
        else if (outcome.ok) approved += 1;
      }
    });
  }
  metrics.decisions.inc({ decision: "approve", outcome: "done" }, approved);
  return { ok: true, approved, recorded, skipped: allowed.length - approved - recorded, refusals };
}
