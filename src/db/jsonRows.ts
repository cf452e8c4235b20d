// Many rows in one statement with one parameter: the rows as one JSON document, an array of
// arrays (each row's values by position), read back by `jsonb_array_elements`. Drizzle's
// multi-row VALUES takes a parameter per cell and builds the statement in JavaScript, which for a
// batch of 500 actions cost more than Postgres inserting them; rows written as objects repeat
// every key in every row, and `json_to_recordset` spent about as long reading the keys as the
// values (docs/BENCHMARK-NOTES.md).
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";

type Columns = Record<string, PgColumn>;

/** How a row's value at `index` is read from its JSON array `e`, as a value of `type`. */
function readAt(index: number, type: string): SQL {
  if (type.endsWith("[]"))
    throw new Error(
      `insertFromJson cannot read an array column (${type}): a JSON array is not an array literal`,
    );
  // A jsonb value as it is, not written out and read again; a JSON null is SQL's null, as `->>`
  // gives it for the other types (`->` alone would give the jsonb value 'null').
  if (type === "jsonb") return sql.raw(`nullif(e -> ${index}, 'null'::jsonb)`);
  if (type === "text") return sql.raw(`e ->> ${index}`);
  return sql.raw(`(e ->> ${index})::${type}`);
}

/**
 * Rows of a table written out for `insertFromJson`: the keys they set (camelCase, as in the
 * schema) and their values by position, as one JSON text. Built apart from the statement, so a
 * caller can write its rows out while it waits for something else.
 */
export type JsonRows<T extends PgTable> = { table: T; length: number; keys: string[]; json: string };

export function jsonRows<T extends PgTable>(table: T, rows: readonly T["$inferInsert"][]): JsonRows<T> {
  const columns = getTableColumns(table) as Columns;
  const keys = Object.keys(columns).filter((key) => rows.some((row) => key in row));
  // Dates as their ISO text, which JSON.stringify would write: a Date's toJSON took it off its
  // fast path and cost more than the rest of the rows together. A batch's rows share a few
  // moments (an expiry per type), each written once.
  const isoOf = new Map<number, string>();
  const iso = (date: Date) => {
    const time = date.getTime();
    // As its toJSON: an invalid date is null.
    if (Number.isNaN(time)) return null;
    let text = isoOf.get(time);
    if (text === undefined) {
      text = date.toISOString();
      isoOf.set(time, text);
    }
    return text;
  };
  const tuples = rows.map((row) => {
    const record = row as Record<string, unknown>;
    return keys.map((key) => {
      const value = record[key] ?? null;
      return value instanceof Date ? iso(value) : value;
    });
  });
  return { table, length: rows.length, keys, json: JSON.stringify(tuples) };
}

/**
 * `(col, …) select r.key, … from jsonb_array_elements($1) with ordinality as input(e, n),
 * lateral (select e ->> 0 as key, …) as r` for the columns that `rows` set, ready to follow
 * `insert into table`.
 * `computed`: columns whose value is an SQL expression instead of a row's own value, set or not
 * by the rows; it may read the row `r` (its columns, by key) and its position `input.n` (from 1).
 */
export function insertFromJson<T extends PgTable>(
  table: T,
  rows: readonly T["$inferInsert"][] | JsonRows<T>,
  computed: Partial<Record<keyof T["$inferInsert"], SQL>> = {},
): SQL {
  const written = "json" in rows ? rows : jsonRows(table, rows);
  // Positions are the written table's: another table's would read values into the wrong columns.
  if (written.table !== table) throw new Error("insertFromJson: the rows were written out for another table");
  const columns = getTableColumns(table) as Columns;
  const expressions = computed as Record<string, SQL | undefined>;
  const keys = [...new Set([...written.keys, ...Object.keys(expressions)])];
  const names = keys.map((key) => sql.identifier(columns[key]!.name));
  const reads = written.keys.map(
    (key, index) => sql`${readAt(index, columns[key]!.getSQLType())} as ${sql.identifier(key)}`,
  );
  // A row that leaves a column with a default out gets the default, as in VALUES. Every column
  // with a default is NOT NULL, so a null given for one (which it could not store) gets it too:
  // the JSON cannot tell a key left out from a null.
  const values = keys.map((key) => {
    const column = columns[key]!;
    const read = sql`r.${sql.identifier(key)}`;
    if (expressions[key]) return expressions[key];
    if (column.default === undefined) return read;
    const fallback = is(column.default, SQL)
      ? column.default
      : sql`cast(${column.getSQLType() === "jsonb" ? JSON.stringify(column.default) : column.default} as ${sql.raw(column.getSQLType())})`;
    return sql`coalesce(${read}, ${fallback})`;
  });
  return sql`(${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)}
    from jsonb_array_elements(${written.json}::jsonb) with ordinality as input(e, n),
      lateral (select ${sql.join(reads, sql`, `)}) as r`;
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
