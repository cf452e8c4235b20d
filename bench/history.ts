// The history listing over 1,000,000 actions: loads them into a fresh database with one
// INSERT … SELECT generate_series, then times the page query of `/action-center history|pending`
// (filters resolved, page read, Block Kit built) for several filter combinations and for pages 2
// and 3 reached through the cursor, as the Next button does.
import { performance } from "node:perf_hooks";
import { and, count } from "drizzle-orm";
import { createDb, type Db } from "../src/db/client.ts";
import { filterConditions } from "../src/db/queries/actions.ts";
import { listHistoryPage, type PagePosition } from "../src/db/queries/history.ts";
import { actions } from "../src/db/schema.ts";
import { historyMessage, PAGE_SIZE } from "../src/slack/blocks/history.ts";
import { resolveFilters } from "../src/slack/handlers/commands/listing.ts";
import { type Command, parseCommand } from "../src/slack/handlers/commands/parse.ts";
import { createTestDatabase } from "../test/support/db.ts";
import { runIngestBench } from "./ingest.ts";
import { type BenchRow, fmt, percentile, printTable } from "./support.ts";

const ACTIONS = 1_000_000;
const RUNS = 200;
const WARM_UP = 20;
const TARGET_P95_MS = 100;

/**
 * 5,000 devices, 20,001 investigations (each with its posted Slack message, as in a store that has
 * been running: ingest's foreign-key checks then find the messages by index), 20,000 distinct
 * files; about 1% pending; one action every 2 seconds, so the newest day holds about 43,000 and
 * ids grow with time as they do in production.
 */
const LOAD = [
  `insert into investigations (id) select 'inv-' || g from generate_series(0, ${ACTIONS / 50}) g`,
  `insert into devices (id, name) select 'dev-' || g, 'HOST-' || lpad(g::text, 4, '0') from generate_series(0, 4999) g`,
  // Each investigation's message, posted: message k + 1 shows investigation k.
  `insert into slack_messages (id, channel, ts, investigation_id, version, rendered_version, created_at)
   overriding system value
   select g + 1, 'C0BENCH0001', '1700000000.' || lpad(g::text, 6, '0'), 'inv-' || g, 1, 1,
     now() - (${ACTIONS} - g * 50) * interval '2 seconds'
   from generate_series(0, ${ACTIONS / 50}) g`,
  `select setval(pg_get_serial_sequence('slack_messages', 'id'), ${ACTIONS / 50 + 1})`,
  `insert into actions (external_id, source, type, status, investigation_id, device_id, device_name, entity,
     sha256, created_at, updated_at, decided_by, decided_at, completed_at, slack_message_id)
   select 'bench-' || g, source, type, status, 'inv-' || (g / 50),
     case when type = 'block_url' then null else 'dev-' || d end,
     case when type = 'block_url' then null else 'HOST-' || lpad(d::text, 4, '0') end,
     case type
       when 'quarantine_file' then jsonb_build_object('sha256', sha, 'path', 'C:\\Temp\\file' || f || '.exe')
       when 'stop_service' then jsonb_build_object('name', 'Svc' || (g % 500))
       when 'block_url' then jsonb_build_object('url', 'https://bad' || (g % 1000) || '.example.com/')
       else '{}'::jsonb end,
     case when type = 'quarantine_file' then sha end,
     at, at,
     case when decided then 'U0BENCH' || lpad((g % 40)::text, 2, '0') end,
     case when decided then at + interval '5 minutes' end,
     case when status in ('completed', 'undone', 'undo_failed') then at + interval '6 minutes' end,
     g / 50 + 1
   from (
     select g, d, f, type, status, at,
       (array['automated_investigation', 'antivirus', 'manual'])[1 + g % 3] as source,
       encode(sha256(('file-' || f)::bytea), 'hex') as sha,
       status not in ('pending', 'expired') and g % 3 <> 1 as decided
     from (
       select g, (g::bigint * 7919) % 5000 as d, g % 20000 as f,
         now() - (${ACTIONS} - g) * interval '2 seconds' as at,
         (array['quarantine_file', 'stop_service', 'isolate_device', 'disable_driver', 'remove_registry_key',
           'restrict_code_execution', 'remove_scheduled_task', 'stop_process', 'block_url', 'run_antivirus_scan',
           'collect_investigation_package'])[1 + (g * 7) % 11] as type,
         case when g % 100 = 0 then 'pending' when g % 10 = 1 then 'rejected' when g % 10 = 2 then 'undone'
           when g % 50 = 3 then 'failed' when g % 50 = 13 then 'expired' when g % 50 = 23 then 'undo_failed'
           else 'completed' end as status
       from generate_series(1, ${ACTIONS}) g
     ) base
   ) shaped`,
  "vacuum analyze",
  // The load written out, so that what is timed below does not run beside the checkpoint that
  // the load's own WAL set off.
  "checkpoint",
];

