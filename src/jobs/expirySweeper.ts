// Expires pending actions past their time whose expiry job Redis lost (or that were waiting before
// expiry existed). The delayed jobs do the work on time; this only makes sure nothing waits forever.
import type { AppContext } from "../context.ts";
import { finishesWithin } from "../lib/deadline.ts";
import { expireOverdue } from "../services/expiry.ts";

const SWEEP_EVERY_MS = 60_000;
const BATCH = 500;
/** How long a stop waits for the sweep in progress; the next process sweeps at its start. */
const STOP_MS = 1000;

/** Expires up to one batch of overdue pending actions; returns how many it expired. */
export async function sweepExpired(ctx: AppContext): Promise<number> {
  const expired = await expireOverdue(ctx, BATCH);
  if (expired > 0) ctx.log.info({ count: expired }, "expired overdue pending actions");
  return expired;
}

/** Sweeps at start (catching up after downtime) and then every minute. */
export function startExpirySweeper(ctx: AppContext): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const sweep = () => {
    // A long sweep is not overlapped by the next one.
    running ??= sweepExpired(ctx)
      .catch((error: unknown) =>
        // A sweep the stop gave up on fails once the pool closes: nothing to try again.
        ctx.log[stopped ? "debug" : "warn"](
          { err: error },
          stopped ? "expiry sweep cut off by the stop" : "expiry sweep failed; will try again",
        ),
      )
      .finally(() => {
        running = null;
      });
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running && !(await finishesWithin(running, STOP_MS))) {
        ctx.log.warn({ waitedMs: STOP_MS }, "expiry sweep abandoned: Postgres does not answer");
      }
    },
  };
}
