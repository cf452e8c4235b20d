// Shared pieces of the benchmarks: an app on a fresh database and queue prefix, percentiles, tables.
import { Writable } from "node:stream";
import { type Role, type RunningApp, startApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import {
  type FakeSlackApi,
  type FakeSlackApiOptions,
  startFakeSlackApi,
} from "../src/slack/sandbox/fakeSlackApi.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../test/support/db.ts";

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
