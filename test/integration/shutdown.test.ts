// SIGTERM while Redis or Postgres is down: the program, started as a newcomer starts it (`npm start`,
// the sandbox, both roles in one process), still stops within 10 s with exit 0, saying what it
// gave up waiting for; and the work it was doing is not lost but carried out after a restart.
// Redis is one of the test's own, which it kills; Postgres is reached through a proxy the test
// cuts (connections refused) or freezes (nothing answers, as when the host is cut off).
import postgres from "postgres";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { waitFor } from "../support/app.ts";
import { obliterateQueues, POSTGRES_BASE, REDIS_URL, uniqueName } from "../support/db.ts";
import {
  clickInSandbox,
  freePort,
  npmStart,
  proposeIsolation,
  SANDBOX_AUTH,
  type StartedProcess,
  statusReached,
  waitForHttp,
} from "../support/process.ts";
import { type OwnRedis, ownRedis } from "../support/redisServer.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.ts";

/** Docker's default grace before SIGKILL, and the contract here. */
const STOP_WITHIN_MS = 10_000;

const cleanups: (() => Promise<unknown>)[] = [];
const admin = postgres(`${POSTGRES_BASE}/postgres`, { max: 1, onnotice: () => {} });
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await admin.end();
});

async function sandboxEnv(label: string, over: { redis?: OwnRedis; proxy?: TcpProxy } = {}) {
  const database = uniqueName(label);
  const prefix = uniqueName(label);
  cleanups.push(() => admin.unsafe(`drop database if exists "${database}" with (force)`));
  if (!over.redis) cleanups.push(() => obliterateQueues(prefix));
  const port = await freePort();
  const direct = `${POSTGRES_BASE}/${database}`;
  const proxied = new URL(direct);
  if (over.proxy) proxied.port = String(over.proxy.port);
  return {
    base: `http://127.0.0.1:${port}`,
    databaseUrl: direct,
    env: {
      DATABASE_URL: proxied.toString(),
      REDIS_URL: over.redis?.url ?? REDIS_URL,
      PORT: String(port),
      QUEUE_PREFIX: prefix,
      JOB_LOCK_MS: "2000",
    },
  };
}

function start(env: Record<string, string>): StartedProcess {
  const app = npmStart(env);
  onTestFailed(() => console.error(`the program's output:\n${app.output()}`));
  cleanups.push(async () => {
    if (app.child.exitCode === null && app.child.signalCode === null) await app.stop("SIGKILL");
  });
  return app;
}

/** SIGTERM: the process exits 0 within STOP_WITHIN_MS, its last words "stopped". */
async function expectCleanStop(app: StartedProcess): Promise<void> {
  const at = Date.now();
  expect(await app.stop("SIGTERM")).toBe(0);
  expect(Date.now() - at).toBeLessThan(STOP_WITHIN_MS);
  expect(app.output()).toMatch(/"msg":"stopped"\}\n$/);
}

/** The program reaching Postgres through a proxy the test can cut or freeze, started and ready. */
async function startBehindProxy(label: string) {
  const proxy = await startTcpProxy(Number(new URL(POSTGRES_BASE).port || 5432));
  cleanups.push(() => proxy.close());
  const { base, env } = await sandboxEnv(label, { proxy });
  const app = start(env);
  await waitForHttp(`${base}/readyz`);
  return { app, base, proxy };
}

/** Holds the device row an isolation changes, so the worker running it waits; `release` lets go. */
async function holdDevice(databaseUrl: string, deviceName: string) {
  // One connection holds the lock, the other looks at who waits for it.
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const connection = await sql.reserve();
  await connection`begin`;
  await connection`select id from devices where name = ${deviceName} for update`;
  return {
    /** Whether another session waits for this row lock (the worker's job, running). */
    async waitedFor(): Promise<boolean> {
      const [row] = await sql`select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
        where not l.granted and a.datname = current_database()`;
      return row!.n > 0;
    },
    async release() {
      await connection`rollback`;
      connection.release();
      await sql.end();
    },
  };
}

