// Runs an approved action (or an undo) exactly once. The job only says "look at action N" (or,
// for a burst on the simulated fleet, "look at these actions"); the store says whether there is
// anything to do, so a duplicate or stale job changes nothing. How it runs is the backend's
// `runs`: inside the worker's transaction (inTransaction.ts) or remotely (remote.ts).
import { type Job, UnrecoverableError } from "bullmq";
import type { Backend } from "../../../backend/types.ts";
import type { AppContext } from "../../../context.ts";
import type { ExecuteJob, ExecuteQueueJob } from "../../queues.ts";
import type { JobProcessor } from "../../worker.ts";
import { createInTransactionRunner } from "./inTransaction.ts";
import { runRemotely } from "./remote.ts";

export type { ExecuteOutcome } from "./steps.ts";

export function createExecuteProcessor(ctx: AppContext, backend: Backend): JobProcessor<ExecuteQueueJob> {
  if (backend.runs === "remote") {
    return async function execute(job, run) {
      if ("batch" in job.data) throw new UnrecoverableError("this backend runs actions one by one");
      return runRemotely(ctx, backend, job as Job<ExecuteJob>, run);
    };
  }
  const inTransaction = createInTransactionRunner(ctx, backend);
  return async function execute(job) {
    if ("batch" in job.data) return inTransaction.runBatch(job.data.batch);
    return inTransaction.runOne(job as Job<ExecuteJob>);
  };
}
