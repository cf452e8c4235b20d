// The program from outside: started with `npm start` and the contract's environment, driven
// only over HTTP, stopped with SIGTERM.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlackApi, startFakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { obliterateQueues, POSTGRES_BASE, REDIS_URL, uniqueName } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { freePort, npmStart, type StartedProcess, waitForHttp } from "../support/process.ts";

const started: StartedProcess[] = [];
let slackApi: FakeSlackApi;
beforeAll(async () => {
  slackApi = await startFakeSlackApi();
});
const databases: string[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null) await p.stop("SIGKILL");
  const admin = postgres(`${POSTGRES_BASE}/postgres`, { max: 1, onnotice: () => {} });
  for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  for (const prefix of prefixes) await obliterateQueues(prefix);
  await slackApi?.close();
});

async function contractEnv(label: string) {
  const database = uniqueName(label);
  const prefix = uniqueName(label);
  databases.push(database);
  prefixes.push(prefix);
  const port = await freePort();
  return {
    port,
    env: {
      DATABASE_URL: `${POSTGRES_BASE}/${database}`,
      REDIS_URL,
      PORT: String(port),
      INGEST_TOKEN: "black-box-ingest-token",
      QUEUE_PREFIX: prefix,
      SLACK_BOT_TOKEN: "xoxb-black-box",
      SLACK_SIGNING_SECRET: "black-box-signing-secret",
      SLACK_CHANNEL: "C0BLACKBOX1",
      SLACK_API_URL: slackApi.url,
    },
  };
}

describe("npm start", () => {
  it("creates its database, serves the contract and drains on SIGTERM with exit 0", async () => {
    const { port, env } = await contractEnv("blackbox");
    const app = npmStart(env);
    started.push(app);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/healthz`);
    // Live first, ready once its Redis connection is up (a busy machine can take a moment),
    // as an orchestrator would see it.
    await waitForHttp(`${base}/readyz`, 10_000);

    const auth = { authorization: "Bearer black-box-ingest-token", "content-type": "application/json" };
    const created = await fetch(`${base}/api/v1/actions`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(actionBody("stop_service", 1)),
    });
    expect(created.status).toBe(201);
    const { actions } = (await created.json()) as { actions: { id: string }[] };
    const shown = await (await fetch(`${base}/api/v1/actions/${actions[0]!.id}`, { headers: auth })).json();
    expect(shown.status).toBe("pending");
    expect((await fetch(`${base}/api/v1/actions`)).status).toBe(401);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /action_center_actions_ingested_total\{source="automated_investigation",type="stop_service"\} 1/,
    );
    expect(metrics).toMatch(
      /action_center_http_requests_total\{method="POST",route="\/api\/v1\/actions\/",status="201"\} 1/,
    );
    const oldest = Number(/^action_center_oldest_pending_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(oldest).toBeGreaterThan(0);
    expect(oldest).toBeLessThan(60);
    expect(metrics).toMatch(/^action_center_failed_actions 0$/m);

    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.output()).toMatch(/"msg":"stopped"/);
  });

  it("two processes starting together on one empty database both come up", async () => {
    const { port, env } = await contractEnv("twostarts");
    const web = npmStart(env, ["web"]);
    const worker = npmStart({ ...env, PORT: String(await freePort()) }, ["worker"]);
    const web2 = npmStart({ ...env, PORT: String(await freePort()) }, ["web"]);
    started.push(web, worker, web2);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const deadline = Date.now() + 30_000;
    while (
      !(worker.output().includes("action center started") && web2.output().includes("action center started"))
    ) {
      if (Date.now() > deadline) throw new Error(`did not start:\n${worker.output()}\n${web2.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const admin = postgres(env.DATABASE_URL, { max: 1 });
    const applied = await admin`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await admin.end();
    expect(applied[0]!.n).toBeGreaterThanOrEqual(2);
    expect(await web.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    expect(await web2.stop()).toBe(0);
  });

  it("stops at start with one line naming a malformed variable", async () => {
    const app = npmStart({ PORT: "eighty", INGEST_TOKEN: "a-secret-that-must-not-show" });
    started.push(app);
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split("\n");
    expect(lines).toEqual(['action-center: configuration error: PORT must be a number (got "eighty")']);
  });

  it("never prints a secret's value", async () => {
    const app = npmStart({ INGEST_TOKEN: "short-secret" });
    started.push(app);
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain("INGEST_TOKEN must be at least 16 characters");
    expect(app.output()).not.toContain("short-secret");
  });
});
