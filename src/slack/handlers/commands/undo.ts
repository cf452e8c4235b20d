// Undo from history: the confirmation modal for named actions (the `undo` command, a row's Undo)
// or for a listing's filters ("Undo several…"), and its submission. Only approvers may undo; the
// check runs when the modal opens and again, as the authority, when it is confirmed.

import { getActionsByIds, listActions } from "../../../db/queries/actions.ts";
import { otherQuarantinedInstances } from "../../../db/queries/history.ts";
import type { ActionRow } from "../../../db/schema.ts";
import { ACTION_TYPE_INFO, ACTION_TYPES, isUndoable } from "../../../domain/actionTypes.ts";
import { type Result, refuse } from "../../../domain/result.ts";
import { describeStatus } from "../../../domain/status.ts";
import { bulkUndoRefusal, requestBulkUndo } from "../../../services/bulkUndo.ts";
import { recordRefusal } from "../../../services/refusals.ts";
import {
  bulkUndoModal,
  bulkUndoResultView,
  MAX_MORE_INSTANCES,
  MAX_UNDO_OPTIONS,
  type OriginReply,
} from "../../blocks/bulkUndo.ts";
import type { SlackDeps } from "../../deps.ts";
import { escapeInline } from "../../text.ts";
import { resolveFilters } from "./listing.ts";
import type { CommandFilters } from "./parse.ts";

const canUndo = (action: ActionRow) => action.status === "completed" && isUndoable(action.type);

/**
 * Null when `userId` may undo; otherwise the answer, after auditing the attempt on each named
 * action that exists, as every refused decision is.
 */
async function undoRefusal(deps: SlackDeps, userId: string, actionIds: readonly number[]) {
  const named = await getActionsByIds(deps.ctx.db, [...actionIds]);
  // The policy may narrow who decides a type (e.g. only tier 2 may touch isolation): every type
  // named must be one this person may decide.
  const types = [...new Set(named.map((action) => action.type))];
  const allowed =
    types.length > 0
      ? (await Promise.all(types.map((type) => deps.approvers.mayDecide(userId, type)))).every(Boolean)
      : await deps.approvers.isApprover(userId);
  if (allowed) return null;
  await recordRefusal(deps.ctx, {
    actionIds: named.map((action) => action.id),
    decision: "request_undo",
    actor: userId,
    refusal: { reason: "not an approver", outcome: "forbidden" },
  });
  return {
    mrkdwn: `:no_entry: You are not allowed to undo actions. Approvers: ${deps.approvers.describe()}.`,
  };
}

