// The program from outside: started with `npm start` and the contract's environment, driven
// only over HTTP, stopped with SIGTERM. Then the same again as the image runs it: the
// Dockerfile's steps carried out on a copy of the build context (test/support/dockerfile.ts),
// and `node dist/main.js` started in the runtime stage's WORKDIR, where only production
// dependencies are installed (no tsx, no TypeScript). Those steps, two `npm ci` and the typed
// build, are the costliest part of the suite: 80 s to 2 minutes on the shared 2-core machine
// (load 12 to 18), npm working from its cache; this file pays them once, for the black-box
// tests and the image's own.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlackApi, startFakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { obliterateQueues, POSTGRES_BASE, REDIS_URL, uniqueName } from "../support/db.ts";
import { type BuiltImage, buildAsDockerfileSays, dockerIgnores } from "../support/dockerfile.ts";
import { actionBody } from "../support/fixtures.ts";
import {
  clickInSandbox,
  freePort,
  LAUNCHES,
  type Launch,
  logLine,
  npmRunDemo,
  proposeIsolation,
  type StartedProcess,
  startProgram,
  statusReached,
  waitForHttp,
} from "../support/process.ts";

/**
 * The image's filesystem, built once in this file. The build starts with the file, so that it
 * runs while the `npm start` tests do; a failure is reported by the tests that need the image.
 */
let image: Promise<BuiltImage>;
const theImage = () => image;
const IMAGE_BUILD_MS = 600_000;

const started: StartedProcess[] = [];
let slackApi: FakeSlackApi;
beforeAll(async () => {
  image = buildAsDockerfileSays();
  image.catch(() => {});
  slackApi = await startFakeSlackApi();
});
const databases: string[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null) await p.stop("SIGKILL");
  await image?.then(
    (built) => built.remove(),
    () => {},
  );
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

/** Whether something answers HTTP at `url` (a refused connection is the answer no). */
async function answers(url: string): Promise<boolean> {
  return fetch(url).then(
    () => true,
    () => false,
  );
}

/** Starts the program as `launch` says: from the sources, or in the image with its ENV. */
function launcher(launch: Launch, built: BuiltImage | null) {
  return (env: Record<string, string>, args: string[] = []) =>
    built
      ? startProgram(launch, { ...built.env, ...env }, args, built.workdir)
      : startProgram(launch, env, args);
}

