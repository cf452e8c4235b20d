// Starts the real program in-process against the real Postgres and Redis, on a database and
// queue prefix of its own, with logs captured so tests can read them.
import { Writable } from "node:stream";
import { type Role, type RunningApp, startApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/env.ts";
import {
  type FakeSlackApi,
  type FakeSlackApiOptions,
  startFakeSlackApi,
} from "../../src/sandbox/fakeSlackApi.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import { createLogger } from "../../src/telemetry/log.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "./db.ts";
import { ingestedBodies, seedFleetFor } from "./fleet.ts";

export const TEST_INGEST_TOKEN = "test-ingest-token-0123456789";
export const TEST_SIGNING_SECRET = "test-signing-secret-0123456789abcdef";
export const TEST_BOT_TOKEN = "xoxb-test-bot-token";
export const TEST_CHANNEL = "C0TESTCHAN1";
/** The approvers every test app knows: one user listed by id, one through a user group. */
export const APPROVER = "U0APPROVER1";
export const GROUP_APPROVER = "U0GROUPMEMB";
export const APPROVER_GROUP = "S0SOCTEAM01";
export const BYSTANDER = "U0BYSTANDER";

export type TestApp = RunningApp & {
  logs: string[];
  databaseUrl: string;
  env: Record<string, string>;
  /** The stand-in for Slack's Web API this app talks to. */
  slackApi: FakeSlackApi;
  close(): Promise<void>;
  /**
   * Calls the HTTP API with the ingest token. Actions POSTed to the ingest API find on the simulated
   * fleet what they name (see fleet.ts), unless `seed` is false.
   */
  api(path: string, init?: RequestInit, options?: { seed?: boolean }): Promise<Response>;
};

export async function startTestApp(
  label: string,
  options: {
    role?: Role;
    env?: Record<string, string>;
    databaseUrl?: string;
    slack?: Partial<FakeSlackApiOptions>;
    /** A fake Slack to share, e.g. with an app this one replaces; the caller closes it. */
    slackApi?: FakeSlackApi;
    /** As `npm start` runs without Slack credentials: against its own sandbox, APPROVERS empty. */
    sandbox?: boolean;
  } = {},
): Promise<TestApp> {
  const database = options.databaseUrl ? null : await createTestDatabase(label);
  const databaseUrl = options.databaseUrl ?? database!.url;
  const ownSlack = options.sandbox
    ? undefined
    : (options.slackApi ?? (await startTestSlackApi(options.slack)));
  const env: Record<string, string> = {
    ...(ownSlack && {
      SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_CHANNEL: TEST_CHANNEL,
      SLACK_API_URL: ownSlack.url,
      APPROVERS: `${APPROVER},${APPROVER_GROUP}`,
    }),
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    PORT: "0",
    QUEUE_PREFIX: uniqueName(label),
    INGEST_TOKEN: TEST_INGEST_TOKEN,
    LOG_LEVEL: "debug",
    JOB_LOCK_MS: "5000",
    INGEST_RATE_LIMIT: "0",
    DB_POOL_SIZE: "8",
    ...options.env,
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const running = await startApp(loadConfig(env), createLogger(env.LOG_LEVEL!, sink), options.role ?? "all");
  let closed = false;
  return {
    ...running,
    logs,
    databaseUrl,
    env,
    slackApi: ownSlack ?? running.sandbox!,
    async close() {
      if (closed) return;
      closed = true;
      await running.stop();
      if (ownSlack && !options.slackApi) await ownSlack.close();
      await obliterateQueues(env.QUEUE_PREFIX!);
      await database?.drop();
    },
    async api(path, init = {}, apiOptions = {}) {
      if (apiOptions.seed !== false && init.method === "POST" && path.startsWith("/api/v1/actions"))
        // With Postgres down (tests of that) the request itself is what the test checks.
        await seedFleetFor(running.ctx.db, ingestedBodies(init)).catch(() => undefined);
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TEST_INGEST_TOKEN}`);
      if (init.body !== undefined && !headers.has("content-type"))
        headers.set("content-type", "application/json");
      return fetch(`${running.url}${path}`, { ...init, headers });
    },
  };
}

/** The fake Slack Web API a test app talks to: Slack's limits checked, the approvers' group known. */
export function startTestSlackApi(options: Partial<FakeSlackApiOptions> = {}): Promise<FakeSlackApi> {
  return startFakeSlackApi({
    validateMessage,
    validateView,
    userGroups: { [APPROVER_GROUP]: [GROUP_APPROVER] },
    ...options,
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
