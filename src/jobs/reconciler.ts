// Redis carries work but may lose it (a restart without persistence, an eviction, a job that
// exhausted its retries while Postgres was away). Postgres knows what is unfinished: every
// action waiting on the worker for too long gets its job handed over again. Job ids are
// deterministic, so a job that is merely slow is not duplicated, and the processor re-checks
// the store, so even a duplicate would change nothing.
import type { AppContext } from "../context.ts";
import { writeOutbox } from "../db/outbox.ts";
import { stuckActions } from "../db/queries/actions.ts";
import { messagesBehind, unpostedMessageIds } from "../db/queries/messages.ts";
import { startPeriodicPass } from "../lib/periodicPass.ts";
import { type ExecuteJob, executeJobId, slackUpdateJobEntry } from "./queues.ts";

const BATCH = 1000;
/** How long a stop waits for the pass in progress; the next process's first pass redoes it. */
const STOP_MS = 1000;

async function reconcileOnce(ctx: AppContext): Promise<number> {
  const stuckBefore = new Date(Date.now() - ctx.config.stuckAfterMs);
  const stuck = await stuckActions(ctx.db, stuckBefore, BATCH);
  if (stuck.length === 0) return 0;
  const jobs: ExecuteJob[] = stuck.map((a) =>
    a.status === "approved" || a.status === "running"
      ? { actionId: a.id, operation: "apply", attempt: a.attempt }
      : { actionId: a.id, operation: "undo", attempt: a.undoAttempt },
  );
  // A job that gave up (failed) or finished without effect keeps its id; give it another go.
  for (const job of jobs) {
    const existing = await ctx.queues.execute.getJob(executeJobId(job));
    const state = await existing?.getState();
    if (existing && (state === "failed" || state === "completed")) await existing.remove();
  }
  await writeOutbox(
    ctx.db,
    jobs.map((payload) => ({ topic: "execute", payload })),
  );
  ctx.log.info({ count: jobs.length }, "re-dispatched unfinished actions");
  return jobs.length;
}

/**
 * Slack messages that fell behind: a post whose job gave up or vanished, and a message whose
 * last change arrived while its update job was finishing. Both converge on the store.
 */
async function reconcileMessages(ctx: AppContext): Promise<number> {
  const unposted = await unpostedMessageIds(ctx.db, new Date(Date.now() - ctx.config.stuckAfterMs), BATCH);
  for (const id of unposted) {
    const existing = await ctx.queues.slackPost.getJob(`post-${id}`);
    const state = await existing?.getState();
    if (existing && (state === "failed" || state === "completed")) await existing.remove();
  }
  await writeOutbox(
    ctx.db,
    unposted.map((id) => ({ topic: "message.created", payload: { messageId: id } })),
  );
  const behind = await messagesBehind(ctx.db, BATCH);
  // Ids are per message: a message with an update already queued is not queued twice.
  await ctx.queues.slackUpdate.addBulk(behind.map((m) => slackUpdateJobEntry(m.id, m.version)));
  if (unposted.length + behind.length > 0) {
    ctx.log.info(
      { unposted: unposted.length, behind: behind.length },
      "re-queued Slack messages that fell behind",
    );
  }
  return unposted.length + behind.length;
}

export function startReconciler(ctx: AppContext): { stop(): Promise<void> } {
  return startPeriodicPass({
    name: "reconcile pass",
    everyMs: ctx.config.stuckAfterMs / 2,
    atStart: false,
    run: () => Promise.all([reconcileOnce(ctx), reconcileMessages(ctx)]),
    log: ctx.log,
    stopWithin: { ms: STOP_MS, dependsOn: "Postgres or Redis" },
  });
}
