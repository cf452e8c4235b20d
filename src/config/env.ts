// The environment of the contract, validated once at start. A bad value stops the program with
// one line naming the variable; secrets are never echoed back.
//
// Why one long file: it is the contract's whole environment as one zod schema, so that every
// variable is validated, defaulted and documented in one place.
import { z } from "zod";
import { type ApproverList, parseApprovers } from "../domain/permissions.ts";
import { type Policy, usesStepUp } from "../domain/policy.ts";
import { plainWords } from "../domain/zodMessages.ts";
import {
  LIVE_RESPONSE_SCRIPT_DEFAULTS,
  type LiveResponseScripts,
  SCRIPT_KEYS,
} from "./liveResponseScripts.ts";
import { loadPolicy, PolicyError } from "./policyFile.ts";

// Values never echoed in an error: secrets, and URLs that may carry a password.
const UNPRINTABLE_VARIABLES = new Set([
  "DATABASE_URL",
  "REDIS_URL",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "INGEST_TOKEN",
  "DEFENDER_CLIENT_SECRET",
  "OIDC_CLIENT_SECRET",
]);

/** The fixed ingest token of the local sandbox; refused whenever a real Slack workspace is configured. */
export const SANDBOX_INGEST_TOKEN = "sandbox-ingest-token";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const urlText = (protocols: RegExp) => z.url({ protocol: protocols, message: "must be a URL" });

// Defender's and the identity provider's URLs carry client secrets and tokens: plain http only
// to this machine (a stand-in).
const httpsUrl = () =>
  urlText(/^https?$/).refine((value) => {
    // An unparsable value is already reported by the URL check.
    const url = URL.canParse(value) ? new URL(value) : null;
    return !url || url.protocol === "https:" || ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  }, "must be an https URL (http only for 127.0.0.1 or localhost)");
const secureUrl = (fallback: string) => httpsUrl().default(fallback);

const milliseconds = (fallback: number, min: number) =>
  z.coerce.number().int("must be a whole number").min(min).max(86_400_000).default(fallback);
const perWindow = (fallback: number) =>
  z.coerce.number().int("must be a whole number").min(1).default(fallback);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const scriptNames = optionalText.pipe(
  z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of script names" });
        return z.NEVER;
      }
    })
    .pipe(
      z.partialRecord(
        z.enum(SCRIPT_KEYS, `names only ${SCRIPT_KEYS.join(", ")}`),
        z.string().regex(/^[\w.-]{1,128}$/, "script names are file names in the live response library"),
      ),
    )
    .optional(),
);

