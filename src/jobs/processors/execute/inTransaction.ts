// Actions run by a backend that finishes inside the worker's transaction (the simulated fleet):
// started, applied and completed at once, so the act and its record commit together and nothing
// is left half done by a crash. A burst runs as batches of many actions in one transaction.
import { type Job, UnrecoverableError } from "bullmq";
import type { InTransactionBackend } from "../../../backend/types.ts";
import type { AppContext } from "../../../context.ts";
import type { Tx } from "../../../db/client.ts";
import { lockAction, lockActions } from "../../../db/queries/actions.ts";
import type { ActionRow } from "../../../db/schema.ts";
import {
  type ActionChanges,
  type ChangeEvent,
  recordTransitions,
  transitionAction,
} from "../../../db/transitions.ts";
import { nextStatus, type Transition } from "../../../domain/status.ts";
import { createLane } from "../../../lib/lane.ts";
import { type ExecuteJob, executeJobEntry } from "../../queues.ts";
import { countCompleted, type ExecuteOutcome, failOrRetry, STEPS } from "./steps.ts";

type Finished = { operation: ExecuteJob["operation"]; decidedAt: Date };
/** An action on its way through a batch: its row as it will be written, and the events so far. */
type Run = { item: ExecuteJob; decidedAt: Date; action: ActionRow; events: ChangeEvent[] };

/**
 * Batches running at once in a process, whatever the job concurrency. Each keeps a Postgres
 * backend busy from start to commit; more of them at once only queue inside Postgres for its
 * cores and for each other's locks on the things they touch (docs/BENCHMARK-NOTES.md).
 */
const BATCHES_AT_ONCE = 4;

export function createInTransactionRunner(ctx: AppContext, backend: InTransactionBackend) {
  const inBatchLane = createLane(BATCHES_AT_ONCE);

  /** One action's job: start, apply and complete in one transaction. */
  async function runOne(job: Job<ExecuteJob>): Promise<ExecuteOutcome> {
    const { actionId, operation, attempt } = job.data;
    let decidedAt = new Date();
    try {
      const finished = await ctx.db.transaction(async (tx) => {
        const locked = await lockAction(tx, actionId);
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
      return failOrRetry(ctx, job, error, decidedAt);
    }
    countCompleted(ctx, operation, decidedAt);
    return "completed";
  }

  /**
   * Many actions in one transaction: one commit and a handful of round trips instead of a dozen
   * each, which were most of an action's cost. If any of them fails, none happened (the
   * transaction rolls back) and each goes on as its own job, with its own retries and failure.
   */
  async function runBatch(items: ExecuteJob[]): Promise<ExecuteOutcome> {
    let finished: Finished[];
    try {
      finished = await inBatchLane(() =>
        ctx.db.transaction(async (tx) => {
          // Rows locked in id order: concurrent batches wait for each other instead of deadlocking.
          const rows = await lockActions(
            tx,
            items.map((item) => item.actionId),
          );
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
    for (const { operation, decidedAt } of finished) countCompleted(ctx, operation, decidedAt);
    return "completed";
  }

  /**
   * Inside `tx`, with the rows locked: starts (unless a failed try already did), applies and
   * completes each action whose job is current, all at once; the new states and audit events are
   * written in one statement.
   */
  async function startApplyComplete(tx: Tx, items: ExecuteJob[], rows: ActionRow[]): Promise<Finished[]> {
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
      const undoData = await backend.applyAll(
        tx,
        applies.map((run) => run.action),
      );
      const now = new Date();
      applies.forEach((run, i) => {
        finish(run, { completedAt: now, undoData: undoData[i]!, error: null });
      });
    }
    if (undos.length > 0) {
      await backend.undoAll(
        tx,
        undos.map((run) => run.action),
      );
      for (const run of undos) finish(run, { error: null });
    }
    await recordTransitions(tx, runs);
    return runs.map((run) => ({ operation: run.item.operation, decidedAt: run.decidedAt }));
  }

  return { runOne, runBatch };
}

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
