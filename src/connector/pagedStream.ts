// Reading a Defender collection on a durable cursor: `$filter=<time> ge <since>`, page after page
// through `@odata.nextLink`. Each page is stored and the cursor moved in one transaction (that also
// checks the lease), so a crash loses at most the page under way, which the next holder reads again
// from the saved next-page link: nothing read twice into two actions, nothing skipped. A finished
// window moves `since` to the newest time read, less an overlap for items Defender shows late.

import { DefenderApiError } from "../backend/defender/client.ts";
import type { Page } from "../backend/defender/reader.ts";
import type { Db, Tx } from "../db/client.ts";
import { readCursor, saveCursor } from "../db/queries/connector.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Lease } from "./lease.ts";

/**
 * Items updated just before the cursor's time may show in Defender's answers only later; a window
 * starts this much before the newest time already read. Items read again change nothing: every
 * proposal and record is idempotent.
 */
const OVERLAP_MS = 2 * 60_000;

/** Where a stream resumes. Times are ISO strings; `next` is the page under way, if any. */
type CursorState = {
  since: string;
  next: string | null;
  /** The newest time read so far in the window under way. */
  newest: string | null;
  /** The oldest item of the window that must be read again (not finished in Defender yet). */
  holdFrom: string | null;
};

export type PagedStream<T, Prepared> = {
  name: string;
  firstPage(since: Date): string;
  read(path: string): Promise<Page<T>>;
  /** The time the filter compares, of one item. */
  stamp(item: T): Date | null;
  /** Reads what storing the page needs from Defender, before its transaction. */
  prepare(items: T[]): Promise<Prepared>;
  /** Stores the page; `holdFrom`: an item that must be read again, so the window may not pass it. */
  store(tx: Tx, items: T[], prepared: Prepared): Promise<{ holdFrom: Date | null }>;
};

const earliest = (a: string | null, b: Date | null) =>
  b === null ? a : a === null || b.getTime() < Date.parse(a) ? b.toISOString() : a;
const latest = (a: string | null, b: Date | null) =>
  b === null ? a : a === null || b.getTime() > Date.parse(a) ? b.toISOString() : a;

function parseState(raw: Record<string, unknown> | null, backfillMs: number): CursorState {
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
  const since = text(raw?.since);
  return {
    since:
      since && Number.isFinite(Date.parse(since)) ? since : new Date(Date.now() - backfillMs).toISOString(),
    next: text(raw?.next),
    newest: text(raw?.newest),
    holdFrom: text(raw?.holdFrom),
  };
}

/** Where the window after a finished one starts: never earlier than this one, never past a held item. */
function nextSince(state: CursorState): string {
  const since = Date.parse(state.since);
  const newest = state.newest === null ? since : Date.parse(state.newest) - OVERLAP_MS;
  let start = Math.max(since, newest);
  if (state.holdFrom !== null) start = Math.min(start, Math.max(since, Date.parse(state.holdFrom)));
  return new Date(start).toISOString();
}

export type StreamDeps = {
  db: Db;
  lease: Lease;
  log: Logger;
  backfillMs: number;
  /** Asked between pages: a stopping process finishes the page under way, then stops. */
  stopping(): boolean;
};

/** Reads the stream from its cursor to its last page; returns the items read. */
export async function readStream<T, Prepared>(
  deps: StreamDeps,
  stream: PagedStream<T, Prepared>,
): Promise<number> {
  let state = parseState(await readCursor(deps.db, stream.name), deps.backfillMs);
  let path = state.next ?? stream.firstPage(new Date(state.since));
  let read = 0;
  for (;;) {
    let page: Page<T>;
    try {
      page = await stream.read(path);
    } catch (error) {
      // A saved next-page link Defender no longer takes (expired): read the window again.
      if (state.next === null || !(error instanceof DefenderApiError) || error.status !== 400) throw error;
      deps.log.warn(
        { stream: stream.name, error: error.message },
        "Defender refused the saved next-page link; reading the window again from its start",
      );
      state = { ...state, next: null, newest: null, holdFrom: null };
      path = stream.firstPage(new Date(state.since));
      continue;
    }
    if (page.unreadable > 0) {
      deps.log.warn({ stream: stream.name, count: page.unreadable }, "Defender listed items without an id");
    }
    const prepared = await stream.prepare(page.items);
    state = await deps.db.transaction(async (tx) => {
      await deps.lease.check(tx);
      const { holdFrom } = await stream.store(tx, page.items, prepared);
      let after: CursorState = {
        since: state.since,
        next: page.next,
        newest: page.items.reduce((newest, item) => latest(newest, stream.stamp(item)), state.newest),
        holdFrom: earliest(state.holdFrom, holdFrom),
      };
      if (page.next === null) after = { since: nextSince(after), next: null, newest: null, holdFrom: null };
      await saveCursor(tx, stream.name, after);
      return after;
    });
    read += page.items.length;
    if (page.next === null || deps.stopping()) return read;
    path = page.next;
  }
}
