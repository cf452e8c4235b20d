// Which backend runs the actions: Defender's API when configured, the simulated fleet otherwise.
import type { Config } from "../config/env.ts";
import type { Tx } from "../db/client.ts";
import type { ActionRow } from "../db/schema.ts";
import type { Logger } from "../telemetry/log.ts";
import { createDefenderBackend } from "./defender/backend.ts";
import { createSimulatedBackend } from "./simulated/backend.ts";
import type { Backend } from "./types.ts";

/** `installationId`: this installation's (db/installation.ts), for the markers left in Defender. */
export function createBackend(config: Config, log: Logger, installationId: string): Backend {
  if (config.defender) {
    return createDefenderBackend(config.defender, {
      redisUrl: config.redisUrl,
      queuePrefix: config.queuePrefix,
      log,
      installationId,
    });
  }
  return createSimulatedBackend();
}

/**
 * Makes the backend's world agree with an action reported as already completed: the simulated
 * fleet applies it to its own state; a remote backend's devices already are as reported.
 */
export function recordCompletedIn(
  backend: Backend,
): ((tx: Tx, action: ActionRow) => Promise<void>) | undefined {
  if (backend.runs !== "in_transaction") return undefined;
  return async (tx, action) => void (await backend.apply(tx, action));
}