/** The listings timed: what a person types after `/action-center`; `sha256` is a loaded file's. */
const listings = (sha256: string) => [
  "history",
  "pending",
  "history type:quarantine_file",
  "history status:completed",
  "history status:undone,undo_failed",
  "history device:HOST-0042",
  "history device:dev-42 type:isolate_device",
  "history source:antivirus since:7d",
  "history by:U0BENCH07",
  "history investigation:inv-12345",
  `history sha256:${sha256}`,
  "history type:stop_service source:manual status:undone since:24h",
  "history type:collect_investigation_package status:undo_failed since:2d",
];
/** Listings also paged to pages 2 and 3 through the cursor, and back with Previous. */
const PAGED = ["history", "history type:quarantine_file", "history source:antivirus since:7d"];

type Listing = Extract<Command, { kind: "list" }>;

function listing(text: string, now: Date): Listing {
  const parsed = parseCommand(text, { userId: "U0BENCH00", now });
  if (!parsed.ok || parsed.command.kind !== "list") throw new Error(`not a listing: ${text}`);
  return parsed.command;
}

/** One answer as the command gives it: filters resolved, the page read, its blocks built. */
async function answer(db: Db, command: Listing, position: PagePosition) {
  const resolved = await resolveFilters(db, command.view, command.filters);
  if (!resolved.ok) throw new Error(resolved.message);
  const page = await listHistoryPage(db, resolved.filters, position, PAGE_SIZE);
  historyMessage({ view: command.view, filters: command.filters, ...page });
  return page;
}

async function time(run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARM_UP; i += 1) await run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

function row(benchmark: string, samples: number[], reference: string): BenchRow {
  const p95 = percentile(samples, 95);
  return {
    benchmark,
    figure: `p50 ${fmt(percentile(samples, 50))} ms, p95 ${fmt(p95)} ms (${samples.length} runs)`,
    reference,
    ratio: fmt(p95 / TARGET_P95_MS, 2),
    target: `p95 < ${TARGET_P95_MS} ms`,
    met: p95 < TARGET_P95_MS ? "yes" : "no",
  };
}

/**
 * `onLoadedStore` runs more benchmarks against the same million-action store before it is
 * dropped (the ingest benchmark wants a store of that size too).
 */
export async function runHistoryBench(
  onLoadedStore?: (databaseUrl: string) => Promise<BenchRow[]>,
): Promise<BenchRow[]> {
  const database = await createTestDatabase("bench_history");
  const { db, client } = createDb(database.url, { max: 2 });
  try {
    const loadStart = performance.now();
    for (const statement of LOAD) await client.unsafe(statement);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const [indexes] = await client<{ n: number }[]>`
      select count(*)::int as n from pg_indexes where tablename = 'actions'`;
    const [file] = await client<{ sha256: string }[]>`
      select sha256 from actions where sha256 is not null order by id desc limit 1`;
    const now = new Date();
    const rows: BenchRow[] = [
      {
        benchmark: `load ${ACTIONS.toLocaleString("en")} actions (INSERT … SELECT generate_series, then VACUUM ANALYZE and CHECKPOINT)`,
        figure: `${fmt(loadSeconds)} s`,
        reference: `${indexes!.n} indexes maintained during the load`,
        ratio: "",
        target: "",
        met: "",
      },
    ];
    for (const text of listings(file!.sha256)) {
      const command = listing(text, now);
      const resolved = await resolveFilters(db, command.view, command.filters);
      if (!resolved.ok) throw new Error(resolved.message);
      const [matching] = await db
        .select({ n: count() })
        .from(actions)
        .where(and(...filterConditions(resolved.filters)));
      const samples = await time(() => answer(db, command, {}));
      rows.push(row(text, samples, `${matching!.n.toLocaleString("en")} matching actions`));
    }
    for (const text of PAGED) {
      const command = listing(text, now);
      const page1 = await answer(db, command, {});
      const page2 = await answer(db, command, { before: page1.older! });
      const page3 = await answer(db, command, { before: page2.older! });
      const timed = (position: PagePosition) => time(() => answer(db, command, position));
      rows.push(row(`${text} — page 2 (Next)`, await timed({ before: page1.older! }), "cursor: before"));
      rows.push(row(`${text} — page 3 (Next)`, await timed({ before: page2.older! }), "cursor: before"));
      rows.push(
        row(`${text} — page 2 (Previous from 3)`, await timed({ after: page3.newer! }), "cursor: after"),
      );
    }
    if (onLoadedStore) rows.push(...(await onLoadedStore(database.url)));
    return rows;
  } finally {
    await client.end({ timeout: 5 });
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The rows of `npm run bench`'s "history and ingest on 1,000,000 actions" step.
  console.log(printTable(await runHistoryBench(runIngestBench)));
  process.exit(0);
}
