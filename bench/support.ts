// Shared pieces of the benchmarks: an app on a fresh database and queue prefix, percentiles, tables.
import { Writable } from "node:stream";
import { type Role, type RunningApp, startApp } from "../src/app.ts";
import { loadConfig } from "../src/config/env.ts";
import { MAX_BATCH, parseIngestBody } from "../src/domain/actionInput.ts";
import {
  type FakeSlackApi,
  type FakeSlackApiOptions,
  startFakeSlackApi,
} from "../src/sandbox/fakeSlackApi.ts";
import { ingestActions } from "../src/services/ingest.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../test/support/db.ts";
import { actionBody } from "../test/support/fixtures.ts";
import { seedFleetFor } from "../test/support/fleet.ts";

export type BenchApp = RunningApp & {
  slackApi: FakeSlackApi;
  databaseUrl: string;
  env: Record<string, string>;
  close(): Promise<void>;
};

export async function startBenchApp(
  label: string,
  options: {
    role?: Role;
    env?: Record<string, string>;
    slack?: Partial<FakeSlackApiOptions>;
    databaseUrl?: string;
  } = {},
): Promise<BenchApp> {
  const database = options.databaseUrl ? null : await createTestDatabase(`bench_${label}`);
  const databaseUrl = options.databaseUrl ?? database!.url;
  const slackApi = await startFakeSlackApi(options.slack);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    PORT: "0",
    QUEUE_PREFIX: uniqueName(`bench_${label}`),
    INGEST_TOKEN: "bench-ingest-token-0123456789",
    SLACK_BOT_TOKEN: "xoxb-bench",
    SLACK_SIGNING_SECRET: "bench-signing-secret",
    SLACK_CHANNEL: "C0BENCH0001",
    SLACK_API_URL: slackApi.url,
    APPROVERS: "U0BENCHAPPR",
    LOG_LEVEL: "warn",
    ...options.env,
  };
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const running = await startApp(loadConfig(env), createLogger(env.LOG_LEVEL!, quiet), options.role ?? "all");
  return {
    ...running,
    slackApi,
    databaseUrl,
    env,
    async close() {
      await running.stop();
      await slackApi.close();
      await obliterateQueues(env.QUEUE_PREFIX!);
      await database?.drop();
    },
  };
}

/**
 * Stores actions the way the ingest API does (validated, in batches of at most 1,000, completed
 * ones applied to the simulated fleet), without HTTP in the way; returns their ids in order. The
 * fleet is given first what each action names (the simulated fleet refuses a file that is not on
 * the device, as Defender does), so the actions can run.
 */
export async function storeActions(app: BenchApp, bodies: Record<string, unknown>[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < bodies.length; i += MAX_BATCH) {
    const chunk = bodies.slice(i, i + MAX_BATCH);
    await seedFleetFor(app.ctx.db, chunk);
    const parsed = parseIngestBody({ actions: chunk });
    if (!parsed.ok) throw new Error(`bad bench input: ${JSON.stringify(parsed.issues.slice(0, 3))}`);
    const results = await ingestActions(app.ctx.db, parsed.actions, {
      channel: app.env.SLACK_CHANNEL!,
      onRecordedCompleted: app.ctx.recordCompleted,
    });
    ids.push(...results.map((r) => r.id));
  }
  return ids;
}

const MIXED_TYPES = [
  "isolate_device",
  "stop_service",
  "disable_driver",
  "block_url",
  "quarantine_file",
] as const;

/**
 * `count` pending actions of five types, each on its own (one message each), numbered from
 * `offset`; on the fixtures' 50 devices, or spread over `devices` of them.
 */
export function mixedActionBodies(
  count: number,
  offset: number,
  devices?: number,
): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    const type = MIXED_TYPES[n % MIXED_TYPES.length]!;
    const device = devices &&
      type !== "block_url" && { id: `dev-${n % devices}`, name: `LAPTOP-${n % devices}` };
    return actionBody(type, n, { investigationId: undefined, ...(device && { device }) });
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export type BenchRow = {
  benchmark: string;
  figure: string;
  reference: string;
  ratio: string;
  target: string;
  met: string;
};

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

export function printTable(rows: BenchRow[]): string {
  const header: BenchRow = {
    benchmark: "benchmark",
    figure: "figure",
    reference: "reference (same run)",
    ratio: "ratio",
    target: "target",
    met: "met",
  };
  const keys = Object.keys(header) as (keyof BenchRow)[];
  const line = (r: BenchRow) => `| ${keys.map((k) => r[k]).join(" | ")} |`;
  return [line(header), `| ${keys.map(() => "---").join(" | ")} |`, ...rows.map(line)].join("\n");
}
