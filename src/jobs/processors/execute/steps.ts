// What every way of running an action shares: the steps of the status machine each operation
// goes through, the outcome a job reports, and how a failure ends (retried, or recorded).
import type { Job } from "bullmq";
import { BackendError } from "../../../backend/types.ts";
import type { AppContext } from "../../../context.ts";
import { transitionAction } from "../../../db/transitions.ts";
import type { ExecuteJob } from "../../queues.ts";

export const STEPS = {
  apply: { start: "start", running: "running", succeed: "complete", fail: "fail" },
  undo: { start: "start_undo", running: "undoing", succeed: "finish_undo", fail: "fail_undo" },
} as const;

/** "split": a batch that failed as a whole was handed on as one job per action. */
export type ExecuteOutcome = "completed" | "failed" | "skipped" | "split";

/** Counts a run that started and completed, from its decision to now. */
export function countCompleted(ctx: AppContext, operation: ExecuteJob["operation"], decidedAt: Date): void {
  const step = STEPS[operation];
  ctx.metrics.transitions.inc({ transition: step.start });
  ctx.metrics.transitions.inc({ transition: step.succeed });
  observe(ctx, operation, "completed", decidedAt);
}

export function observe(
  ctx: AppContext,
  operation: ExecuteJob["operation"],
  outcome: "completed" | "failed",
  decidedAt: Date,
): void {
  ctx.metrics.executionSeconds.observe({ operation, outcome }, (Date.now() - decidedAt.getTime()) / 1000);
}

/**
 * A try failed: BullMQ retries it with backoff (the action stays running), unless the error is
 * permanent or this was the last try, when the failure is recorded with its reason.
 */
export async function failOrRetry(
  ctx: AppContext,
  job: Job<ExecuteJob>,
  error: unknown,
  decidedAt: Date,
): Promise<ExecuteOutcome> {
  const { actionId, operation, attempt } = job.data;
  const step = STEPS[operation];
  const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const permanent = error instanceof BackendError && !error.retryable;
  if (!permanent && !lastTry) throw error;
  const message = error instanceof Error ? error.message : String(error);
  await ctx.db.transaction((tx) =>
    transitionAction(tx, {
      actionId,
      transition: step.fail,
      actor: "system",
      detail: { attempt, error: message },
      set: () => ({ error: message }),
    }),
  );
  ctx.metrics.transitions.inc({ transition: step.fail });
  observe(ctx, operation, "failed", decidedAt);
  ctx.log.warn({ actionId, operation, attempt, error: message }, "action failed");
  return "failed";
}
