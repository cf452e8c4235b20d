// The Defender connector: one process at a time (the lease) reads Microsoft Defender in rounds —
// alerts and their evidence (proposals), automated investigations waiting for approval
// (announcements) and machine actions (history) — within its share of the app's call budget,
// waiting out Defender's 429s for as long as Retry-After says (longer while they go on).

import {
  createDefenderReader,
  type DefenderAlert,
  type DefenderInvestigation,
  type DefenderMachineAction,
} from "../backend/defender/reader.ts";
import { BackendRateLimitError } from "../backend/types.ts";
import type { AppContext } from "../context.ts";
import { installationId } from "../db/installation.ts";
import { pendingInvestigationIds } from "../db/queries/connector.ts";
import { createRedis } from "../lib/redis.ts";
import { createSleeper } from "../lib/sleeper.ts";
import { storeAlertPage } from "../services/defenderAlerts.ts";
import { quarantinesNeedingSha256, recordMachineActions } from "../services/defenderHistory.ts";
import { storeInvestigation } from "../services/defenderInvestigations.ts";
import { createLease, LeaseLost } from "./lease.ts";
import { type PagedStream, readStream, type StreamDeps } from "./pagedStream.ts";

const CONNECTOR_LEASE = "defender-connector";
// A machine action still running this long after it was created no longer holds the window back:
// Defender queues live response for up to 3 days, and its pending actions time out after a week.
const HOLD_AT_MOST_MS = 7 * 24 * 3600_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const FIRST_BACKOFF_MS = 1000;
// Investigations announced and still waiting, checked one by one when they leave the pending list.
const TRACKED_AT_ONCE = 200;

export type Connector = { stop(): Promise<void>; lease: { holder: string; held(): boolean } };

