import { describe, expect, it } from "vitest";
import { EXECUTE_BATCH, routeOutbox } from "../../src/queue/outboxDispatcher.ts";

const execute = (actionId: number) => ({
  topic: "execute",
  payload: { actionId, operation: "apply", attempt: 1 },
});
const changed = (actionId: number, messageId: number | null, messageVersion: number | null) => ({
  topic: "action.changed",
  payload: { actionId, status: "completed", eventId: actionId * 10, messageId, messageVersion },
});

describe("routing the outbox into jobs", () => {
  it("runs a burst of actions as batches of at most EXECUTE_BATCH, in order, with deterministic ids", () => {
    const count = EXECUTE_BATCH * 2 + 7;
    const rows = Array.from({ length: count }, (_, i) => execute(i + 1));
    const { execute: jobs } = routeOutbox(rows, { batchExecute: true });
    expect(jobs.map((job) => (job.data as { batch: unknown[] }).batch.length)).toEqual([
      EXECUTE_BATCH,
      EXECUTE_BATCH,
      7,
    ]);
    const ids = jobs.flatMap((job) =>
      (job.data as { batch: { actionId: number }[] }).batch.map((b) => b.actionId),
    );
    expect(ids).toEqual(rows.map((row) => row.payload.actionId));
    expect(jobs[0]!.opts.jobId).toBe(`batch-apply-1-1-${EXECUTE_BATCH}`);
    expect(routeOutbox(rows, { batchExecute: true }).execute.map((job) => job.opts.jobId)).toEqual(
      jobs.map((job) => job.opts.jobId),
    );
  });

  it("keeps a lone action, and every action of a backend that runs one at a time, in a job of its own", () => {
    expect(routeOutbox([execute(42)], { batchExecute: true }).execute).toMatchObject([
      { name: "apply", data: { actionId: 42 }, opts: { jobId: "apply-42-1", attempts: 5 } },
    ]);
    const single = routeOutbox([execute(1), execute(2)], { batchExecute: false }).execute;
    expect(single.map((job) => job.opts.jobId)).toEqual(["apply-1-1", "apply-2-1"]);
  });

  it("asks for one update per message, at the newest version any of its changes brought", () => {
    const { slackUpdate } = routeOutbox(
      [changed(1, 7, 3), changed(2, 7, 5), changed(3, 8, 1), changed(4, 7, 4), changed(5, null, null)],
      { batchExecute: true },
    );
    expect(slackUpdate.map((job) => [job.opts.jobId, job.data])).toEqual([
      ["update-7", { messageId: 7, version: 5 }],
      ["update-8", { messageId: 8, version: 1 }],
    ]);
  });
});
