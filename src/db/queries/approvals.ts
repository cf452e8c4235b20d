// The two-person rule's approvals: one row per person who approved an action, or its undo.
import { and, asc, eq, inArray, lt } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { type ActionRow, type ApprovalOperation, actionApprovals, actions } from "../schema.ts";

/** Records `userId`'s approval of the operation; false when they had already given it. */
export async function addApproval(
  db: DbOrTx,
  actionId: number,
  userId: string,
  operation: ApprovalOperation,
): Promise<boolean> {
  const added = await db
    .insert(actionApprovals)
    .values({ actionId, userId, operation })
    .onConflictDoNothing()
    .returning();
  return added.length > 0;
}

/** Who has approved the operation on the action, in the order they did. */
export async function approversOf(
  db: DbOrTx,
  actionId: number,
  operation: ApprovalOperation,
): Promise<string[]> {
  return (await approversOfEach(db, [actionId], operation)).get(actionId) ?? [];
}

/** Who has approved the operation on each of the actions, in the order they did. */
export async function approversOfEach(
  db: DbOrTx,
  actionIds: number[],
  operation: ApprovalOperation,
): Promise<Map<number, string[]>> {
  const rows = await db
    .select({ actionId: actionApprovals.actionId, userId: actionApprovals.userId })
    .from(actionApprovals)
    .where(and(inArray(actionApprovals.actionId, actionIds), eq(actionApprovals.operation, operation)))
    .orderBy(asc(actionApprovals.at), asc(actionApprovals.userId));
  const by = new Map<number, string[]>();
  for (const row of rows) by.set(row.actionId, [...(by.get(row.actionId) ?? []), row.userId]);
  return by;
}

/**
 * Raises the approvals a pending action needs to `needed` (a requester nobody can name needs a
 * second approver); the row as it is afterwards.
 */
export async function raiseApprovalsNeeded(
  db: DbOrTx,
  action: ActionRow,
  needed: number,
): Promise<ActionRow> {
  const [raised] = await db
    .update(actions)
    .set({ approvalsNeeded: needed })
    .where(and(eq(actions.id, action.id), lt(actions.approvalsNeeded, needed)))
    .returning();
  return raised ?? action;
}
