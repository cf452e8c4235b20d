// Ingest: a validated batch of proposed actions stored in one transaction, with the approval
// policy's expiry, timers and auto-approval applied as each pending action arrives.
import { type DbOrTx, sentToPostgres, type Tx } from "../db/client.ts";
import {
  getActionsByExternalKeys,
  getActionsByIds,
  insertDevices,
  insertInvestigations,
  insertNewActions,
  type TimerStep,
  writeNewActions,
} from "../db/queries/ingest.ts";
import { bumpMessages, deleteEmptyMessages, planMessages, readAssignments } from "../db/queries/messages.ts";
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
  const grouping = {
    minActions: policy.threats.minActions,
    windowMs: policy.threats.window,
    keys: policy.threats.keys,
  };
  const key = (source: string, externalId: string) => `${source}\u0000${externalId}`;
  // Each input's key, built once: a batch's steps look its actions up by key several times.
  const inputKeys = inputs.map((a) => key(a.source, a.externalId));
  // Each key once (the first of a key given twice in the batch), as it is stored if it is new.
  // All of them are planned and inserted as new: the insert leaves out the keys already stored,
  // which are read after it (a batch sent again), rather than looked up before every batch.
  const now = new Date();
  const unique = uniqueBy(
    inputs.map((a, i) => [inputKeys[i]!, a] as const),
    ([k]) => k,
  );
  const rowKeys = unique.map(([k]) => k);
  const rows = unique.map(([, a]) => newActionOf(a, policy, now));
  return db.transaction(async (tx) => {
    const byKey = new Map<string, { id: number; externalId: string; status: Status; created: boolean }>();
    // Sent together, one round trip: the devices and investigations, the threat keys' locks and
    // what the messages' assignment reads under them. The rows are written out while Postgres
    // reads: none of them depends on what is read (each row's message, which does, is sent
    // beside them). One Promise.all for both, so a read that fails meanwhile is awaited.
    const [[, , reads], written] = await Promise.all([
      Promise.all([
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
        readAssignments(
          tx,
          rows.filter((row) => row.status === "pending"),
          options.channel,
          grouping,
        ),
      ]),
      sentToPostgres().then(() => writeNewActions(rows)),
    ]);
    const remember = (
      row: { id: number; externalId: string; status: Status; source: string },
      created: boolean,
    ) =>
      byKey.set(key(row.source, row.externalId), {
        id: row.id,
        externalId: row.externalId,
        status: row.status,
        created,
      });

    // Each pending action's message is known before it is written: one write per row. The
    // stored messages it joins are bumped first (a round trip only when there are any); the new
    // ones are created by the insert's own statement.
    const plan = planMessages(
      rows.flatMap((row, i) =>
        row.status === "pending"
          ? [{ threatKey: row.threatKey, investigationId: row.investigationId, id: i }]
          : [],
      ),
      options.channel,
      reads,
      grouping,
    );
    const renders = await bumpMessages(tx, plan.joined);
    const messagesOf = {
      stored: rows.map((_, i) => plan.joinedOf.get(i) ?? null),
      created: rows.map((_, i) => plan.newOf.get(i) ?? null),
    };
    // Approved by the policy as they arrive: no timers for those.
    const automatic = new Map(
      rows.flatMap((row, i) => {
        if (row.status !== "pending") return [];
        const verdict = autoApprove(policy, row);
        return verdict ? [[rowKeys[i]!, verdict.rule] as const] : [];
      }),
    );
    const { actions: inserted, createdMessages } = await insertNewActions(
      tx,
      written,
      messagesOf,
      { kinds: RECEIVED_EVENT, fallback: "received", actor: options.actor ?? "api" },
      {
        messages: plan.toCreate,
        renders,
        timers: {
          steps: timerSteps(
            policy,
            rows.filter((row) => row.status === "pending"),
            now,
          ),
          approvedOnArrival: rows.filter((_, i) => automatic.has(rowKeys[i]!)),
        },
      },
    );
    for (const row of inserted) remember(row, true);
    // Stored before (a batch sent again) or by a concurrent ingest of the same actions: theirs
    // are the rows, and the messages made for them here show nothing.
    const lost = inputs.filter((_, i) => !byKey.has(inputKeys[i]!));
    if (lost.length > 0) {
      for (const row of await getActionsByExternalKeys(tx, lost)) remember(row, false);
      const shown = new Set(inserted.map((row) => row.slackMessageId));
      await deleteEmptyMessages(
        tx,
        createdMessages.filter((id) => !shown.has(id)),
      );
    }

    if (options.onRecordedCompleted) {
      const completed = inserted.filter((row) => row.status === "completed").map((row) => row.id);
      for (const row of await getActionsByIds(tx, completed)) await options.onRecordedCompleted(tx, row);
    }
    // Shown in the channel and history like any other, approved by the policy instead of a person.
    for (const [arrived, rule] of automatic) {
      const row = byKey.get(arrived);
      if (!row?.created || row.status !== "pending") continue;
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
      remember(approved.action, true);
    }
    return inputs.map((a, i) => {
      const found = byKey.get(inputKeys[i]!);
      if (!found) throw new Error(`ingest lost track of ${a.source}/${a.externalId}`);
      return { id: found.id, externalId: found.externalId, status: found.status, created: found.created };
    });
  });
}

/** The row an input is stored as, with what the policy sets as it arrives. */
function newActionOf(a: IngestInput, policy: Policy, now: Date) {
  return {
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
    ...(a.status === "pending" && {
      expiresAt: new Date(now.getTime() + ttlFor(policy, a)),
      approvalsNeeded: approvalsNeeded(policy, a),
    }),
  };
}

/**
 * The expiry, reminder and escalation of the waiting actions, as delayed jobs created with them:
 * once per source and type of `rows`, which decide them.
 */
function timerSteps(policy: Policy, rows: ReturnType<typeof newActionOf>[], now: Date): TimerStep[] {
  const steps = new Map<string, TimerStep[]>();
  for (const row of rows) {
    const of = `${row.source} ${row.type}`;
    if (steps.has(of)) continue;
    steps.set(of, [
      [row.source, row.type, "expire", row.expiresAt!.getTime()],
      ...remindersFor(policy, row).map(
        (step): TimerStep => [row.source, row.type, step.kind, now.getTime() + step.afterMs],
      ),
    ]);
  }
  return [...steps.values()].flat();
}

function uniqueBy<T>(items: T[], keyOf: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const key = keyOf(item);
    if (!seen.has(key)) seen.set(key, item);
  }
  return [...seen.values()];
}
