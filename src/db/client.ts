import { type AnyColumn, type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof createDb>["db"];
/** A Db or the transaction handle drizzle passes to `db.transaction` callbacks. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export function createDb(url: string, options: { max?: number } = {}) {
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // A dead Postgres must surface as an error quickly, not hang a Slack click.
    connect_timeout: 5,
    idle_timeout: 30,
    // Seconds before reconnecting after the n-th failed attempt in a row: postgres.js's own curve
    // (10 ms, 30 ms, 90 ms…) stopped at 2 s instead of 20 s, so that once an outage is over the
    // pool is back within about two seconds, not twenty.
    backoff: (attempts: number) => (0.5 + Math.random() / 2) * Math.min(3 ** attempts / 100, 2),
  });
  return { db: drizzle(client, { schema }), client };
}

/**
 * `column = any($1)` with the values as one array parameter: unlike `inArray`, the statement's
 * text is the same whatever the number of values, so it can be prepared once (`executePrepared`,
 * drizzle's `.prepare`) and a long list costs one parameter to build instead of one each.
 */
export function anyOf(column: AnyColumn, values: readonly (number | string)[]): SQL {
  return sql`${column} = any(${sql.param(values)})`;
}

const dialect = new PgDialect();

/**
 * Resolves once the queries handed to postgres.js so far have been written to their sockets, so
 * that work done after it runs while Postgres answers them. postgres.js writes a connection's
 * small queries in a `setImmediate` of the turn they were made in (a drizzle query reaches it a
 * few microtasks after it is called), so an immediate set from an immediate runs after it.
 */
export function sentToPostgres(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * `db.execute(query)` as a prepared statement of the connection. postgres.js sends a statement
 * that has parameters and is not prepared in two round trips (it asks Postgres for the
 * parameters' types, then sends them) and sends nothing after it until it is done, so unprepared
 * statements handed to it together still go one at a time; prepared ones are sent in one write,
 * those behind them with them. For statements whose text is the same from call to call: each
 * text is prepared once per connection and kept.
 */
export function executePrepared<T extends Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  return db._.session
    .prepareQuery<{ execute: T[]; all: unknown; values: unknown }>(
      dialect.sqlToQuery(query),
      undefined,
      "prepared",
      false,
    )
    .execute();
}
