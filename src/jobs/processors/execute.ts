// Runs an approved action (or an undo) exactly once. The job only says "look at action N" (or,
// for a burst on the simulated fleet, "look at these actions"); the store says whether there is
// anything to do, so a duplicate or stale job changes nothing. A remote backend that answers
// "not finished yet" gets the same job back later, delayed, so waiting for Defender never holds
// a worker slot.
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { asc, eq } from "drizzle-orm";
import {
  type Backend,
  BackendError,
  BackendRateLimitError,
  CheckLater,
  runsInTransaction,
} from "../../backend/types.ts";
import type { AppContext } from "../../context.ts";
import { anyOf, type Tx } from "../../db/client.ts";
import { getAction } from "../../db/queries/actions.ts";
import { type ActionRow, actions } from "../../db/schema.ts";
import {
  type ActionChanges,
  type ChangeEvent,
  recordTransitions,
  transitionAction,
} from "../../db/transitions.ts";
import { nextStatus, type Transition } from "../../domain/status.ts";
import { createLane } from "../../lib/lane.ts";
import { type ExecuteJob, type ExecuteQueueJob, executeJobEntry } from "../queues.ts";

const STEPS = {
  apply: { start: "start", running: "running", succeed: "complete", fail: "fail" },
  undo: { start: "start_undo", running: "undoing", succeed: "finish_undo", fail: "fail_undo" },
} as const;

/** "split": a batch that failed as a whole was handed on as one job per action. */
export type ExecuteOutcome = "completed" | "failed" | "skipped" | "split";

type Finished = { operation: ExecuteJob["operation"]; decidedAt: Date };
/** An action on its way through a batch: its row as it will be written, and the events so far. */
type Run = { item: ExecuteJob; decidedAt: Date; action: ActionRow; events: ChangeEvent[] };

/** Moves a run along the status machine in memory; false if the move is not allowed. */
function advance(run: Run, transition: Transition, changes: ActionChanges = {}): boolean {
  const verdict = nextStatus(run.action, transition);
  if (!verdict.ok) return false;
  run.action = { ...run.action, ...changes, status: verdict.to, updatedAt: new Date() };
  run.events.push({
    kind: transition,
    actor: "system",
    detail: { from: verdict.from, to: verdict.to, attempt: run.item.attempt },
  });
  return true;
}

function finish(run: Run, changes: ActionChanges): void {
  if (!advance(run, STEPS[run.item.operation].succeed, changes)) {
    throw new Error(`could not record the outcome of action ${run.action.id}`);
  }
}

/**
 * Batches running at once in a process, whatever the job concurrency. Each keeps a Postgres
 * backend busy from start to commit; more of them at once only queue inside Postgres for its
 * cores and for each other's locks on the things they touch (docs/BENCHMARK-NOTES.md).
 */
const BATCHES_AT_ONCE = 4;

