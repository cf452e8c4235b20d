// Ingest: a validated batch of proposed actions stored in one transaction, with the approval
// policy's expiry, timers and auto-approval applied as each pending action arrives.
import type { DbOrTx, Tx } from "../db/client.ts";
import { type Timer, writeOutbox } from "../db/outbox.ts";
import {
  getActionsByExternalKeys,
  insertDevices,
  insertInvestigations,
  insertNewActions,
} from "../db/queries/ingest.ts";
import { assignMessages, deleteEmptyMessages } from "../db/queries/messages.ts";
import type { ActionRow } from "../db/schema.ts";
import { transitionAction } from "../db/transitions.ts";
import type { ActionInput } from "../domain/actionInput.ts";
import {
  approvalsNeeded,
  autoApprove,
  DEFAULT_POLICY,
  type Policy,
  remindersFor,
  ttlFor,
  undoApprovalsNeeded,
} from "../domain/policy.ts";
import type { Status } from "../domain/status.ts";
import { THREAT_KIND_NAMES, threatKeyOf } from "../domain/threats.ts";
import { decisionTransition } from "./decisionTransition.ts";

/** The actor of what the approval policy does by itself (auto-approval). */
const POLICY_ACTOR = "policy";

/** The audit event that starts each action's trail, by the status it arrives in. */
const RECEIVED_EVENT: Partial<Record<Status, string>> = {
  pending: "received",
  completed: "recorded_completed",
  failed: "recorded_failed",
};

export type IngestResult = { id: number; externalId: string; status: Status; created: boolean };

/**
 * What a source knows of an action already taken elsewhere (the Defender connector's history):
 * who took it and when, and how it ended. Not part of the ingest API, which records only
 * completed actions and nothing more of them.
 */
export type RecordedOutcome = {
  decidedBy: string | null;
  decidedAt: Date | null;
  completedAt: Date | null;
  /** Set when it failed: the action is recorded as failed, with this reason. */
  error: string | null;
};

export type IngestInput = ActionInput & { recorded?: RecordedOutcome };

/**
 * Stores a validated batch in one transaction. Idempotent on (source, externalId), also when the
 * same batch arrives twice at once: the unique index decides and the loser reads the winner's row.
 */
