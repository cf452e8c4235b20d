// The two-person rule's approvals: one row per person who approved an action.
import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { actionApprovals } from "../schema.ts";

/** Records `userId`'s approval of the action; false when they had already given it. */
export async function addApproval(db: DbOrTx, actionId: number, userId: string): Promise<boolean> {
  const added = await db
    .insert(actionApprovals)
    .values({ actionId, userId })
    .onConflictDoNothing()
    .returning();
  return added.length > 0;
}

/** Who has approved the action, in the order they did. */
export async function approversOf(db: DbOrTx, actionId: number): Promise<string[]> {
  const rows = await db
    .select({ userId: actionApprovals.userId })
    .from(actionApprovals)
    .where(eq(actionApprovals.actionId, actionId))
    .orderBy(asc(actionApprovals.at), asc(actionApprovals.userId));
  return rows.map((row) => row.userId);
}
