// Entry point: `npm start [-- web|worker|connector]`. Wiring only.
import { type Role, startApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config/env.ts";
import { createLogger } from "./telemetry/log.ts";

const ROLES: Role[] = ["all", "web", "worker", "connector"];
const role = (process.argv[2] ?? "all") as Role;
if (!ROLES.includes(role)) {
  console.error(
    `action-center: unknown role "${process.argv[2]}"; use web, worker or connector, or nothing for web and worker in one process`,
  );
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`action-center: configuration error: ${error.message}`);
  process.exit(1);
}

const log = createLogger(config.logLevel);
const app = await startApp(config, log, role).catch((error: unknown) => {
  log.fatal({ err: error }, "could not start");
  process.exit(1);
});
log.info({ role, backend: config.backend, sandbox: config.slack.sandbox }, "action center started");

// The last resort of a stop: each part bounds its own waits well within this, and docker stops a
// container with SIGKILL 10 s after SIGTERM. What is still running then is taken over after a
// restart (the outbox rows stay, running jobs are picked up as stalled).
const STOP_DEADLINE_MS = 9000;

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining");
    setTimeout(() => {
      log.error({ waitedMs: STOP_DEADLINE_MS }, "unclean stop: parts still stopping at the deadline");
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    app.stop().then(
      async () => {
        // Queries cut off by the pool's close settle in the same turn: their handlers log first.
        await new Promise((resolve) => setImmediate(resolve));
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "unclean stop");
        process.exit(1);
      },
    );
  });
}
