// SQL helpers of the simulated fleet: a batch's rows passed as one JSON table, and statements
// that read the rows as they were while changing them.
import { type SQL, sql } from "drizzle-orm";
import type { Tx } from "../../db/client.ts";

/** The rows as a table in SQL: `from ${input(rows, "device_id text, …")}`. */
export function input(rows: Record<string, unknown>[], columns: string): SQL {
  return sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as i(${sql.raw(columns)})`;
}

export async function select<T>(tx: Tx, query: SQL): Promise<T[]> {
  return [...(await tx.execute(query))] as unknown as T[];
}

/**
 * One statement that reads the rows as they were (`before`, over the input as `i`) and changes
 * them (`changes`, on distinct rows): every part of a statement sees the rows as they were when
 * it began.
 */
export function changeReturningBefore<T>(
  tx: Tx,
  rows: Record<string, unknown>[],
  columns: string,
  before: SQL,
  ...changes: SQL[]
): Promise<T[]> {
  const changed = changes.map((change, n) => sql`, ${sql.raw(`changed_${n}`)} as (${change})`);
  return select<T>(
    tx,
    sql`with i as (select * from ${input(rows, columns)}), before as (${before})${sql.join(changed)}
        select * from before`,
  );
}