/** Why each asked-for action is not offered, grouped: "pending approval: #5, #6 · no such action: #9". */
function notListed(asked: readonly number[], found: ReadonlyMap<number, ActionRow>): string[] {
  const byReason = new Map<string, number[]>();
  for (const id of asked) {
    const action = found.get(id);
    const reason = !action
      ? "no such action"
      : !isUndoable(action.type)
        ? `${ACTION_TYPE_INFO[action.type].label.toLowerCase()} cannot be undone`
        : action.status !== "completed"
          ? describeStatus(action.status)
          : null;
    if (reason) byReason.set(reason, [...(byReason.get(reason) ?? []), id]);
  }
  if (byReason.size === 0) return [];
  const parts = [...byReason].map(([reason, ids]) => `${reason}: ${ids.map((id) => `#${id}`).join(", ")}`);
  return [`Not listed — ${parts.join(" · ")}`];
}

async function openModal(
  deps: SlackDeps,
  triggerId: string,
  candidates: ActionRow[],
  selected: ReadonlySet<number>,
  notes: string[],
  reply: OriginReply | undefined,
) {
  const moreInstances = await otherQuarantinedInstances(
    deps.ctx.db,
    candidates.slice(0, MAX_UNDO_OPTIONS),
    MAX_MORE_INSTANCES,
  );
  await deps.client.views.open({
    trigger_id: triggerId,
    view: bulkUndoModal({ candidates, selected, moreInstances, notes, ...(reply && { reply }) }),
  });
}

/**
 * Opens the confirmation with `actionIds` checked. Returns the answer (mrkdwn) instead when there
 * is nothing to confirm: not an approver, nothing undoable, or several action types.
 */
export async function openUndoForActions(
  deps: SlackDeps,
  request: { userId: string; triggerId: string; actionIds: readonly number[]; reply?: OriginReply },
): Promise<string | null> {
  const refusal = await undoRefusal(deps, request.userId, request.actionIds);
  if (refusal) return refusal.mrkdwn;
  const rows = await getActionsByIds(deps.ctx.db, [...request.actionIds]);
  const found = new Map(rows.map((row) => [row.id, row]));
  const notes = notListed(request.actionIds, found);
  const candidates = rows.filter(canUndo);
  if (candidates.length === 0) return `Nothing to undo. ${notes.join(" ")}`;
  const mixed = bulkUndoRefusal(candidates);
  if (mixed) return `:no_entry: ${mixed} Nothing was changed.`;
  const selected = new Set(candidates.map((a) => a.id));
  await openModal(deps, request.triggerId, candidates, selected, notes, request.reply);
  return null;
}

/** Opens the confirmation listing the completed, undoable actions of a history listing's filters. */
export async function openUndoForFilters(
  deps: SlackDeps,
  request: { userId: string; triggerId: string; filters: CommandFilters; reply?: OriginReply },
): Promise<string | null> {
  const refusal = await undoRefusal(deps, request.userId, []);
  if (refusal) return refusal.mrkdwn;
  const resolved = await resolveFilters(deps.ctx.db, "history", request.filters);
  if (!resolved.ok) return resolved.message;
  const asked = request.filters.type;
  const types = ACTION_TYPES.filter(
    (type) => isUndoable(type) && (asked === undefined || asked.includes(type)),
  );
  const { actions: candidates } = await listActions(
    deps.ctx.db,
    { ...resolved.filters, status: ["completed"], type: types },
    { limit: MAX_UNDO_OPTIONS + 1 },
  );
  if (candidates.length === 0) return "Nothing to undo here: no completed action that can be undone matches.";
  await openModal(deps, request.triggerId, candidates, new Set(), [], request.reply);
  return null;
}

/** A refusal's message is plain text: Slack shows a modal's field errors as they are. */
export type UndoConfirmation = Result<
  { requestId: string; view: ReturnType<typeof bulkUndoResultView> },
  "nothing_selected" | "forbidden" | "refused"
>;

/** The confirmation's submission: the checked actions, and the other instances if asked for. */
export async function confirmUndo(
  deps: SlackDeps,
  request: { userId: string; selected: number[]; applyToMore: boolean; offered: readonly number[] },
): Promise<UndoConfirmation> {
  const { db, metrics } = deps.ctx;
  if (request.selected.length === 0) return refuse("nothing_selected", "Select at least one action to undo.");
  if (await undoRefusal(deps, request.userId, request.selected)) {
    return refuse(
      "forbidden",
      "You are not allowed to undo actions: only the approvers listed in APPROVERS are.",
    );
  }
  const ids = [...request.selected];
  if (request.applyToMore && request.offered.length > 0) {
    // The instances as they are now, of the files still checked, among those the person saw.
    const offered = new Set(request.offered);
    const current = await otherQuarantinedInstances(
      db,
      await getActionsByIds(db, request.selected),
      MAX_MORE_INSTANCES,
    );
    ids.push(...current.filter((action) => offered.has(action.id)).map((action) => action.id));
  }
  const outcome = await requestBulkUndo(db, {
    actionIds: ids,
    actor: request.userId,
    policy: deps.ctx.config.policy,
  });
  if (!outcome.ok) {
    metrics.decisions.inc({ decision: "request_undo", outcome: "refused" }, ids.length);
    return refuse("refused", `${outcome.message} Nothing was changed.`);
  }
  metrics.decisions.inc({ decision: "request_undo", outcome: "done" }, outcome.undone.length);
  metrics.decisions.inc({ decision: "request_undo", outcome: "recorded" }, outcome.waiting.length);
  metrics.decisions.inc({ decision: "request_undo", outcome: "refused" }, outcome.skipped.length);
  return {
    ok: true,
    requestId: outcome.requestId,
    view: bulkUndoResultView({
      requestId: outcome.requestId,
      typeLabel: ACTION_TYPE_INFO[outcome.type].label,
      undone: outcome.undone,
      waiting: outcome.waiting,
      skipped: outcome.skipped.map((skip) => `• #${skip.actionId} — ${escapeInline(skip.message, 120)}`),
    }),
  };
}