export function createExecuteProcessor(ctx: AppContext, backend: Backend, getWorker: () => Worker) {
  const inBatchLane = createLane(BATCHES_AT_ONCE);
  return async function execute(queued: Job<ExecuteQueueJob>, token?: string): Promise<ExecuteOutcome> {
    if ("batch" in queued.data) {
      if (!backend.runsInTransaction) throw new UnrecoverableError("this backend runs actions one by one");
      return runBatch(queued.data.batch);
    }
    const job = queued as Job<ExecuteJob>;
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
    let decidedAt = new Date();
    try {
      const finished = await ctx.db.transaction(async (tx) => {
        const [locked] = await tx.select().from(actions).where(eq(actions.id, actionId)).for("update");
        if (!locked) throw new UnrecoverableError(`action ${actionId} does not exist`);
        decidedAt = locked.updatedAt;
        return startApplyComplete(tx, [job.data], [locked]);
      });
      if (finished.length === 0) return "skipped";
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      // The attempt rolled back whole; record that it started, so the message shows it running
      // while it is retried, and so that a final failure follows the status machine.
      await ctx.db.transaction((tx) =>
        transitionAction(tx, {
          actionId,
          transition: STEPS[operation].start,
          actor: "system",
          detail: { attempt },
        }),
      );
      return failOrRetry(job, error, decidedAt);
    }
    countCompleted(operation, decidedAt);
    return "completed";
  }

  /**
   * Many actions in one transaction, for a backend that finishes inside it: one commit and a
   * handful of round trips instead of a dozen each, which were most of an action's cost. If any
   * of them fails, none happened (the transaction rolls back) and each goes on as its own job,
   * with its own retries and its own failure.
   */
  async function runBatch(items: ExecuteJob[]): Promise<ExecuteOutcome> {
    let finished: Finished[];
    try {
      finished = await inBatchLane(() =>
        ctx.db.transaction(async (tx) => {
          // Rows locked in id order: concurrent batches wait for each other instead of deadlocking.
          const rows = await tx
            .select()
            .from(actions)
            .where(
              anyOf(
                actions.id,
                items.map((item) => item.actionId),
              ),
            )
            .orderBy(asc(actions.id))
            .for("update");
          return startApplyComplete(tx, items, rows);
        }),
      );
    } catch (error) {
      ctx.log.info(
        { count: items.length, err: error },
        "a batch of actions failed as a whole; each goes on as its own job",
      );
      await ctx.queues.execute.addBulk(items.map(executeJobEntry));
      return "split";
    }
    for (const { operation, decidedAt } of finished) countCompleted(operation, decidedAt);
    return "completed";
  }

  /**
   * Inside `tx`, with the rows locked: starts (unless a failed try already did), applies and
   * completes each action whose job is current, all at once; the new states and audit events are
   * written in one statement.
   */
  async function startApplyComplete(tx: Tx, items: ExecuteJob[], rows: ActionRow[]): Promise<Finished[]> {
    if (!runsInTransaction(backend)) throw new Error("this backend does not run inside a transaction");
    const fleet = backend;
    const rowOf = new Map(rows.map((row) => [row.id, row]));
    const runs: Run[] = [];
    // In the order the jobs were queued, which is the order of the decisions: two of them on the
    // same thing (a file quarantined twice, then both undone) run in that order.
    for (const item of items) {
      const locked = rowOf.get(item.actionId);
      if (!locked) continue;
      rowOf.delete(item.actionId); // the same action twice in a batch (a re-dispatch) runs once
      const step = STEPS[item.operation];
      if ((item.operation === "apply" ? locked.attempt : locked.undoAttempt) !== item.attempt) continue;
      const run: Run = { item, decidedAt: locked.updatedAt, action: locked, events: [] };
      // Already running: an earlier attempt of this job started it and failed after.
      if (locked.status !== step.running && !advance(run, step.start)) continue;
      runs.push(run);
    }
    // Applies first, then undos: actions on the same things run one after the other either way.
    const applies = runs.filter((run) => run.item.operation === "apply");
    const undos = runs.filter((run) => run.item.operation === "undo");
    if (applies.length > 0) {
      const undoData = await fleet.applyAll(
        tx,
        applies.map((run) => run.action),
      );
      const now = new Date();
      applies.forEach((run, i) => {
        finish(run, { completedAt: now, undoData: undoData[i]!, error: null });
      });
    }
    if (undos.length > 0) {
      await fleet.undoAll(
        tx,
        undos.map((run) => run.action),
      );
      for (const run of undos) finish(run, { error: null });
    }
    await recordTransitions(tx, runs);
    return runs.map((run) => ({ operation: run.item.operation, decidedAt: run.decidedAt }));
  }

  function countCompleted(operation: ExecuteJob["operation"], decidedAt: Date): void {
    const step = STEPS[operation];
    ctx.metrics.transitions.inc({ transition: step.start });
    ctx.metrics.transitions.inc({ transition: step.succeed });
    ctx.metrics.executionSeconds.observe(
      { operation, outcome: "completed" },
      (Date.now() - decidedAt.getTime()) / 1000,
    );
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
