// What every part of a running process shares. Built once in app.ts (or by a test), passed down.
import type { Redis } from "ioredis";
import type { Sql } from "postgres";
import type { Backend } from "./backend/types.ts";
import type { Config } from "./config/env.ts";
import type { Db, Tx } from "./db/client.ts";
import type { ActionRow } from "./db/schema.ts";
import type { Queues } from "./jobs/queues.ts";
import type { Logger } from "./telemetry/log.ts";
import type { Metrics } from "./telemetry/metrics.ts";

/** Something beyond the store this process needs to be of use (Slack's Socket Mode connection). */
export type ReadinessCheck = {
  name: string;
  /** Null while it is up; otherwise why it is down, in words for /readyz and the log. */
  problem(): string | null;
};

export type AppContext = {
  config: Config;
  db: Db;
  sql: Sql;
  log: Logger;
  metrics: Metrics;
  queues: Queues;
  /** What runs the actions; `backend.runs` says how (in the worker's transaction, or remotely). */
  backend: Backend;
  /** A Redis connection that fails fast, for readiness probes. */
  probe: Redis;
  /** Makes the backend's world agree with an action recorded as already completed. */
  recordCompleted?: (tx: Tx, action: ActionRow) => Promise<void>;
  /** Checks /readyz runs besides Postgres and Redis; parts that start later add theirs. */
  readiness?: ReadinessCheck[];
};
