import { Router } from "express";
import type { AppContext } from "../context.ts";
import { allQueues } from "../jobs/queues.ts";

const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer in time`)), PROBE_TIMEOUT_MS).unref(),
    ),
  ]);
}

export function healthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [postgres, redis] = await Promise.allSettled([
      withTimeout(ctx.sql`select 1`, "postgres"),
      withTimeout(ctx.probe.ping(), "redis"),
    ]);
    const checks: Record<string, string> = {
      postgres: postgres.status === "fulfilled" ? "ok" : String((postgres.reason as Error).message),
      redis: redis.status === "fulfilled" ? "ok" : String((redis.reason as Error).message),
    };
    for (const check of ctx.readiness ?? []) checks[check.name] = check.problem() ?? "ok";
    const ready = Object.values(checks).every((state) => state === "ok");
    if (!ready) ctx.log.warn({ checks }, "not ready");
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready", checks });
  });
  router.get("/metrics", async (_req, res) => {
    const [counts, outboxRows, store] = await Promise.allSettled([
      Promise.all(
        allQueues(ctx.queues).map(async (queue) => [queue.name, await queue.getJobCounts()] as const),
      ),
      ctx.sql`select count(*)::int as n from outbox`,
      // Both read the (status, id) index: ids grow with time, so the lowest pending id is the oldest.
      ctx.sql`
        select
          (select extract(epoch from now() - created_at) from actions
             where status = 'pending' order by id limit 1) as oldest_pending_seconds,
          (select count(*)::int from actions where status in ('failed', 'undo_failed')) as failed`,
    ]);
    if (counts.status === "fulfilled") {
      for (const [queue, byState] of counts.value) {
        for (const [state, n] of Object.entries(byState)) ctx.metrics.queueDepth.set({ queue, state }, n);
      }
    }
    if (outboxRows.status === "fulfilled") ctx.metrics.outboxDepth.set(outboxRows.value[0]!.n as number);
    if (store.status === "fulfilled") {
      const [row] = store.value;
      ctx.metrics.oldestPendingSeconds.set(Number(row!.oldest_pending_seconds ?? 0));
      ctx.metrics.failedActions.set(Number(row!.failed));
    }
    res.set("Content-Type", ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return router;
}
