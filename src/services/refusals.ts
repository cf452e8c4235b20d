// A person's decision refused before it reached the status machine (not an approver of that type,
// their own request, Slack could not say who requested it): every refusal is kept in the audit
// trail of each action it named, threaded under the message showing it, and counted.
import type { DbOrTx } from "../db/client.ts";
import { writeOutbox } from "../db/outbox.ts";
import { bumpMessages, messageIdsOf } from "../db/queries/messages.ts";
import { appendEvents } from "../db/transitions.ts";
import type { Decision } from "../domain/status.ts";
import type { Metrics } from "../telemetry/metrics.ts";

/** Why a person may not take a decision, as the adapter that knows the person found it. */
export type Refusal = { reason: string; outcome: "forbidden" | "error" };

/**
 * What the checks of one person's decision on one action found: a refusal, or leave to decide,
 * the approval counting towards at least `approvalsAtLeast` distinct approvers.
 */
export type Clearance<R extends Refusal = Refusal> =
  | { ok: false; refusal: R }
  | { ok: true; refusal: null; approvalsAtLeast: number };

/**
 * One refused request: an audit event on each of `actionIds` (there may be none), counted per
 * action, as if each had been clicked (once when it names none).
 */
export async function recordRefusal(
  ctx: { db: DbOrTx; metrics: Metrics },
  request: { actionIds: readonly number[]; decision: Decision; actor: string; refusal: Refusal },
): Promise<void> {
  const { decision, actor, refusal } = request;
  await ctx.db.transaction(async (tx) => {
    // One statement however many actions the request named (Reject all on a threat of thousands).
    await appendEvents(
      tx,
      request.actionIds.map((actionId) => ({
        actionId,
        kind: "decision_refused",
        actor,
        detail: { decision, reason: refusal.reason },
      })),
    );
    // Threaded under the message like any other event: its re-render posts the events after the
    // last one threaded (jobs/processors/slackUpdate.ts).
    await writeOutbox(tx, await bumpMessages(tx, await messageIdsOf(tx, request.actionIds)));
  });
  ctx.metrics.decisions.inc({ decision, outcome: refusal.outcome }, Math.max(1, request.actionIds.length));
}
