// An action run by a remote backend (Defender), in two steps: shown running first, then acted on
// and recorded in one transaction. "Not finished yet" sends the same job back later, delayed, so
// waiting for Defender never holds a worker slot.
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { BackendRateLimitError, CheckLater, type RemoteBackend } from "../../../backend/types.ts";
import type { AppContext } from "../../../context.ts";
import { getAction, lockAction } from "../../../db/queries/actions.ts";
import { transitionAction } from "../../../db/transitions.ts";
import type { ExecuteJob } from "../../queues.ts";
import type { JobRun } from "../../worker.ts";
import { type ExecuteOutcome, failOrRetry, observe, STEPS } from "./steps.ts";

export async function runRemotely(
  ctx: AppContext,
  backend: RemoteBackend,
  job: Job<ExecuteJob>,
  { worker, token }: JobRun,
): Promise<ExecuteOutcome> {
  const { actionId, operation, attempt } = job.data;
  const step = STEPS[operation];
  const current = await getAction(ctx.db, actionId);
  if (!current) throw new UnrecoverableError(`action ${actionId} does not exist`);
  if ((operation === "apply" ? current.attempt : current.undoAttempt) !== attempt) return "skipped";

  // Step 1: show it running. A crash after this leaves it running; the retried job resumes.
  let decidedAt = current.updatedAt;
  if (current.status !== step.running) {
    const started = await ctx.db.transaction((tx) =>
      transitionAction(tx, { actionId, transition: step.start, actor: "system", detail: { attempt } }),
    );
    if (!started.ok) return "skipped";
    decidedAt = started.previous.updatedAt;
    ctx.metrics.transitions.inc({ transition: step.start });
  }

  // Step 2: act and record the outcome in one transaction, so the act happens once.
  let outcome: "done" | "skipped" | CheckLater;
  try {
    outcome = await ctx.db.transaction(async (tx) => {
      const action = await lockAction(tx, actionId);
      if (action?.status !== step.running) return "skipped";
      const undoData =
        operation === "apply" ? await backend.apply(tx, action) : await backend.undo(tx, action);
      // The backend recorded its run in this transaction; the status stays until it is done.
      if (undoData instanceof CheckLater) return undoData;
      const finished = await transitionAction(tx, {
        actionId,
        transition: step.succeed,
        actor: "system",
        detail: { attempt },
        set: () =>
          operation === "apply" ? { completedAt: new Date(), undoData, error: null } : { error: null },
      });
      if (!finished.ok) throw new Error(`could not record the outcome: ${finished.message}`);
      return "done";
    });
  } catch (error) {
    if (error instanceof BackendRateLimitError) {
      // The service asked every caller to wait: the whole queue pauses, and this job is not charged.
      ctx.log.warn({ actionId, operation, retryAfterMs: error.retryAfterMs }, error.message);
      await worker.rateLimit(error.retryAfterMs);
      throw Worker.RateLimitError();
    }
    return failOrRetry(ctx, job, error, decidedAt);
  }
  if (outcome === "skipped") return "skipped";
  if (outcome instanceof CheckLater) {
    if (token === undefined) throw new Error("a delayed check needs the job's lock token");
    await job.moveToDelayed(Date.now() + outcome.afterMs, token);
    throw new DelayedError();
  }
  ctx.metrics.transitions.inc({ transition: step.succeed });
  observe(ctx, operation, "completed", decidedAt);
  return "completed";
}