const envSchema = z
  .object({
    DATABASE_URL: urlText(/^postgres(ql)?$/).default("postgres://postgres@127.0.0.1:5432/action_center"),
    REDIS_URL: urlText(/^rediss?$/).default("redis://127.0.0.1:6379"),
    PORT: z.coerce.number().int("must be a whole number").min(0).max(65535).default(3000),
    HOST: optionalText.pipe(
      z
        .union([z.ipv4(), z.ipv6()], "must be an IP address to listen on, such as 127.0.0.1 or 0.0.0.0")
        .optional(),
    ),
    PUBLIC_URL: optionalText.pipe(urlText(/^https?$/).optional()),
    SLACK_BOT_TOKEN: optionalText.pipe(z.string().startsWith("xoxb-", "must start with xoxb-").optional()),
    SLACK_SIGNING_SECRET: optionalText,
    SLACK_APP_TOKEN: optionalText.pipe(z.string().startsWith("xapp-", "must start with xapp-").optional()),
    SLACK_API_URL: urlText(/^https?$/).default("https://slack.com/api/"),
    SLACK_SOCKET_PING_TIMEOUT_MS: milliseconds(5000, 300),
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
    INGEST_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(600),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(20),
    JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    STUCK_AFTER_MS: z.coerce.number().int().min(1000).max(86_400_000).default(120_000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    DEFENDER_TENANT_ID: optionalText.pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/,
          "must be the directory (tenant) ID or a domain such as contoso.onmicrosoft.com",
        )
        .optional(),
    ),
    DEFENDER_CLIENT_ID: optionalText.pipe(
      z.string().regex(GUID, "must be the application (client) ID, a GUID").optional(),
    ),
    DEFENDER_CLIENT_SECRET: optionalText,
    DEFENDER_TOKEN_URL: secureUrl("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
    DEFENDER_API_URL: secureUrl("https://api.security.microsoft.com"),
    DEFENDER_SCOPE: z.string().min(1).default("https://api.securitycenter.microsoft.com/.default"),
    DEFENDER_ISOLATION_TYPE: z
      .enum(["Full", "Selective", "UnManagedDevice"], "must be Full, Selective or UnManagedDevice")
      .default("Full"),
    DEFENDER_LIVE_RESPONSE_SCRIPTS: scriptNames,
    DEFENDER_POLL_INTERVAL_MS: milliseconds(10_000, 10),
    DEFENDER_POLL_MAX_INTERVAL_MS: milliseconds(60_000, 10),
    DEFENDER_CALLS_PER_MINUTE: perWindow(100),
    DEFENDER_CALLS_PER_HOUR: perWindow(1500),
    DEFENDER_LIVE_RESPONSE_PER_MINUTE: perWindow(10),
    DEFENDER_CONNECTOR: z.enum(["on", "off"], "must be on or off").default("off"),
    DEFENDER_CONNECTOR_POLL_INTERVAL_MS: milliseconds(60_000, 50),
    DEFENDER_CONNECTOR_CALLS_PER_MINUTE: perWindow(20),
    DEFENDER_CONNECTOR_CALLS_PER_HOUR: perWindow(300),
    DEFENDER_CONNECTOR_PAGE_SIZE: z.coerce
      .number()
      .int("must be a whole number")
      .min(1)
      .max(10_000, "must be at most 10000 (Defender's largest page)")
      .default(500),
    DEFENDER_CONNECTOR_BACKFILL_MS: milliseconds(3_600_000, 0),
    DEFENDER_CONNECTOR_LEASE_MS: milliseconds(30_000, 1000),
    DEFENDER_LIVE_RESPONSE_WAIT_MS: milliseconds(30 * 60_000, 10),
    POLICY_FILE: optionalText,
    OIDC_ISSUER_URL: optionalText.pipe(httpsUrl().optional()),
    OIDC_CLIENT_ID: optionalText,
    OIDC_CLIENT_SECRET: optionalText,
    OIDC_REDIRECT_BASE_URL: optionalText.pipe(urlText(/^https?$/).optional()),
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
      } else if (env.INGEST_TOKEN.toLowerCase() === SANDBOX_INGEST_TOKEN) {
        // The sandbox's token is printed in the README and on the sandbox page: anyone could use it.
        ctx.addIssue({
          code: "custom",
          path: ["INGEST_TOKEN"],
          message: "must not be the public sandbox token with SLACK_BOT_TOKEN; choose a secret one",
        });
      }
    }
    if (env.BACKEND === "defender") {
      for (const variable of [
        "DEFENDER_TENANT_ID",
        "DEFENDER_CLIENT_ID",
        "DEFENDER_CLIENT_SECRET",
      ] as const) {
        if (env[variable] === undefined) {
          ctx.addIssue({ code: "custom", path: [variable], message: "is required with BACKEND=defender" });
        }
      }
    }
    if (env.OIDC_ISSUER_URL !== undefined) {
      for (const variable of ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"] as const) {
        if (env[variable] === undefined) {
          ctx.addIssue({ code: "custom", path: [variable], message: "is required with OIDC_ISSUER_URL" });
        }
      }
    }
    if (env.DEFENDER_CONNECTOR === "on" && env.BACKEND !== "defender") {
      ctx.addIssue({
        code: "custom",
        path: ["DEFENDER_CONNECTOR"],
        message: "reads Microsoft Defender, so it needs BACKEND=defender",
      });
    }
    // The connector's share must leave the worker calls of its own in every window.
    for (const [share, total] of [
      ["DEFENDER_CONNECTOR_CALLS_PER_MINUTE", "DEFENDER_CALLS_PER_MINUTE"],
      ["DEFENDER_CONNECTOR_CALLS_PER_HOUR", "DEFENDER_CALLS_PER_HOUR"],
    ] as const) {
      if (env[share] >= env[total]) {
        ctx.addIssue({
          code: "custom",
          path: [share],
          message: `must be less than ${total} (${env[total]}), so that the worker keeps calls of its own`,
        });
      }
    }
  });

