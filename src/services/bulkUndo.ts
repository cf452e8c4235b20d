// Several undos confirmed at once, as one audited request: every action gets its own
// `request_undo` event by the person, all carrying the same request id, committed together.
// As in Defender's Action center, one request undoes actions of one type only. Who may undo is
// checked by the caller, as for every decision.

import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.ts";
import { getActionsByIds } from "../db/queries/actions.ts";
import type { ActionRow } from "../db/schema.ts";
import { ACTION_TYPE_INFO, ACTION_TYPES, type ActionType, isUndoable } from "../domain/actionTypes.ts";
import type { Policy } from "../domain/policy.ts";
import { type Result, refuse } from "../domain/result.ts";
import { decideMany } from "./bulkDecide.ts";
import { decideOnce } from "./inbox.ts";

export type BulkUndoRequest = {
  actionIds: readonly number[];
  actor: string;
  /** Undos the policy makes wait for a fresh sign-in are skipped (each needs its own). */
  policy: Policy;
};

export type Skipped = { actionId: number; action: ActionRow | null; message: string };

export type BulkUndoOutcome = Result<
  {
    requestId: string;
    type: ActionType;
    undone: ActionRow[];
    /** Undo approvals counted under the two-person rule: each waits for another approver. */
    waiting: ActionRow[];
    skipped: Skipped[];
  },
  "no_such_action" | "not_one_undoable_type" | "already_handled"
>;

/** Why these actions cannot be undone in one request, or null when they can. */
export function bulkUndoRefusal(rows: readonly Pick<ActionRow, "type">[]): string | null {
  const types = new Set(rows.map((row) => row.type));
  if (types.size > 1) {
    const labels = ACTION_TYPES.filter((type) => types.has(type)).map((type) => ACTION_TYPE_INFO[type].label);
    return `Undo actions of one type at a time: the selection mixes ${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}.`;
  }
  const [type] = types;
  if (type !== undefined && !isUndoable(type)) return `${ACTION_TYPE_INFO[type].label} cannot be undone.`;
  return null;
}

export async function requestBulkUndo(db: Db, request: BulkUndoRequest): Promise<BulkUndoOutcome> {
  const ids = [...new Set(request.actionIds)].sort((a, b) => a - b);
  const rows = await getActionsByIds(db, ids);
  if (rows.length === 0) return refuse("no_such_action", "None of those actions exists.");
  const refusal = bulkUndoRefusal(rows);
  if (refusal) return refuse("not_one_undoable_type", refusal);
  const found = new Map(rows.map((row) => [row.id, row]));
  const requestId = randomUUID();
  const missing: Skipped[] = ids
    .filter((id) => !found.has(id))
    .map((id) => ({ actionId: id, action: null, message: "no such action" }));
  // One set operation: rows locked in id order, so two requests over the same actions cannot
  // deadlock; settled with the request being handled, so a redelivered confirmation decides nothing.
  const outcome = await decideOnce(
    db,
    (tx) =>
      decideMany(tx, {
        actionIds: ids.filter((id) => found.has(id)),
        decision: "request_undo",
        actor: request.actor,
        detail: { requestId, requestSize: found.size },
        policy: request.policy,
      }),
    () => null,
  );
  if (!outcome) return refuse("already_handled", "This confirmation was already handled.");
  return {
    ok: true,
    requestId,
    type: rows[0]!.type,
    undone: outcome.decided,
    waiting: outcome.recorded,
    skipped: [...missing, ...outcome.skipped],
  };
}
