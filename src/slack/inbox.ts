// The Slack side of the inbox (db/inbox.ts): what is kept of each signed request, and its
// handling through Bolt, at once by the process that answered it or later by a recovery. A
// request is written before it is answered, so a process killed right after its ack loses
// nothing: its rows' claims run out and any web process takes them over, oldest first.
import type { AckFn, App } from "@slack/bolt";
import type { AppContext } from "../context.ts";
import {
  claimAbandonedInboxRow,
  deleteFinishedInboxRows,
  finishInboxRows,
  type InboxEntry,
  type InboxRequest,
  insertInboxRequests,
  renewInboxClaims,
} from "../db/inbox.ts";
import { createBatcher } from "../lib/batcher.ts";
import { startPeriodicPass } from "../lib/periodicPass.ts";
import { handleInboxRow } from "../services/inbox.ts";

/** How long the process that wrote a row owns it; renewed while the handling goes on. */
const CLAIM_MS = 10_000;
const RENEW_EVERY_MS = 3_000;
/** How often a web process looks for rows whose process stopped (and once at start). */
const RECOVER_EVERY_MS = 5_000;
/** A recovery pass running this long is taken for stuck: several claims' worth of handling. */
const OVERRUN_AFTER_MS = 3 * CLAIM_MS;
/**
 * A request still unfinished this long after it arrived, taken over this many times (every
 * process that took it died, or Bolt failed), is given up and logged: a request that kills the
 * process must not keep every web process restarting. Short of both, it is tried again.
 */
const GIVE_UP_AFTER_MS = 15 * 60_000;
const GIVE_UP_AFTER_ATTEMPTS = 5;
/** Finished rows are kept this long: well past the replay window, whose keys they remember. */
const RETENTION_MS = 60 * 60_000;
const PURGE_EVERY_MS = 5 * 60_000;

export type { InboxEntry } from "../db/inbox.ts";
/** What Slack says of a delivery it retries (X-Slack-Retry-Num, X-Slack-Retry-Reason), for Bolt. */
export type SlackRetry = { retryNum?: number; retryReason?: string };
export type SlackInbox = ReturnType<typeof createSlackInbox>;

/**
 * What the inbox keeps of a verified request: its kind, the key that tells a second delivery
 * (the signature, or an Events API delivery's event_id, which Slack's retries keep), and the
 * payload as Bolt reads it, without Slack's legacy verification token, and for a click without
 * the copy of the clicked message (no listener reads it; it is most of a click's size). Null for
 * a body that is none of Slack's requests.
 */
export function inboxRequestOf(body: unknown, signature: string): InboxRequest | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const { token: _verificationToken, ...payload } = body as Record<string, unknown>;
  if (payload.type === "block_actions") delete payload.message;
  if (typeof payload.command === "string") {
    return { kind: "command", requestKey: `sig:${signature}`, payload };
  }
  if (payload.type === "event_callback" && typeof payload.event_id === "string") {
    return { kind: "event", requestKey: `event:${payload.event_id}`, payload };
  }
  if (typeof payload.type === "string" && payload.type !== "url_verification") {
    return { kind: payload.type, requestKey: `sig:${signature}`, payload };
  }
  return null;
}