/** Every variable the program reads (docker-compose.yml passes each one through; a test checks). */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export type Config = {
  databaseUrl: string;
  redisUrl: string;
  port: number;
  /** The address HTTP listens on: loopback for the sandbox, every interface for a workspace. */
  host: string;
  publicUrl: string;
  slack: {
    /** Whether the bot talks to the built-in local sandbox instead of a real workspace. */
    sandbox: boolean;
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    /** Socket Mode: how long a ping may go unanswered; also the first reconnect's delay (grows per failure). */
    socketPingTimeoutMs: number;
    channel: string;
  };
  approvers: ApproverList;
  ingestToken: string;
  backend: "simulated" | "defender";
  /** Set exactly when `backend` is defender. */
  defender: DefenderConfig | null;
  /** Whether the all-in-one process (`npm start`) also runs the Defender connector. */
  defenderConnector: boolean;
  workerConcurrency: number;
  queuePrefix: string;
  /** Ingest API requests a minute per token (0: no limit). */
  ingestRateLimit: number;
  /** Postgres connections per process; each running job and each request holds one briefly. */
  dbPoolSize: number;
  /** How long a worker holds a job before another may take it over (stalled-job recovery). */
  jobLockMs: number;
  /** An approved or running action untouched for this long has its job handed over again. */
  stuckAfterMs: number;
  logLevel: string;
  /** The approval policy (POLICY_FILE laid over the defaults). */
  policy: Policy;
  /** Step-up sign-in (policy `stepUp`): null when neither the policy nor OIDC_ISSUER_URL asks for it. */
  signIn: SignInConfig | null;
};

export type SignInConfig = {
  /** The OpenID Connect provider; `local`: the sandbox's own, started in-process. */
  provider: OidcProvider | "local";
  /** Base of the sign-in pages' URLs (the link in Slack and the redirect URI), no trailing slash. */
  baseUrl: string;
};

export type OidcProvider = { issuer: string; clientId: string; clientSecret: string };

export type DefenderConfig = {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The Entra ID token endpoint, tenant filled in. */
  tokenUrl: string;
  /** Base of the API, without a trailing slash; paths start with /api. */
  apiUrl: string;
  scope: string;
  isolationType: "Full" | "Selective" | "UnManagedDevice";
  liveResponseScripts: LiveResponseScripts;
  /** First wait before checking a submitted machine action; doubles up to `pollMaxIntervalMs`. */
  pollIntervalMs: number;
  pollMaxIntervalMs: number;
  callsPerMinute: number;
  callsPerHour: number;
  liveResponsePerMinute: number;
  /** How long a live response waits for a session someone else holds on its device before failing. */
  liveResponseWaitMs: number;
  /** The connector that reads alerts, investigations and machine actions from Defender. */
  connector: ConnectorConfig;
};

