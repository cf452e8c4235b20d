// The environment of the contract, validated once at start. A bad value stops the program with
// one line naming the variable; secrets are never echoed back.
import { z } from "zod";
import { type ApproverList, parseApprovers } from "./domain/permissions.ts";

// Values never echoed in an error: secrets, and URLs that may carry a password.
const UNPRINTABLE_VARIABLES = new Set([
  "DATABASE_URL",
  "REDIS_URL",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "INGEST_TOKEN",
  "DEFENDER_CLIENT_SECRET",
]);

/** The fixed ingest token of the local sandbox; refused whenever a real Slack workspace is configured. */
export const SANDBOX_INGEST_TOKEN = "sandbox-ingest-token";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const urlText = (protocols: RegExp) => z.url({ protocol: protocols, message: "must be a URL" });

const envSchema = z
  .object({
    DATABASE_URL: urlText(/^postgres(ql)?$/).default("postgres://postgres@127.0.0.1:5432/action_center"),
    REDIS_URL: urlText(/^rediss?$/).default("redis://127.0.0.1:6379"),
    PORT: z.coerce.number().int("must be a whole number").min(0).max(65535).default(3000),
    PUBLIC_URL: optionalText.pipe(urlText(/^https?$/).optional()),
    SLACK_BOT_TOKEN: optionalText.pipe(z.string().startsWith("xoxb-", "must start with xoxb-").optional()),
    SLACK_SIGNING_SECRET: optionalText,
    SLACK_APP_TOKEN: optionalText.pipe(z.string().startsWith("xapp-", "must start with xapp-").optional()),
    SLACK_API_URL: urlText(/^https?$/).default("https://slack.com/api/"),
    SLACK_CHANNEL: optionalText.pipe(
      z
        .string()
        .regex(/^[CGD][A-Z0-9]{2,}$/, "must be a channel ID such as C0123456789")
        .optional(),
    ),
    APPROVERS: z.string().default(""),
    INGEST_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
    BACKEND: z.enum(["simulated", "defender"], "must be simulated or defender").default("simulated"),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be letters, digits, - or _")
      .default("action-center"),
    JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    STUCK_AFTER_MS: z.coerce.number().int().min(1000).max(86_400_000).default(120_000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((env, ctx) => {
    const approvers = parseApprovers(env.APPROVERS);
    if (!approvers.ok) {
      ctx.addIssue({
        code: "custom",
        path: ["APPROVERS"],
        message: `"${approvers.entry}" is not a Slack user ID (U…) or user-group ID (S…)`,
      });
    }
    if (env.SLACK_BOT_TOKEN !== undefined) {
      if (env.SLACK_APP_TOKEN === undefined && env.SLACK_SIGNING_SECRET === undefined) {
        ctx.addIssue({ code: "custom", path: ["SLACK_SIGNING_SECRET"], message: "is required in HTTP mode" });
      }
      if (env.SLACK_CHANNEL === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["SLACK_CHANNEL"],
          message: "is required with SLACK_BOT_TOKEN",
        });
      }
      if (env.INGEST_TOKEN === undefined) {
        ctx.addIssue({ code: "custom", path: ["INGEST_TOKEN"], message: "is required with SLACK_BOT_TOKEN" });
      }
    }
  });

export type Config = {
  databaseUrl: string;
  redisUrl: string;
  port: number;
  publicUrl: string;
  slack: {
    /** Whether the bot talks to the built-in local sandbox instead of a real workspace. */
    sandbox: boolean;
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    channel: string;
  };
  approvers: ApproverList;
  ingestToken: string;
  backend: "simulated" | "defender";
  workerConcurrency: number;
  queuePrefix: string;
  /** How long a worker holds a job before another may take it over (stalled-job recovery). */
  jobLockMs: number;
  /** An approved or running action untouched for this long has its job handed over again. */
  stuckAfterMs: number;
  logLevel: string;
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

/** Validates `env`; throws a ConfigError whose message is the one line to print. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const shown = UNPRINTABLE_VARIABLES.has(variable) ? "" : describeValue(env[variable]);
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const e = parsed.data;
  const sandbox = e.SLACK_BOT_TOKEN === undefined;
  const approvers = parseApprovers(e.APPROVERS);
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    slack: {
      sandbox,
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL.endsWith("/") ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      channel: e.SLACK_CHANNEL ?? "C0SANDBOX01",
    },
    approvers: approvers.ok ? approvers.value : { userIds: [], groupIds: [] },
    ingestToken: e.INGEST_TOKEN ?? SANDBOX_INGEST_TOKEN,
    backend: e.BACKEND,
    workerConcurrency: e.WORKER_CONCURRENCY,
    queuePrefix: e.QUEUE_PREFIX,
    jobLockMs: e.JOB_LOCK_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    logLevel: e.LOG_LEVEL,
  };
}

function describeValue(value: string | undefined): string {
  if (value === undefined) return "";
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return ` (got "${shown}")`;
}