export function startConnector(ctx: AppContext): Connector {
  const defender = ctx.config.defender;
  if (!defender) throw new Error("the connector reads Microsoft Defender: set BACKEND=defender");
  const settings = defender.connector;
  const { log, metrics } = ctx;
  const redis = createRedis(ctx.config.redisUrl, "producer");
  const reader = createDefenderReader(defender, { redis, queuePrefix: ctx.config.queuePrefix });
  const lease = createLease(ctx.db, { name: CONNECTOR_LEASE, ttlMs: settings.leaseMs });
  const channel = ctx.config.slack.channel;
  const policy = ctx.config.policy;

  let running = true;
  const { sleep, wake } = createSleeper();
  const deps: StreamDeps = {
    db: ctx.db,
    lease,
    log,
    backfillMs: settings.backfillMs,
    stopping: () => !running,
  };
  const count = (stream: string, outcome: string, n: number) => {
    if (n > 0) metrics.connectorItems.inc({ stream, outcome }, n);
  };

  const alerts: PagedStream<DefenderAlert, null> = {
    name: "alerts",
    firstPage: reader.alertsSince,
    read: reader.readAlerts,
    stamp: (alert) => alert.lastUpdateTime,
    prepare: async () => null,
    async store(tx, items) {
      const outcome = await storeAlertPage(tx, items, { policy, channel });
      count("alerts", "proposed", outcome.proposed);
      count("alerts", "resolved", outcome.resolved);
      count("alerts", "expired", outcome.expired);
      count("alerts", "unusable", outcome.unusable.length);
      if (outcome.unusable.length > 0) {
        log.info(
          { unusable: outcome.unusable.slice(0, 20) },
          "alert evidence a rule matched could not be acted on",
        );
      }
      return { holdFrom: null };
    },
  };

  const machineActions: PagedStream<DefenderMachineAction, Map<string, string>> = {
    name: "machineactions",
    firstPage: reader.machineActionsSince,
    read: reader.readMachineActions,
    stamp: (action) => action.creationDateTimeUtc,
    // Defender names a quarantined file by SHA-1; our actions (and restore) need its SHA-256.
    async prepare(items) {
      const hashes = new Map<string, string>();
      const app = { clientId: defender.clientId, installationId: await installationId(ctx.db) };
      for (const sha1 of await quarantinesNeedingSha256(ctx.db, items, app)) {
        const file = await reader.file(sha1);
        if (file?.sha256) hashes.set(sha1, file.sha256.toLowerCase());
      }
      return hashes;
    },
    async store(tx, items, sha256Of) {
      const outcome = await recordMachineActions(tx, items, {
        clientId: defender.clientId,
        installationId: await installationId(tx),
        policy,
        channel,
        sha256Of,
      });
      count("machineactions", "recorded", outcome.recorded);
      count("machineactions", "own", outcome.own);
      count("machineactions", "reversed", outcome.reversed);
      count("machineactions", "skipped", outcome.skipped.length);
      if (outcome.skipped.length > 0) log.debug({ skipped: outcome.skipped }, "machine actions not recorded");
      const holdable = Date.now() - HOLD_AT_MOST_MS;
      const held = outcome.running
        .map((action) => action.creationDateTimeUtc)
        .filter((created): created is Date => created !== null && created.getTime() > holdable)
        .sort((a, b) => a.getTime() - b.getTime());
      return { holdFrom: held[0] ?? null };
    },
  };

  async function readInvestigations(): Promise<void> {
    const waiting = new Set<string>();
    for (let path: string | null = reader.pendingInvestigations(); path !== null; ) {
      const page = await reader.readInvestigations(path);
      for (const investigation of page.items) {
        waiting.add(investigation.id);
        await store(investigation);
      }
      path = running ? page.next : null;
    }
    if (!running) return;
    // Announced ones no longer in the list moved on: ask for each, so its message says where to.
    const gone = (await pendingInvestigationIds(ctx.db, TRACKED_AT_ONCE)).filter((id) => !waiting.has(id));
    for (const id of gone) {
      const investigation = await reader.investigation(id);
      if (investigation) await store(investigation);
      else log.warn({ investigationId: id }, "Defender no longer knows an announced investigation");
    }
  }

  async function store(investigation: DefenderInvestigation) {
    const outcome = await ctx.db.transaction(async (tx) => {
      await lease.check(tx);
      return storeInvestigation(tx, investigation, { channel });
    });
    count("investigations", outcome, outcome === "unchanged" || outcome === "not_pending" ? 0 : 1);
    if (outcome === "announced") {
      log.info(
        { investigationId: investigation.id },
        "announced an automated investigation waiting for approval in Defender",
      );
    }
  }

  async function round(): Promise<void> {
    await readStream(deps, alerts);
    if (running) await readInvestigations();
    if (running) await readStream(deps, machineActions);
  }

  const heartbeat = setInterval(
    () => {
      if (!lease.held()) return;
      lease
        .take()
        .then((held) => {
          if (!held) log.warn({ holder: lease.holder }, "lost the connector lease; another process runs it");
        })
        .catch((error: unknown) => log.warn({ err: error }, "could not renew the connector lease"));
    },
    Math.max(200, settings.leaseMs / 3),
  );

  const loop = (async () => {
    let backoff = 0;
    while (running) {
      try {
        if (!lease.held()) {
          if (!(await lease.take())) {
            metrics.connectorRounds.inc({ outcome: "standby" });
            await sleep(Math.min(settings.leaseMs, settings.pollIntervalMs));
            continue;
          }
          log.info({ holder: lease.holder }, "this process runs the Defender connector");
        }
        await round();
        metrics.connectorRounds.inc({ outcome: "done" });
        backoff = 0;
        await sleep(settings.pollIntervalMs);
      } catch (error) {
        if (error instanceof LeaseLost) {
          log.warn({ holder: lease.holder }, error.message);
          continue;
        }
        backoff = Math.min(Math.max(FIRST_BACKOFF_MS, backoff * 2), MAX_BACKOFF_MS);
        if (error instanceof BackendRateLimitError) {
          // Defender's word is the least wait; a storm that goes on is met with longer ones.
          const wait = Math.max(error.retryAfterMs, backoff);
          metrics.connectorRounds.inc({ outcome: "throttled" });
          log.warn({ waitMs: wait }, `Defender connector waits: ${error.message}`);
          await sleep(wait);
          continue;
        }
        metrics.connectorRounds.inc({ outcome: "failed" });
        log.warn({ err: error, retryInMs: backoff }, "Defender connector round failed; trying again");
        await sleep(backoff);
      }
    }
  })();

  return {
    lease,
    async stop() {
      running = false;
      wake();
      await loop;
      clearInterval(heartbeat);
      await lease
        .release()
        .catch((error: unknown) => log.warn({ err: error }, "could not release the lease"));
      redis.disconnect();
    },
  };
}
