// The local Slack sandbox's saved workspace (schema.ts `sandbox_workspace`): one row, replaced whole.
import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { sandboxWorkspace } from "../schema.ts";

export async function loadSandboxWorkspace(db: DbOrTx): Promise<Record<string, unknown> | undefined> {
  const [row] = await db.select().from(sandboxWorkspace).where(eq(sandboxWorkspace.id, 1));
  return row?.state;
}

export async function saveSandboxWorkspace(db: DbOrTx, state: Record<string, unknown>): Promise<void> {
  await db
    .insert(sandboxWorkspace)
    .values({ id: 1, state })
    .onConflictDoUpdate({ target: sandboxWorkspace.id, set: { state, savedAt: sql`now()` } });
}
