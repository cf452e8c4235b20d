// Runs an approved action (or an undo) exactly once. The job only says "look at action N";
// the store says whether there is anything to do, so a duplicate or stale job changes nothing.
// A remote backend that answers "not finished yet" gets the same job back later, delayed, so
// waiting for Defender never holds a worker slot.
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { eq } from "drizzle-orm";
import {
  type Backend,
  BackendError,
  BackendRateLimitError,
  CheckLater,
  type UndoData,
} from "../backend/types.ts";
import type { AppContext } from "../context.ts";
import { getAction, transitionAction } from "../db/queries/actions.ts";
import { actions } from "../db/schema.ts";
import type { ExecuteJob } from "./queues.ts";

const STEPS = {
  apply: { start: "start", running: "running", succeed: "complete", fail: "fail" },
  undo: { start: "start_undo", running: "undoing", succeed: "finish_undo", fail: "fail_undo" },
} as const;

export type ExecuteOutcome = "completed" | "failed" | "skipped";

export function createExecuteProcessor(ctx: AppContext, backend: Backend, getWorker: () => Worker) {
  return async function execute(job: Job<ExecuteJob>, token?: string): Promise<ExecuteOutcome> {
    const { actionId, operation, attempt } = job.data;
    const step = STEPS[operation];
    if (backend.runsInTransaction) return runInOneTransaction(job);
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
        const [action] = await tx.select().from(actions).where(eq(actions.id, actionId)).for("update");
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
        if (!finished.ok) throw new Error(`could not record the outcome: ${finished.reason}`);
        return "done";
      });
    } catch (error) {
      if (error instanceof BackendRateLimitError) {
        // The service asked every caller to wait: the whole queue pauses, and this job is not charged.
        ctx.log.warn({ actionId, operation, retryAfterMs: error.retryAfterMs }, error.message);
        await getWorker().rateLimit(error.retryAfterMs);
        throw Worker.RateLimitError();
      }
      return failOrRetry(job, error, decidedAt);
    }
    if (outcome === "skipped") return "skipped";
    if (outcome instanceof CheckLater) {
      if (token === undefined) throw new Error("a delayed check needs the job's lock token");
      await job.moveToDelayed(Date.now() + outcome.afterMs, token);
      throw new DelayedError();
    }
    ctx.metrics.transitions.inc({ transition: step.succeed });
    ctx.metrics.executionSeconds.observe(
      { operation, outcome: "completed" },
      (Date.now() - decidedAt.getTime()) / 1000,
    );
    return "completed";
  };

  /**
   * For a backend that finishes inside the transaction: start, apply and complete at once, so
   * the act and its record commit together and nothing is left half done by a crash.
   */
  async function runInOneTransaction(job: Job<ExecuteJob>): Promise<ExecuteOutcome> {
    const { actionId, operation, attempt } = job.data;
    const step = STEPS[operation];
    let decidedAt = new Date();
    try {
      const outcome = await ctx.db.transaction(async (tx) => {
        const [locked] = await tx.select().from(actions).where(eq(actions.id, actionId)).for("update");
        if (!locked) throw new UnrecoverableError(`action ${actionId} does not exist`);
        if ((operation === "apply" ? locked.attempt : locked.undoAttempt) !== attempt) return "skipped";
        decidedAt = locked.updatedAt;
        let action = locked;
        // Already running: an earlier attempt of this job started it and failed after.
        if (locked.status !== step.running) {
          const started = await transitionAction(tx, {
            actionId,
            transition: step.start,
            actor: "system",
            detail: { attempt },
            locked,
          });
          if (!started.ok) return "skipped";
          action = started.action;
        }
        const undoData =
          operation === "apply" ? await backend.apply(tx, action) : await backend.undo(tx, action);
        const finished = await transitionAction(tx, {
          actionId,
          transition: step.succeed,
          actor: "system",
          detail: { attempt },
          locked: action,
          set: () =>
            operation === "apply"
              ? { completedAt: new Date(), undoData: undoData as UndoData, error: null }
              : { error: null },
        });
        if (!finished.ok) throw new Error(`could not record the outcome: ${finished.reason}`);
        return "done";
      });
      if (outcome === "skipped") return "skipped";
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      // The attempt rolled back whole; record that it started, so the message shows it running
      // while it is retried, and so that a final failure follows the status machine.
      await ctx.db.transaction((tx) =>
        transitionAction(tx, { actionId, transition: step.start, actor: "system", detail: { attempt } }),
      );
      return failOrRetry(job, error, decidedAt);
    }
    ctx.metrics.transitions.inc({ transition: step.start });
    ctx.metrics.transitions.inc({ transition: step.succeed });
    ctx.metrics.executionSeconds.observe(
      { operation, outcome: "completed" },
      (Date.now() - decidedAt.getTime()) / 1000,
    );
    return "completed";
  }

  async function failOrRetry(job: Job<ExecuteJob>, error: unknown, decidedAt: Date): Promise<ExecuteOutcome> {
    const { actionId, operation, attempt } = job.data;
    const step = STEPS[operation];
    const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const permanent = error instanceof BackendError && !error.retryable;
    if (!permanent && !lastTry) throw error; // BullMQ retries with backoff; the action stays running.
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
    ctx.metrics.executionSeconds.observe(
      { operation, outcome: "failed" },
      (Date.now() - decidedAt.getTime()) / 1000,
    );
    ctx.log.warn({ actionId, operation, attempt, error: message }, "action failed");
    return "failed";
  }
}