describe.each(LAUNCHES)("%s", (launch) => {
  let start = launcher(launch, null);
  beforeAll(async () => {
    if (launch === "node dist/main.js") start = launcher(launch, await theImage());
  }, IMAGE_BUILD_MS);

  it("creates its database, serves the contract and drains on SIGTERM with exit 0", async () => {
    const { port, env } = await contractEnv("blackbox");
    const app = start(env);
    started.push(app);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/healthz`);
    // Live first, ready once its Redis connection is up (a busy machine can take a moment),
    // as an orchestrator would see it.
    await waitForHttp(`${base}/readyz`, 10_000);
    // With a workspace, Slack must reach it: every interface, as the log says.
    expect(logLine(app.output(), "serving HTTP")).toMatchObject({ host: "0.0.0.0", port });
    expect(await answers(`http://127.0.0.2:${port}/healthz`)).toBe(true);

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

  it("serves the local Slack sandbox on loopback only: the page, its assets, a click carried out, the demo", async () => {
    const { port, env } = await contractEnv("sandbox");
    // As a newcomer runs it: no Slack credentials, no ingest token.
    const sandboxEnv = {
      DATABASE_URL: env.DATABASE_URL,
      REDIS_URL,
      PORT: env.PORT,
      QUEUE_PREFIX: env.QUEUE_PREFIX,
    };
    const app = start(sandboxEnv);
    started.push(app);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/readyz`);
    expect(logLine(app.output(), "serving HTTP")).toMatchObject({ host: "127.0.0.1", port, url: base });
    expect(logLine(app.output(), "local Slack sandbox: open this page to use the bot").url).toBe(
      `${base}/sandbox`,
    );
    // 127.0.0.2 is this machine too, but not the address the sandbox is bound to.
    expect(await answers(`http://127.0.0.2:${port}/healthz`)).toBe(false);

    const page = await fetch(`${base}/sandbox`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/sandbox/assets/sandbox.js");
    // The page's script and styles are files beside the module that reads them, in dist/ too.
    for (const name of ["sandbox.js", "sandbox.css"]) {
      const served = await fetch(`${base}/sandbox/assets/${name}`);
      expect(served.status).toBe(200);
      expect(await served.text()).toBe(
        readFileSync(new URL(`../../src/sandbox/client/${name}`, import.meta.url), "utf8"),
      );
    }

    // One action from detection to completed, through the worker, the sandbox's Slack and a click.
    const id = await proposeIsolation(base, env.DATABASE_URL, 1);
    await clickInSandbox(base, `approve:${id}`);
    await statusReached(base, id, "completed");

    // The README's next step: `npm run demo` in a second terminal, with the bot's PORT and DATABASE_URL.
    const demo = await npmRunDemo({ PORT: env.PORT, DATABASE_URL: env.DATABASE_URL }, ["--interval", "0"]);
    expect(demo.err).toBe("");
    expect(demo.out).toMatch(
      /^Sent \d+ actions in \d+ batches\. Decide on them .* at http:\/\/localhost:\d+\/sandbox/m,
    );

    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.output()).toMatch(/"msg":"stopped"/);
  });

  it("binds the sandbox to another address only when HOST asks", async () => {
    const { port, env } = await contractEnv("sandboxhost");
    const { DATABASE_URL, QUEUE_PREFIX, PORT } = env;
    const app = start({ DATABASE_URL, REDIS_URL, PORT, QUEUE_PREFIX, HOST: "0.0.0.0" });
    started.push(app);
    await waitForHttp(`http://127.0.0.2:${port}/readyz`);
    expect(logLine(app.output(), "serving HTTP")).toMatchObject({ host: "0.0.0.0", port });
    expect(await app.stop("SIGTERM")).toBe(0);
  });

  it("two processes starting together on one empty database both come up", async () => {
    const { port, env } = await contractEnv("twostarts");
    const web = start(env, ["web"]);
    const worker = start({ ...env, PORT: String(await freePort()) }, ["worker"]);
    const web2 = start({ ...env, PORT: String(await freePort()) }, ["web"]);
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
    const app = start({ PORT: "eighty", INGEST_TOKEN: "a-secret-that-must-not-show" });
    started.push(app);
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split("\n");
    expect(lines).toEqual(['action-center: configuration error: PORT must be a number (got "eighty")']);
  });

  it("never prints a secret's value", async () => {
    const app = start({ INGEST_TOKEN: "short-secret" });
    started.push(app);
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain("INGEST_TOKEN must be at least 16 characters");
    expect(app.output()).not.toContain("short-secret");
  });
});

describe("the image, as the Dockerfile builds it", () => {
  let built: BuiltImage;
  beforeAll(async () => {
    built = await theImage();
  }, IMAGE_BUILD_MS);

  it("builds in two stages on Node 20; the runtime has the build and production dependencies only", () => {
    expect(built.stages.map((s) => s.image)).toEqual(["node:20-bookworm-slim", "node:20-bookworm-slim"]);
    // This machine's Node stands in for the base image's.
    expect(process.versions.node.split(".")[0]).toBe("20");
    expect(built.ran).toEqual([
      "npm ci --no-audit --no-fund",
      "npm run build",
      "npm ci --omit=dev --no-audit --no-fund",
    ]);
    const at = (path: string) => existsSync(join(built.workdir, path));
    expect(
      at("dist/main.js") && at("dist/sandbox/client/sandbox.js") && at("drizzle/meta/_journal.json"),
    ).toBe(true);
    expect(at("node_modules/bullmq")).toBe(true);
    // No sources, no loader, no compiler, no test tools.
    for (const absent of ["src", "node_modules/tsx", "node_modules/typescript", "node_modules/vitest"]) {
      expect(at(absent), absent).toBe(false);
    }
    expect(built.env).toEqual({ NODE_ENV: "production" });
  });

  it("runs as a non-root user, `node dist/main.js`, health-checked on /readyz", () => {
    const runtime = built.stages.at(-1)!;
    expect(runtime.user).toBe("node");
    expect(runtime.cmd).toEqual(["node", "dist/main.js"]);
    expect(runtime.expose).toEqual(["3000"]);
    expect(runtime.healthcheck?.command.join(" ")).toContain("/readyz");
  });

  it("keeps local state and secrets out of the build context", () => {
    const ignored = dockerIgnores();
    for (const path of [".env", ".env.local", ".git", "node_modules/bullmq/package.json", "dist/main.js"]) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ["src/main.ts", "drizzle/0000_init.sql", "package-lock.json", "Dockerfile"]) {
      expect(ignored(path), path).toBe(false);
    }
    expect(built.context.filter((path) => ignored(path))).toEqual([]);
    expect(built.context).toContain("src/sandbox/client/sandbox.js");
  });

  it("its HEALTHCHECK fails before the program is ready and passes once it is", async () => {
    const { port, env } = await contractEnv("healthcheck");
    const [command, ...args] = built.stages.at(-1)!.healthcheck!.command;
    const healthcheck = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(command!, args, { env: { PATH: process.env.PATH!, PORT: env.PORT } });
        child.on("exit", (code) => resolve(code));
      });
    expect(await healthcheck()).not.toBe(0);
    const app = launcher("node dist/main.js", built)(env);
    started.push(app);
    await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    expect(await healthcheck()).toBe(0);
    expect(await app.stop("SIGTERM")).toBe(0);
  });
});
