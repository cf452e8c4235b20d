// The two-person rule's approvals: one row per person who approved an action.
import { asc, inArray } from "drizzle-orm";
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
  return (await approversOfEach(db, [actionId])).get(actionId) ?? [];
}

/** Who has approved each of the actions, in the order they did. */
export async function approversOfEach(db: DbOrTx, actionIds: number[]): Promise<Map<number, string[]>> {
  const rows = await db
    .select({ actionId: actionApprovals.actionId, userId: actionApprovals.userId })
    .from(actionApprovals)
    .where(inArray(actionApprovals.actionId, actionIds))
    .orderBy(asc(actionApprovals.at), asc(actionApprovals.userId));
  const by = new Map<number, string[]>();
  for (const row of rows) by.set(row.actionId, [...(by.get(row.actionId) ?? []), row.userId]);
  return by;
}
