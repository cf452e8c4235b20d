// This installation's id (schema.ts: installation): created by the first process that starts on
// the database, kept for as long as the database lives.
import { randomBytes } from "node:crypto";
import type { DbOrTx } from "./client.ts";
import { installation } from "./schema.ts";

/** The installation's id, created (16 random hex digits) if this is the database's first start. */
export async function installationId(db: DbOrTx): Promise<string> {
  await db
    .insert(installation)
    .values({ id: randomBytes(8).toString("hex") })
    .onConflictDoNothing();
  const [row] = await db.select({ id: installation.id }).from(installation);
  if (!row) throw new Error("the installation row is missing after its insert");
  return row.id;
}