export async function ingestActions(
  db: DbOrTx,
  inputs: IngestInput[],
  options: {
    /** The Slack channel new pending actions are shown in. */
    channel: string;
    /**
     * Sets each pending action's expiry, approvals needed and timers, and approves what it
     * approves automatically; the built-in defaults when left out.
     */
    policy?: Policy;
    /** Makes the backend agree with an action recorded as already completed. */
    onRecordedCompleted?: (tx: Tx, action: ActionRow) => Promise<void>;
    /** Who the audit trail says sent the actions; `api` when left out. */
    actor?: string;
  },
): Promise<IngestResult[]> {
  const policy = options.policy ?? DEFAULT_POLICY;
  return db.transaction(async (tx) => {
    const key = (source: string, externalId: string) => `${source}\u0000${externalId}`;
    const byKey = new Map<string, { row: ActionRow; created: boolean }>();
    // Sent together: one round trip for the three (they run in this order on the connection).
    const [, , stored] = await Promise.all([
      insertDevices(
        tx,
        uniqueBy(
          inputs.flatMap((a) => (a.device ? [{ id: a.device.id, name: a.device.name }] : [])),
          (d) => d.id,
        ),
      ),
      insertInvestigations(tx, [
        ...new Set(inputs.flatMap((a) => (a.investigationId ? [a.investigationId] : []))),
      ]),
      getActionsByExternalKeys(tx, inputs),
    ]);
    for (const row of stored) byKey.set(key(row.source, row.externalId), { row, created: false });
    // What is new, once each (the first of a key given twice in the batch).
    const seen = new Set<string>();
    const fresh = inputs.filter((a) => {
      const k = key(a.source, a.externalId);
      if (byKey.has(k) || seen.has(k)) return false;
      seen.add(k);
      return true;
    });

    const now = new Date();
    const rows = fresh.map((a) => ({
      externalId: a.externalId,
      source: a.source,
      type: a.type,
      status: a.recorded?.error ? ("failed" as const) : a.status,
      investigationId: a.investigationId ?? null,
      incidentId: a.incidentId ?? null,
      deviceId: a.device?.id ?? null,
      deviceName: a.device?.name ?? null,
      entity: a.entity,
      sha256: a.entity.sha256 ?? null,
      threatKey: threatKeyOf(a, THREAT_KIND_NAMES),
      requestedBy: a.requestedBy ?? null,
      comment: a.comment ?? null,
      completedAt: a.status === "completed" && !a.recorded?.error ? (a.recorded?.completedAt ?? now) : null,
      decidedBy: a.recorded?.decidedBy ?? null,
      decidedAt: a.recorded?.decidedAt ?? null,
      error: a.recorded?.error ?? null,
      // Also for one recorded as completed elsewhere: undoing it is undoing the same thing.
      undoApprovalsNeeded: undoApprovalsNeeded(policy, a),
      slackMessageId: null as number | null,
      ...(a.status === "pending" && {
        expiresAt: new Date(now.getTime() + ttlFor(policy, a)),
        approvalsNeeded: approvalsNeeded(policy, a),
      }),
    }));
    // Each pending action's message is known before it is written: one write per row.
    const assignment = await assignMessages(
      tx,
      rows.flatMap((row, i) => (row.status === "pending" ? [{ ...row, id: i }] : [])),
      options.channel,
      {
        minActions: policy.threats.minActions,
        windowMs: policy.threats.window,
        keys: policy.threats.keys,
      },
    );
    rows.forEach((row, i) => {
      row.slackMessageId = assignment.messageOf.get(i) ?? null;
    });
    const inserted = await insertNewActions(tx, rows, {
      kinds: RECEIVED_EVENT,
      fallback: "received",
      actor: options.actor ?? "api",
    });
    for (const row of inserted) byKey.set(key(row.source, row.externalId), { row, created: true });
    // A concurrent ingest of the same actions stored them first: theirs are the rows, and the
    // messages made for them here show nothing.
    const lost = inputs.filter((a) => !byKey.has(key(a.source, a.externalId)));
    for (const row of await getActionsByExternalKeys(tx, lost))
      byKey.set(key(row.source, row.externalId), { row, created: false });
    const shown = new Set(inserted.map((row) => row.slackMessageId));
    const empty = new Set(assignment.created.filter((id) => !shown.has(id)));
    await deleteEmptyMessages(tx, [...empty]);
    const messageWork = assignment.work.filter(
      (m) => !(m.topic === "message.created" && empty.has(m.payload.messageId)),
    );

    if (inserted.length > 0) {
      for (const row of inserted)
        if (row.status === "completed") await options.onRecordedCompleted?.(tx, row);
      const pending = inserted.filter((row) => row.status === "pending");
      const automatic = pending.flatMap((row) => {
        const verdict = autoApprove(policy, row);
        return verdict ? [{ row, rule: verdict.rule }] : [];
      });
      const approvedByPolicy = new Set(automatic.map((a) => a.row.id));
      const waiting = pending.filter((row) => !approvedByPolicy.has(row.id));
      const timers = waiting.flatMap((row) => timersOf(policy, row, now));
      await writeOutbox(tx, [
        ...messageWork,
        ...(timers.length > 0 ? [{ topic: "timers" as const, payload: { timers } }] : []),
      ]);
      // Shown in the channel and history like any other, approved by the policy instead of a person.
      for (const { row, rule } of automatic) {
        const approved = await transitionAction(
          tx,
          decisionTransition({
            actionId: row.id,
            decision: "approve",
            actor: POLICY_ACTOR,
            detail: { reason: `auto-approval rule ${rule + 1}`, rule },
          }),
        );
        if (!approved.ok) throw new Error(`auto-approval of action ${row.id} failed: ${approved.message}`);
        byKey.set(key(row.source, row.externalId), { row: approved.action, created: true });
      }
    }
    return inputs.map((a) => {
      const found = byKey.get(key(a.source, a.externalId));
      if (!found) throw new Error(`ingest lost track of ${a.source}/${a.externalId}`);
      return {
        id: found.row.id,
        externalId: found.row.externalId,
        status: found.row.status,
        created: found.created,
      };
    });
  });
}

/** A waiting action's expiry, reminder and escalation, as delayed jobs created with the action. */
function timersOf(policy: Policy, row: ActionRow, now: Date): Timer[] {
  return [
    { actionId: row.id, kind: "expire", dueAt: row.expiresAt!.getTime() },
    ...remindersFor(policy, row).map((step) => ({
      actionId: row.id,
      kind: step.kind,
      dueAt: now.getTime() + step.afterMs,
    })),
  ];
}

function uniqueBy<T>(items: T[], keyOf: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(keyOf(item))) seen.set(keyOf(item), item);
  return [...seen.values()];
}
