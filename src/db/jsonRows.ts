// Many rows in one statement with one parameter: the rows as one JSON document, read back by
// `json_to_recordset`. Drizzle's multi-row VALUES takes a parameter per cell and builds the
// statement in JavaScript, which for a batch of 500 actions cost more than Postgres inserting
// them (docs/BENCHMARK-NOTES.md); one JSON text costs one JSON.stringify.
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";

type Columns = Record<string, PgColumn>;

/**
 * `(col, …) select r.key, … from json_to_recordset($1) as r(key type, …)` for the columns of
 * `table` that `rows` set (keys as in the schema: camelCase), ready to follow `insert into table`.
 * `options.fields`: keys of each row that are not columns, by their SQL type, read as `r.<key>`;
 * `options.computed`: columns whose value is an SQL expression of the row `r` (its columns and
 * those fields, by key) instead of the row's own value.
 */
export function insertFromJson<T extends PgTable>(
  table: T,
  rows: readonly T["$inferInsert"][],
  options: { fields?: Record<string, string>; computed?: Partial<Record<keyof T["$inferInsert"], SQL>> } = {},
): SQL {
  const columns = getTableColumns(table) as Columns;
  const keys = Object.keys(columns).filter((key) => rows.some((row) => key in row));
  const extra = Object.entries(options.fields ?? {});
  const computed = (options.computed ?? {}) as Record<string, SQL | undefined>;
  const names = keys.map((key) => sql.identifier(columns[key]!.name));
  const types = [
    ...keys.map((key) => sql`${sql.identifier(key)} ${sql.raw(columns[key]!.getSQLType())}`),
    ...extra.map(([key, type]) => sql`${sql.identifier(key)} ${sql.raw(type)}`),
  ];
  // A row that leaves a column with a default out gets the default, as in VALUES. Every column
  // with a default is NOT NULL, so a null given for one (which it could not store) gets it too:
  // the recordset cannot tell a key left out from a null.
  const values = keys.map((key) => {
    const column = columns[key]!;
    const read = sql`r.${sql.identifier(key)}`;
    if (computed[key]) return computed[key];
    if (column.default === undefined) return read;
    const fallback = is(column.default, SQL)
      ? column.default
      : sql`cast(${column.getSQLType() === "jsonb" ? JSON.stringify(column.default) : column.default} as ${sql.raw(column.getSQLType())})`;
    return sql`coalesce(${read}, ${fallback})`;
  });
  // The rows are written as they are, under their own keys: no copy of each row to build.
  return sql`(${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)}
    from json_to_recordset(${JSON.stringify(rows)}::json) as r(${sql.join(types, sql`, `)})`;
}

/** A row as `tx.execute` returns it (column names, driver values), as drizzle's select would. */
export function fromDriverRow<T extends PgTable>(table: T, raw: Record<string, unknown>): T["$inferSelect"] {
  const columns = getTableColumns(table) as Columns;
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(columns)) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T["$inferSelect"];
}
