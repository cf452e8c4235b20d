// Expires pending actions past their time whose expiry job Redis lost (or that were waiting before
// expiry existed). The delayed jobs do the work on time; this only makes sure nothing waits forever.
// It also forgets the private replies whose response_url Slack no longer takes.
import type { AppContext } from "../context.ts";
import { deleteExpiredReplies } from "../db/queries/privateReplies.ts";
import { startPeriodicPass } from "../lib/periodicPass.ts";
import { expireOverdue } from "../services/expiry.ts";

const SWEEP_EVERY_MS = 60_000;
const BATCH = 500;
/** How long a stop waits for the sweep in progress; the next process sweeps at its start. */
const STOP_MS = 1000;

/** Expires up to one batch of overdue pending actions; returns how many it expired. */
export async function sweepExpired(ctx: AppContext): Promise<number> {
  const expired = await expireOverdue(ctx, BATCH);
  if (expired > 0) ctx.log.info({ count: expired }, "expired overdue pending actions");
  await deleteExpiredReplies(ctx.db);
  return expired;
}

/** Sweeps at start (catching up after downtime) and then every minute. */
export function startExpirySweeper(ctx: AppContext): { stop(): Promise<void> } {
  return startPeriodicPass({
    name: "expiry sweep",
    everyMs: SWEEP_EVERY_MS,
    atStart: true,
    run: () => sweepExpired(ctx),
    log: ctx.log,
    stopWithin: { ms: STOP_MS, dependsOn: "Postgres" },
  });
}
