import { describe, expect, it } from "vitest";
import { EXECUTE_BATCH, routeOutbox } from "../../src/jobs/outboxDispatcher.ts";

const execute = (actionId: number) => ({
  id: 1000 + actionId,
  topic: "execute",
  payload: { actionId, operation: "apply", attempt: 1 },
});
const changed = (actionId: number, messageId: number | null, messageVersion: number | null) => ({
  id: 2000 + actionId,
  topic: "action.changed",
  payload: { actionId, status: "completed", eventId: actionId * 10, messageId, messageVersion },
});

describe("routing the outbox into jobs", () => {
  it("runs a burst as batches of at most EXECUTE_BATCH, one device's actions together and in order", () => {
    const count = EXECUTE_BATCH * 2 + 7;
    const rows = Array.from({ length: count }, (_, i) => execute(i + 1));
    // Ten devices, and actions with no lane (spread by their own id).
    const lanes = new Map(
      rows.flatMap((row, i) => (i % 3 === 0 ? [] : [[row.payload.actionId, `dev-${i % 10}`]])),
    );
    const jobs = routeOutbox(rows, lanes).execute;
    const batches = jobs.map((job) =>
      (job.data as { batch: { actionId: number }[] }).batch.map((b) => b.actionId),
    );
    expect(batches.every((batch) => batch.length > 0 && batch.length <= EXECUTE_BATCH)).toBe(true);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(rows.map((row) => row.payload.actionId));
    for (const batch of batches) expect(batch).toEqual([...batch].sort((a, b) => a - b));
    const batchOf = new Map(batches.flatMap((batch, n) => batch.map((id) => [id, n] as const)));
    for (let device = 0; device < 10; device += 1) {
      const ids = [...lanes].filter(([, lane]) => lane === `dev-${device}`).map(([id]) => id);
      // More than a batch's worth on one device go in consecutive batches of their own lane.
      if (ids.length <= EXECUTE_BATCH) expect(new Set(ids.map((id) => batchOf.get(id))).size).toBe(1);
    }
    // Named after their first outbox row, so that no other dispatch of other rows can take the name.
    expect(jobs.map((job) => job.opts.jobId)).toEqual(
      batches.map((batch) => `batch-${1000 + batch[0]!}-${batch.length}`),
    );
    expect(routeOutbox(rows, lanes).execute.map((job) => job.opts.jobId)).toEqual(
      jobs.map((job) => job.opts.jobId),
    );
  });

  it("runs the one row of many decisions (an Approve all) as the same batches, each job named apart", () => {
    const count = EXECUTE_BATCH * 3 + 11;
    const items = Array.from({ length: count }, (_, i) => execute(i + 1).payload);
    const row = { id: 5000, topic: "executes", payload: { items } };
    const lanes = new Map(items.map((item) => [item.actionId, `dev-${item.actionId}`]));
    const jobs = routeOutbox([row], lanes).execute;
    const batches = jobs.map((job) =>
      (job.data as { batch: { actionId: number }[] }).batch.map((b) => b.actionId),
    );
    expect(batches.every((batch) => batch.length > 0 && batch.length <= EXECUTE_BATCH)).toBe(true);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(items.map((item) => item.actionId));
    // Lanes packed: as few batches as hold them, all full but the last.
    expect(batches.map((batch) => batch.length)).toEqual([EXECUTE_BATCH, EXECUTE_BATCH, EXECUTE_BATCH, 11]);
    const names = jobs.map((job) => job.opts.jobId);
    expect(new Set(names).size).toBe(jobs.length);
    expect(routeOutbox([row], lanes).execute.map((job) => job.opts.jobId)).toEqual(names);
    // A backend that runs one at a time still gets a job per action.
    expect(routeOutbox([row], undefined).execute).toHaveLength(count);
  });

  it("schedules every timer of a row, each action of a timer group too, as a delayed job of its own", () => {
    const dueAt = Date.now() + 60_000;
    const expireAt = Date.now() + 120_000;
    const { timers } = routeOutbox(
      [
        {
          id: 1,
          topic: "timers",
          payload: {
            timers: [
              { actionId: 7, kind: "expire", dueAt },
              { actionId: 7, kind: "remind", dueAt },
              { actionId: 8, kind: "expire", dueAt },
            ],
          },
        },
        {
          id: 2,
          topic: "timerGroups",
          payload: {
            groups: [
              { kind: "remind", dueAt, actionIds: [9] },
              { kind: "expire", dueAt: expireAt, actionIds: [9, 10] },
            ],
          },
        },
      ],
      new Map(),
    );
    expect(timers.map((job) => [job.name, job.data.actionId])).toEqual([
      ["expire", 7],
      ["remind", 7],
      ["expire", 8],
      ["remind", 9],
      ["expire", 9],
      ["expire", 10],
    ]);
    expect(new Set(timers.map((job) => job.opts.jobId)).size).toBe(6);
    expect(timers.map((job) => (job.opts.delay ?? 0) > 90_000)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(timers.every((job) => (job.opts.delay ?? 0) > 50_000)).toBe(true);
  });

  it("keeps a lone action, and every action of a backend that runs one at a time, in a job of its own", () => {
    expect(routeOutbox([execute(42)], new Map()).execute).toMatchObject([
      { name: "apply", data: { actionId: 42 }, opts: { jobId: "apply-42-1", attempts: 5 } },
    ]);
    const single = routeOutbox([execute(1), execute(2)], undefined).execute;
    expect(single.map((job) => job.opts.jobId)).toEqual(["apply-1-1", "apply-2-1"]);
  });

  it("asks for one update per message, at the newest version any of its changes brought", () => {
    const { slackUpdate } = routeOutbox(
      [changed(1, 7, 3), changed(2, 7, 5), changed(3, 8, 1), changed(4, 7, 4), changed(5, null, null)],
      new Map(),
    );
    expect(slackUpdate.map((job) => [job.opts.jobId, job.data])).toEqual([
      ["update-7", { messageId: 7, version: 5 }],
      ["update-8", { messageId: 8, version: 1 }],
    ]);
  });

  it("reads a batch's changes from its one row as it reads single changes", () => {
    const batch = {
      id: 3000,
      topic: "actions.changed",
      payload: { changes: [changed(1, 7, 3), changed(2, 7, 5), changed(3, 8, 1)].map((row) => row.payload) },
    };
    const { slackUpdate } = routeOutbox([batch, changed(4, 8, 2)], new Map());
    expect(slackUpdate.map((job) => [job.opts.jobId, job.data])).toEqual([
      ["update-7", { messageId: 7, version: 5 }],
      ["update-8", { messageId: 8, version: 2 }],
    ]);
  });

  it("queues no render for a change the store says needs none (message not posted, or behind already)", () => {
    const quiet = { ...changed(1, 7, 3), payload: { ...changed(1, 7, 3).payload, render: false } };
    const loud = { ...changed(2, 8, 2), payload: { ...changed(2, 8, 2).payload, render: true } };
    const { slackUpdate } = routeOutbox([quiet, loud], new Map());
    expect(slackUpdate.map((job) => job.opts.jobId)).toEqual(["update-8"]);
  });
});
