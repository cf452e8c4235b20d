// Expiry: a pending action nobody decided in time. Its timer job (jobs/processors/timers.ts) and
// the sweep (jobs/expirySweeper.ts) both come here.
import type { AppContext } from "../context.ts";
import { overduePendingIds } from "../db/queries/actions.ts";
import { type TransitionOutcome, transitionAction } from "../db/transitions.ts";

/**
 * Expires a pending action (actor `system`). It goes through the row lock and the status check
 * of every transition, so of an expiry and an approval arriving together exactly one wins.
 */
export async function expireAction(ctx: AppContext, actionId: number): Promise<TransitionOutcome> {
  const outcome = await ctx.db.transaction((tx) =>
    transitionAction(tx, { actionId, transition: "expire", actor: "system" }),
  );
  if (outcome.ok) ctx.metrics.transitions.inc({ transition: "expire" });
  return outcome;
}

/** Expires up to `limit` overdue pending actions, oldest first; returns how many it expired. */
export async function expireOverdue(ctx: AppContext, limit: number): Promise<number> {
  let expired = 0;
  // One at a time, each through the transition's row lock: a decision racing it still wins or loses cleanly.
  for (const id of await overduePendingIds(ctx.db, limit)) if ((await expireAction(ctx, id)).ok) expired += 1;
  return expired;
}
