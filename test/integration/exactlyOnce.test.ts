// Nothing runs twice and nothing is lost: many workers, a worker killed mid-run, Redis gone.
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/client.ts";
import { backendRuns } from "../../src/db/schema.ts";
import { decide } from "../../src/services/decide.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { npmStart, type StartedProcess } from "../support/process.ts";
import { ownRedis } from "../support/redisServer.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function approveAll(db: Db, ids: number[]) {
  for (let i = 0; i < ids.length; i += 50) {
    const results = await Promise.all(
      ids
        .slice(i, i + 50)
        .map((actionId) => decide(db, { actionId, decision: "approve", actor: "U0APPROVER" })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
  }
}

/** Every action was applied exactly once: one backend run, counted once. */
async function expectAppliedOnce(db: Db, ids: number[]) {
  const runs = await db
    .select({ actionId: backendRuns.actionId, count: backendRuns.count })
    .from(backendRuns)
    .where(eq(backendRuns.operation, "apply"));
  const mine = runs.filter((r) => ids.includes(r.actionId));
  expect(mine.filter((r) => r.count !== 1)).toEqual([]);
  expect(new Set(mine.map((r) => r.actionId)).size).toBe(ids.length);
}

function bodies(count: number, offset: number) {
  const types = [
    "isolate_device",
    "stop_service",
    "disable_driver",
    "block_url",
    "run_antivirus_scan",
  ] as const;
  return Array.from({ length: count }, (_, i) => actionBody(types[i % types.length]!, offset + i));
}

describe("exactly once", () => {
  it("1,000 approved actions with 4 workers at concurrency 8: each applied once", async () => {
    const database = await createTestDatabase("four_workers");
    const prefix = uniqueName("four_workers");
    cleanups.push(database.drop);
    const env = { QUEUE_PREFIX: prefix, WORKER_CONCURRENCY: "8" };
    const workers: TestApp[] = [];
    for (let i = 0; i < 4; i++) {
      workers.push(
        await startTestApp(`w${i}`, { role: i === 0 ? "all" : "worker", databaseUrl: database.url, env }),
      );
    }
    cleanups.push(async () => {
      for (const w of workers) await w.close();
    });
    const db = workers[0]!.ctx.db;
    const ids = await ingest(db, bodies(1000, 0));
    await approveAll(db, ids);
    expect(await waitForStatuses(db, ids, ["completed"], 60_000)).toEqual({ completed: 1000 });
    await expectAppliedOnce(db, ids);
    const jobsByWorker = workers.map((w) => w.ctx.metrics.jobs);
    expect(jobsByWorker.length).toBe(4);
  });

  it("workers killed with SIGKILL at random points of a 500-action load: all final, none twice, messages converge", async () => {
    const database = await createTestDatabase("sigkill");
    const prefix = uniqueName("sigkill");
    cleanups.push(database.drop, () => obliterateQueues(prefix));
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: "0",
      JOB_LOCK_MS: "2000",
      STUCK_AFTER_MS: "4000",
      WORKER_CONCURRENCY: "4",
      LOG_LEVEL: "warn",
    };
    const processes: StartedProcess[] = [];
    cleanups.push(async () => {
      for (const p of processes) if (p.child.exitCode === null) await p.stop("SIGKILL");
    });
    // The test's own in-process app only commits decisions; it runs no worker.
    const web = await startTestApp("sigkill_web", {
      role: "web",
      databaseUrl: database.url,
      env: { QUEUE_PREFIX: prefix },
    });
    cleanups.push(() => web.close());
    Object.assign(env, { ...web.env, ...env });
    let worker = npmStart(env, ["worker"]);
    processes.push(worker);
    const db = web.ctx.db;
    // Five investigations of 100: five channel messages, each following its actions.
    const ids = await ingest(
      db,
      bodies(500, 0).map((body, i) => ({ ...body, investigationId: `inv-kill-${i % 5}` })),
    );
    await approveAll(db, ids);
    // Kill the worker three times, each at a random point of the run, and start a new one.
    const completedCount = async () =>
      Number((await web.ctx.sql`select count(*)::int as n from actions where status = 'completed'`)[0]!.n);
    for (const share of [0.1, 0.4, 0.7]) {
      const at = Math.floor(500 * (share + Math.random() * 0.2));
      await waitFor(async () => (await completedCount()) >= at, 90_000, `${at} completed`);
      await worker.stop("SIGKILL");
      worker = npmStart(env, ["worker"]);
      processes.push(worker);
    }
    expect(await waitForStatuses(db, ids, ["completed"], 90_000)).toEqual({ completed: 500 });
    await expectAppliedOnce(db, ids);
    // Every message reaches the final state of its actions, posted once.
    await waitFor(
      async () => {
        const behind = await web.ctx.sql`
          select count(*)::int as n from slack_messages where ts is null or rendered_version < version`;
        return behind[0]!.n === 0;
      },
      90_000,
      "messages to converge",
    );
    const messages = web.slackApi.messages.get(web.env.SLACK_CHANNEL!) ?? [];
    expect(messages).toHaveLength(5);
    for (const message of messages)
      expect(JSON.stringify(message.blocks)).not.toMatch(/"approve(_all)?:\d+"/);
  }, 240_000);

  it("Redis stopped while decisions are made: nothing lost, all executed once after it returns", async () => {
    const redis = await ownRedis();
    cleanups.push(() => redis.stop());
    const app = await startTestApp("redis_outage", {
      env: { REDIS_URL: redis.url, STUCK_AFTER_MS: "3000" },
    });
    cleanups.push(() => app.close());
    const db = app.ctx.db;
    const before = await ingest(db, bodies(50, 0));
    await approveAll(db, before);
    await redis.stop();
    // Decisions while Redis is down: committed in Postgres with their outbox rows.
    const during = await ingest(db, bodies(100, 1000));
    await approveAll(db, during);
    const outboxed = await app.ctx.sql`select count(*)::int as n from outbox where topic = 'execute'`;
    expect(outboxed[0]!.n).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1500));
    // Redis comes back empty (it keeps nothing on disk): Postgres still knows what to do.
    await redis.start();
    const ids = [...before, ...during];
    expect(await waitForStatuses(db, ids, ["completed"], 60_000)).toEqual({ completed: 150 });
    await expectAppliedOnce(db, ids);
    // The reconciler may have re-queued some of them just before they completed: those rows go
    // to Redis too (and change nothing), so the outbox empties.
    const leftover = async () =>
      (
        await db.execute<{ n: number }>(sql`select count(*)::int as n from outbox where topic = 'execute'`)
      )[0]!.n;
    await waitFor(async () => (await leftover()) === 0, 10_000, "the outbox to empty");
    await expectAppliedOnce(db, ids);
  });
});