export type ConnectorConfig = {
  /** The wait between two rounds of reading Defender. */
  pollIntervalMs: number;
  /** The connector's share of the app's calls; the rest of each window is the worker's alone. */
  callsPerMinute: number;
  callsPerHour: number;
  /** Items per page asked of Defender (`$top`). */
  pageSize: number;
  /** How far back the first round reads. */
  backfillMs: number;
  /** How long the active connector's lease lasts without renewal; another process takes over after it. */
  leaseMs: number;
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
  // An empty variable is an unset one: `VAR=` in an env file, `${VAR:-}` in docker-compose.yml.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value?.trim()));
  const parsed = envSchema.safeParse(given, { error: plainWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const shown = UNPRINTABLE_VARIABLES.has(variable) ? "" : describeValue(env[variable]);
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const e = parsed.data;
  const sandbox = e.SLACK_BOT_TOKEN === undefined;
  const approvers = parseApprovers(e.APPROVERS);
  let policy: Policy;
  try {
    policy = loadPolicy(e.POLICY_FILE);
  } catch (error) {
    if (error instanceof PolicyError) throw new ConfigError("POLICY_FILE", error.message);
    throw error;
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");
  const signIn = signInConfig(e, policy, sandbox, publicUrl);
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    // The sandbox approves anything for anyone who reaches its page: only this machine, unless asked.
    host: e.HOST ?? (sandbox ? "127.0.0.1" : "0.0.0.0"),
    publicUrl,
    slack: {
      sandbox,
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL.endsWith("/") ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      socketPingTimeoutMs: e.SLACK_SOCKET_PING_TIMEOUT_MS,
      channel: e.SLACK_CHANNEL ?? "C0SANDBOX01",
    },
    approvers: approvers.ok ? approvers.value : { userIds: [], groupIds: [] },
    ingestToken: e.INGEST_TOKEN ?? SANDBOX_INGEST_TOKEN,
    backend: e.BACKEND,
    defender:
      e.BACKEND === "defender"
        ? {
            tenantId: e.DEFENDER_TENANT_ID!,
            clientId: e.DEFENDER_CLIENT_ID!,
            clientSecret: e.DEFENDER_CLIENT_SECRET!,
            tokenUrl: e.DEFENDER_TOKEN_URL.replaceAll("{tenant}", encodeURIComponent(e.DEFENDER_TENANT_ID!)),
            apiUrl: e.DEFENDER_API_URL.replace(/\/+$/, ""),
            scope: e.DEFENDER_SCOPE,
            isolationType: e.DEFENDER_ISOLATION_TYPE,
            liveResponseScripts: { ...LIVE_RESPONSE_SCRIPT_DEFAULTS, ...e.DEFENDER_LIVE_RESPONSE_SCRIPTS },
            pollIntervalMs: e.DEFENDER_POLL_INTERVAL_MS,
            pollMaxIntervalMs: Math.max(e.DEFENDER_POLL_MAX_INTERVAL_MS, e.DEFENDER_POLL_INTERVAL_MS),
            callsPerMinute: e.DEFENDER_CALLS_PER_MINUTE,
            callsPerHour: e.DEFENDER_CALLS_PER_HOUR,
            liveResponsePerMinute: e.DEFENDER_LIVE_RESPONSE_PER_MINUTE,
            liveResponseWaitMs: e.DEFENDER_LIVE_RESPONSE_WAIT_MS,
            connector: {
              pollIntervalMs: e.DEFENDER_CONNECTOR_POLL_INTERVAL_MS,
              callsPerMinute: e.DEFENDER_CONNECTOR_CALLS_PER_MINUTE,
              callsPerHour: e.DEFENDER_CONNECTOR_CALLS_PER_HOUR,
              pageSize: e.DEFENDER_CONNECTOR_PAGE_SIZE,
              backfillMs: e.DEFENDER_CONNECTOR_BACKFILL_MS,
              leaseMs: e.DEFENDER_CONNECTOR_LEASE_MS,
            },
          }
        : null,
    defenderConnector: e.DEFENDER_CONNECTOR === "on",
    workerConcurrency: e.WORKER_CONCURRENCY,
    queuePrefix: e.QUEUE_PREFIX,
    ingestRateLimit: e.INGEST_RATE_LIMIT,
    dbPoolSize: e.DB_POOL_SIZE,
    jobLockMs: e.JOB_LOCK_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    logLevel: e.LOG_LEVEL,
    policy,
    signIn,
  };
}

/**
 * The identity provider, when the policy asks for step-up or one is configured. Without one,
 * the sandbox starts its own local provider; anywhere else the start stops.
 */
function signInConfig(
  e: z.output<typeof envSchema>,
  policy: Policy,
  sandbox: boolean,
  publicUrl: string,
): SignInConfig | null {
  const baseUrl = (e.OIDC_REDIRECT_BASE_URL ?? publicUrl).replace(/\/+$/, "");
  if (e.OIDC_ISSUER_URL !== undefined) {
    return {
      provider: {
        issuer: e.OIDC_ISSUER_URL,
        clientId: e.OIDC_CLIENT_ID!,
        clientSecret: e.OIDC_CLIENT_SECRET!,
      },
      baseUrl,
    };
  }
  if (!usesStepUp(policy)) return null;
  if (sandbox) return { provider: "local", baseUrl };
  throw new ConfigError(
    "OIDC_ISSUER_URL",
    "is required: the policy (POLICY_FILE) asks for a step-up sign-in, which needs an OpenID Connect provider",
  );
}

function describeValue(value: string | undefined): string {
  if (value === undefined) return "";
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return ` (got "${shown}")`;
}