export function createSlackInbox(app: App, ctx: AppContext) {
  const { db, log, metrics } = ctx;
  const record = createBatcher((requests: InboxRequest[]) => insertInboxRequests(db, requests, CLAIM_MS), {
    maxBatch: 500,
    maxInFlight: 2,
  });
  const finish = createBatcher(
    async (ids: number[]) => {
      await finishInboxRows(db, ids, "handled");
      return ids.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 1 },
  );
  /** Rows being handled here: renewed, waited for at shutdown, never taken over by our recovery. */
  const inFlight = new Map<number, Promise<void>>();
  /** Rows handled here whose marking failed (Postgres gone): marked by the next recovery, not handled again. */
  const unmarked = new Set<number>();

  /** Hands the request to Bolt as the handling of its row; marks the row done unless a decision did. */
  async function handle(entry: InboxEntry, ack: AckFn<unknown>, retry: SlackRetry = {}): Promise<void> {
    const work = (async () => {
      let decided: boolean;
      try {
        ({ decided } = await handleInboxRow(entry.id, () =>
          app.processEvent({ body: entry.payload, ack, ...retry }),
        ));
      } catch (error) {
        log.error(
          { err: error, inboxId: entry.id, kind: entry.kind },
          "a Slack request failed; it stays in the inbox for a recovery",
        );
        return;
      }
      if (decided) return;
      try {
        await finish(entry.id);
      } catch (error) {
        unmarked.add(entry.id);
        log.warn(
          { err: error, inboxId: entry.id },
          "could not mark a handled Slack request done; will retry",
        );
      }
    })();
    inFlight.set(entry.id, work);
    try {
      await work;
    } finally {
      inFlight.delete(entry.id);
    }
  }

  /** The answer of a request handled after its HTTP response is gone: nobody waits for it. */
  const lateAck =
    (entry: InboxEntry): AckFn<unknown> =>
    async (response) => {
      if (response !== undefined) log.debug({ inboxId: entry.id, kind: entry.kind }, "late answer dropped");
    };

  let lastPurge = 0;
  async function recover(): Promise<void> {
    if (unmarked.size > 0) {
      const ids = [...unmarked];
      await finishInboxRows(db, ids, "handled");
      for (const id of ids) unmarked.delete(id);
    }
    // In order of receipt, one at a time: the order the clicks were made in.
    for (
      let row = await claimAbandonedInboxRow(db, CLAIM_MS);
      row;
      row = await claimAbandonedInboxRow(db, CLAIM_MS)
    ) {
      if (inFlight.has(row.id)) continue;
      if (row.attempts > GIVE_UP_AFTER_ATTEMPTS && Date.now() - row.receivedAt.getTime() > GIVE_UP_AFTER_MS) {
        await finishInboxRows(db, [row.id], "abandoned");
        log.error(
          { inboxId: row.id, kind: row.kind, attempts: row.attempts - 1 },
          "gave up a Slack request whose handling never finished",
        );
        continue;
      }
      log.warn(
        { inboxId: row.id, kind: row.kind, attempt: row.attempts },
        "handling a Slack request that a stopped process had acknowledged",
      );
      metrics.inboxRecovered.inc({ kind: row.kind });
      await handle(row, lateAck(row));
    }
    if (Date.now() - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = Date.now();
      const purged = await deleteFinishedInboxRows(db, RETENTION_MS);
      if (purged > 0) log.debug({ purged }, "forgot finished Slack requests");
    }
  }

  return {
    /** Writes the request before it is answered; its row, or null when its key was received before. */
    record: async (request: InboxRequest): Promise<InboxEntry | null> => {
      const id = await record(request);
      if (id === null) return null;
      return { id, kind: request.kind, payload: request.payload, attempts: 0, receivedAt: new Date() };
    },
    handle,
    /** Recovers at once (rows a crash left) and then every few seconds; keeps this process's claims. */
    startRecovery(): { stop(): Promise<void> } {
      const recovery = startPeriodicPass({
        name: "Slack inbox recovery",
        everyMs: RECOVER_EVERY_MS,
        atStart: true,
        run: recover,
        log,
        // Passes claim their rows, so another may start beside one stuck on a query that never
        // settles; without it, the clicks handled meanwhile would never be marked done.
        overrunAfterMs: OVERRUN_AFTER_MS,
      });
      const renew = () => {
        if (inFlight.size === 0) return;
        renewInboxClaims(db, [...inFlight.keys()], CLAIM_MS).catch((error: unknown) =>
          log.warn({ err: error }, "could not renew the claims of Slack requests being handled"),
        );
      };
      const renewing = setInterval(renew, RENEW_EVERY_MS);
      return {
        async stop() {
          clearInterval(renewing);
          await recovery.stop();
        },
      };
    },
    /** Waits for the requests being handled here. */
    async drain(): Promise<void> {
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