/** Starts the program, proposes an isolation and approves it in the sandbox, with the device row held. */
async function approvedAndRunning(env: Record<string, string>, base: string, databaseUrl: string) {
  const app = start(env);
  await waitForHttp(`${base}/readyz`);
  const id = await proposeIsolation(base, databaseUrl, 1);
  const device = await holdDevice(databaseUrl, "LAPTOP-FIN-07");
  cleanups.push(() => device.release());
  await clickInSandbox(base, `approve:${id}`);
  await waitFor(() => device.waitedFor(), 30_000, "the job waiting on the device");
  return { app, id, device };
}

describe("SIGTERM with a service down", () => {
  it("Redis down with a job running: exits within 10 s; after a restart the action completes, once", async () => {
    const redis = await ownRedis();
    cleanups.push(() => redis.stop());
    const { base, env, databaseUrl } = await sandboxEnv("stop_redis_down", { redis });
    const { app, id, device } = await approvedAndRunning(env, base, databaseUrl);

    await redis.stop();
    await expectCleanStop(app);
    expect(app.output()).toMatch(/"msg":"jobs still running after the grace period/);

    // The running job's transaction died with the process; Redis came back empty (no persistence),
    // so Postgres, the source of truth, has the reconciler hand the action over again.
    await device.release();
    await redis.start();
    const again = start({ ...env, STUCK_AFTER_MS: "2000" });
    await waitForHttp(`${base}/readyz`);
    const done = await statusReached(base, id, "completed");
    expect(done.events.filter((e) => e.kind === "complete")).toHaveLength(1);
    expect(again.output()).toMatch(/"msg":"re-dispatched unfinished actions"/);
    await expectCleanStop(again);
  });

  it("Redis up, a job still running after the grace period: handed back, picked up again as stalled", async () => {
    const redis = await ownRedis();
    cleanups.push(() => redis.stop());
    const { base, env, databaseUrl } = await sandboxEnv("stop_stalled", { redis });
    const { app, id, device } = await approvedAndRunning(env, base, databaseUrl);

    await expectCleanStop(app);
    expect(app.output()).toMatch(/"msg":"jobs still running after the grace period/);

    // The job is still active in Redis with the dead worker's lock; once that lock runs out
    // (JOB_LOCK_MS), the new process's stalled check takes it over. The reconciler stays out of it.
    await device.release();
    const again = start({ ...env, STUCK_AFTER_MS: "600000" });
    await waitForHttp(`${base}/readyz`);
    const done = await statusReached(base, id, "completed", 30_000);
    expect(done.events.filter((e) => e.kind === "complete")).toHaveLength(1);
    expect(again.output()).toMatch(/"msg":"job taken over: its worker stopped holding it \(stalled\)"/);
    expect(again.output()).not.toMatch(/"msg":"re-dispatched unfinished actions"/);
    await expectCleanStop(again);
  });

  it("Postgres refusing connections: exits within 10 s", async () => {
    const { app, base, proxy } = await startBehindProxy("stop_pg_cut");
    proxy.cut();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, 30_000, "not ready");
    await expectCleanStop(app);
  });

  it("Postgres not answering, a request waiting on it: exits within 10 s, the request cut off", async () => {
    const { app, base, proxy } = await startBehindProxy("stop_pg_frozen");
    proxy.freeze();
    const waiting = fetch(`${base}/api/v1/actions`, {
      method: "POST",
      headers: SANDBOX_AUTH,
      body: JSON.stringify({
        externalId: "frozen-1",
        source: "antivirus",
        type: "run_antivirus_scan",
        device: { id: "dev-frozen", name: "LAPTOP-FROZEN" },
        entity: {},
      }),
    }).then(
      (res) => `HTTP ${res.status}`,
      () => "connection closed",
    );
    // Long enough for the request and an outbox round to be waiting on Postgres.
    await new Promise((r) => setTimeout(r, 1500));
    await expectCleanStop(app);
    expect(await waiting).toBe("connection closed");
    expect(app.output()).toMatch(
      /"msg":"HTTP requests still open: Postgres or Redis does not answer; closing them"/,
    );
    expect(app.output()).toMatch(/"msg":"outbox round abandoned: Postgres does not answer"/);
  });
});
