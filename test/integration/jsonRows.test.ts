// insertFromJson against real Postgres: rows written as positional JSON arrays are stored as a
// multi-row VALUES would store them (nulls, defaults, dates, JSON values, order).
import { sql } from "drizzle-orm";
import { bigint, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, executePrepared } from "../../src/db/client.ts";
import { insertFromJson, jsonRows } from "../../src/db/jsonRows.ts";
import { createTestDatabase } from "../support/db.ts";

const samples = pgTable("json_rows_samples", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  name: text("name").notNull(),
  note: text("note"),
  detail: jsonb("detail").$type<Record<string, unknown>>(),
  tags: jsonb("tags").$type<string[]>().notNull().default([]),
  count: integer("count").notNull().default(7),
  at: timestamp("at", { withTimezone: true, mode: "date" }),
});

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let store: ReturnType<typeof createDb>;
beforeAll(async () => {
  database = await createTestDatabase("json_rows");
  store = createDb(database.url, { max: 1 });
  await store.client.unsafe(`create table json_rows_samples (
    id bigint generated always as identity primary key, name text not null, note text, detail jsonb,
    tags jsonb not null default '[]', count integer not null default 7, at timestamptz)`);
});
afterAll(async () => {
  await store?.client.end({ timeout: 1 });
  await database?.drop();
});

async function insert(rows: (typeof samples.$inferInsert)[]) {
  await store.client.unsafe("truncate json_rows_samples restart identity");
  await executePrepared(store.db, sql`insert into ${samples} ${insertFromJson(samples, rows)}`);
  return store.db.select().from(samples).orderBy(samples.id);
}

describe("insertFromJson", () => {
  it("stores each row's values by column, in the order given", async () => {
    const at = new Date("2026-12-02T10:11:12.345Z");
    const first = {
      name: "first",
      note: 'tab\there, quote " and \\ back',
      detail: { path: "C:\\Temp\\a.exe", n: 1 },
      count: 3,
      at,
    };
    const second = {
      name: "second",
      note: null,
      detail: { nested: { list: [1, "two", null] } },
      tags: ["x"],
      count: 0,
      at,
    };
    const stored = await insert([first, second]);
    expect(stored).toEqual([
      { id: 1, tags: [], ...first },
      { id: 2, ...second },
    ]);
  });

  it("stores a JSON null as SQL null, not as the JSON value null", async () => {
    const stored = await insert([
      { name: "a", detail: null },
      { name: "b", detail: { k: "v" } },
    ]);
    expect(stored.map((row) => row.detail)).toEqual([null, { k: "v" }]);
    const [nulls] = await store.client<{ n: number }[]>`
      select count(*)::int as n from json_rows_samples where detail is null`;
    expect(nulls!.n).toBe(1);
  });

  it("gives a column with a default its default when a row leaves it out or gives null", async () => {
    const stored = await insert([
      { name: "left out" },
      { name: "null given", count: null as unknown as number, tags: null as unknown as string[] },
      { name: "set", count: 9, tags: ["t"] },
    ]);
    expect(stored.map((row) => [row.count, row.tags])).toEqual([
      [7, []],
      [7, []],
      [9, ["t"]],
    ]);
  });

  it("writes rows that share a moment and rows that do not, and an invalid date as null", async () => {
    const shared = new Date("2026-01-01T00:00:00.000Z");
    const stored = await insert([
      { name: "a", at: shared },
      { name: "b", at: new Date(shared.getTime()) },
      { name: "c", at: new Date("2026-06-01T12:00:00.001Z") },
      { name: "d", at: new Date(Number.NaN) },
    ]);
    expect(stored.map((row) => row.at?.toISOString() ?? null)).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
      "2026-06-01T12:00:00.001Z",
      null,
    ]);
  });

  it("computes a column from each row's position, for rows written out before the statement", async () => {
    const written = jsonRows(samples, [{ name: "a" }, { name: "b", note: "kept" }, { name: "c" }]);
    await store.client.unsafe("truncate json_rows_samples restart identity");
    const counts = [10, null, 30];
    await executePrepared(
      store.db,
      sql`insert into ${samples} ${insertFromJson(samples, written, {
        count: sql`coalesce((${sql.param(counts)}::int[])[input.n], 7)`,
        note: sql`coalesce(r."note", 'row ' || input.n)`,
      })}`,
    );
    const stored = await store.db.select().from(samples).orderBy(samples.id);
    expect(stored.map((row) => [row.name, row.note, row.count])).toEqual([
      ["a", "row 1", 10],
      ["b", "kept", 7],
      ["c", "row 3", 30],
    ]);
  });

  it("refuses rows written out for another table, whose positions are not its own", () => {
    const other = pgTable("json_rows_other", { name: text("name").notNull() });
    const written = jsonRows(samples, [{ name: "a" }]);
    expect(() =>
      insertFromJson(other, written as unknown as ReturnType<typeof jsonRows<typeof other>>),
    ).toThrow(/another table/);
  });

  it("refuses a table column of an array type, which a JSON array cannot be cast to", () => {
    const withArray = pgTable("json_rows_arrays", { ids: text("ids").array() });
    expect(() => insertFromJson(withArray, [{ ids: ["a"] }])).toThrow(/array column/);
  });
});
