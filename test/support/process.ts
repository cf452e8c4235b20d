// Runs the program as a user would, with `npm start` or as the image does from the build
// (`node dist/main.js`), and drives it only over HTTP.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SANDBOX_INGEST_TOKEN } from "../../src/config/env.ts";
import { createDb } from "../../src/db/client.ts";
import { deviceIdOf, seedFleet } from "../../src/demo/fleet.ts";
import { waitFor } from "./app.ts";
import { actionBody } from "./fixtures.ts";
import { CONFIRMED_BY_MODAL } from "./slackUser.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** How a test starts the program; LAUNCHES are the ways a user does, run by the black-box tests. */
export type Launch = "npm start" | "node dist/main.js" | "node --import tsx";
export const LAUNCHES: Launch[] = ["npm start", "node dist/main.js"];

export type StartedProcess = {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

// A port found free by binding port 0 is in the kernel's ephemeral range (32768–60999 here,
// /proc/sys/net/ipv4/ip_local_port_range), where another test file's listener or any outgoing
// connection may take it in the second or two before the child binds it; that child then fails
// to listen, and its /healthz is answered by a stranger with another signing secret. So a test's
// ports come from below that range, from a block of vitest's worker's own (VITEST_POOL_ID), which
// no other file running at the same time draws from; a bind checks that nothing left by the
// file before holds the port.
const FIRST_PORT = 20_000;
const PORTS_PER_WORKER = 1_000;
const poolId = Number(process.env.VITEST_POOL_ID ?? 0);
const block = FIRST_PORT + (Number.isInteger(poolId) && poolId > 0 ? poolId : 0) * PORTS_PER_WORKER;
// A random start, so that files run one after the other in a worker seldom meet the same ports.
let nextInBlock = Math.floor(Math.random() * PORTS_PER_WORKER);

/** A port on 127.0.0.1 nothing listens on, which no other test running now is given. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < PORTS_PER_WORKER; tried++) {
    const port = block + (nextInBlock++ % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${block}–${block + PORTS_PER_WORKER - 1}`);
}

/** False when something listens on `port`; any other failure to listen is the test's error. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(false) : reject(error),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function npmStart(env: Record<string, string>, args: string[] = []): StartedProcess {
  return startProgram("npm start", env, args);
}

/** What `npm start` execs, without npm in front: for a test that starts the program many times. */
export function nodeStart(env: Record<string, string>, args: string[] = []): StartedProcess {
  return startProgram("node --import tsx", env, args);
}

/**
 * The program built once into a directory of its own, for a test that starts it many times: a
 * start of `node dist/main.js` takes about half the CPU of one through tsx, which resolves every
 * import through its loader. Emitted without type checking (`npm run typecheck` has that job),
 * beside links to the repository's migrations and packages, as the image lays them out.
 */
export async function buildProgram(): Promise<{ start: typeof nodeStart; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "ac-build-"));
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  await symlink(join(ROOT, "drizzle"), join(dir, "drizzle"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "scripts/build.ts", "--no-check", "--into", dir],
    { cwd: ROOT },
  );
  return {
    start: (env, args = []) => startProgram("node dist/main.js", env, args, dir),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `cwd`: where the program is (the repository by default; for a build, the image's WORKDIR). */
export function startProgram(
  launch: Launch,
  env: Record<string, string>,
  args: string[] = [],
  cwd = ROOT,
): StartedProcess {
  const [command, commandArgs] =
    launch === "npm start"
      ? ["npm", ["start", "--silent", ...(args.length ? ["--", ...args] : [])]]
      : launch === "node --import tsx"
        ? [process.execPath, ["--import", "tsx", "src/main.ts", ...args]]
        : ["node", ["dist/main.js", ...args]];
  const child = spawn(command, commandArgs, {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = "SIGTERM") {
      // A process killed by a signal has no exit code, only a signal code.
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      // npm forwards SIGTERM to the program it exec'd; SIGKILL cannot be forwarded, so it goes to
      // the whole process group, or the program would live on as an orphan.
      if (signal === "SIGKILL") process.kill(-child.pid!, "SIGKILL");
      else child.kill(signal);
      return exited;
    },
  };
}

/** `npm run demo` with only `env` (and PATH): its exit code and what it printed. */
export function npmRunDemo(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn("npm", ["run", "demo", "--silent", ...(args.length ? ["--", ...args] : [])], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (err += String(d)));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** The first log line with a given message, parsed. */
export function logLine(output: string, msg: string): Record<string, unknown> {
  const line = output.split("\n").find((l) => l.includes(`"msg":${JSON.stringify(msg)}`));
  if (!line) throw new Error(`no "${msg}" line in:\n${output}`);
  return JSON.parse(line);
}

/** The sandbox's channel, where `npm start` without Slack credentials posts. */
const SANDBOX_CHANNEL = "C0SANDBOX01";

/** Clicks a button of the sandbox channel's message that shows it, as the sandbox page does. */
export async function clickInSandbox(base: string, actionId: string): Promise<void> {
  const message = await waitFor(
    async () => {
      const state = (await (await fetch(`${base}/sandbox/api/state`)).json()) as {
        timelines: { channel: { key: string; html: string }[] };
      };
      return state.timelines.channel.find((m) => m.html.includes(`data-action-id="${actionId}"`));
    },
    30_000,
    `a message with ${actionId}`,
  );
  await sandboxClick(base, { channel: SANDBOX_CHANNEL, ts: message.key.replace(/^m:/, ""), actionId });
}

/**
 * Clicks button `actionId` of the message at `ts` as the sandbox page does, in one browser
 * session, and confirms a decision in the modal it opens (the sandbox's person is an approver).
 */
export async function sandboxClick(
  base: string,
  click: { channel: string; ts: string; actionId: string },
): Promise<void> {
  // One browser: the modal the click opens shows in the session that clicked.
  let cookie = "";
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${base}/sandbox/api/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", cookie },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
    if (res.status !== 200)
      throw new Error(`${path} (${click.actionId}): HTTP ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ modal?: { id: string } | null }>;
  };
  await call("click", { container: "message", ...click });
  if (!CONFIRMED_BY_MODAL.test(click.actionId)) return;
  const modal = await waitFor(
    async () => (await call("state")).modal ?? undefined,
    10_000,
    "the confirmation",
  );
  await call(`views/${modal.id}/submit`, { values: {} });
}

export const SANDBOX_AUTH = {
  authorization: `Bearer ${SANDBOX_INGEST_TOKEN}`,
  "content-type": "application/json",
};

/**
 * Seeds the demo's fleet (as `npm run demo` does) and proposes isolating one of its devices
 * through the ingest API; returns the action's id. `n` makes each call a new action.
 */
export async function proposeIsolation(base: string, databaseUrl: string, n: number): Promise<string> {
  const store = createDb(databaseUrl, { max: 1 });
  try {
    await seedFleet(store.db);
  } finally {
    await store.client.end();
  }
  const device = { id: deviceIdOf("LAPTOP-FIN-07"), name: "LAPTOP-FIN-07" };
  const created = await fetch(`${base}/api/v1/actions`, {
    method: "POST",
    headers: SANDBOX_AUTH,
    body: JSON.stringify(actionBody("isolate_device", n, { device })),
  });
  if (created.status !== 201) throw new Error(`ingest: HTTP ${created.status} ${await created.text()}`);
  return ((await created.json()) as { actions: { id: string }[] }).actions[0]!.id;
}

/** Waits until the action has `status`, read through the API. */
export async function statusReached(base: string, id: string, status: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const shown = (await (
        await fetch(`${base}/api/v1/actions/${id}`, { headers: SANDBOX_AUTH })
      ).json()) as {
        status: string;
        events: { kind: string; actor: string | null }[];
      };
      return shown.status === status ? shown : undefined;
    },
    timeoutMs,
    `action ${id} ${status}`,
  );
}
