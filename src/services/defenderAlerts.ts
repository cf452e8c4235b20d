// Defender's alerts as the connector reads them, a page at a time: each alert stored as it is now,
// the actions its rules propose stored as ordinary pending actions (through ingest, so the
// approval policy applies, auto-approval included), and an alert resolved in Defender told to its
// actions once, which the policy may also expire. Runs in the connector's transaction.
import { createHash } from "node:crypto";
import type { DefenderAlert } from "../backend/defender/reader.ts";
import type { Tx } from "../db/client.ts";
import {
  type AlertValues,
  linkAlertActions,
  lockActionsOfAlert,
  markAlertResolved,
  upsertAlerts,
} from "../db/queries/connector.ts";
import { recordChange, transitionAction } from "../db/transitions.ts";
import { actionInputSchema } from "../domain/actionInput.ts";
import { ACTION_TYPE_INFO } from "../domain/actionTypes.ts";
import { type Proposal, proposeActions, resolutionWords, type Unusable } from "../domain/connectorRules.ts";
import type { Policy } from "../domain/policy.ts";
import { type IngestInput, ingestActions } from "./ingest.ts";

/** The audit trail's actor for what the connector stores. */
export const CONNECTOR_ACTOR = "defender-connector";

export type AlertPageOutcome = {
  /** Actions stored for the first time. */
  proposed: number;
  /** Alerts newly seen resolved, and the pending actions that expired with them. */
  resolved: number;
  expired: number;
  unusable: (Unusable & { alertId: string })[];
};

const alertValues = (alert: DefenderAlert): AlertValues => ({
  id: alert.id,
  incidentId: alert.incidentId,
  investigationId: alert.investigationId,
  title: alert.title,
  severity: alert.severity,
  status: alert.status,
  assignedTo: alert.assignedTo,
  classification: alert.classification,
  determination: alert.determination,
  machineId: alert.machineId,
  computerDnsName: alert.computerDnsName,
  lastUpdateTime: alert.lastUpdateTime,
});

/** `da637…/quarantine_file/5f0c…`: the same alert, action and evidence give the same id, whatever its length. */
function externalId(alertId: string, proposal: Proposal): string {
  const evidence = createHash("sha256").update(proposal.evidenceKey).digest("hex").slice(0, 24);
  return `${alertId}/${proposal.type}/${evidence}`;
}

/**
 * What groups an alert's actions into one message: its incident (all of an incident's alerts
 * are one story), else the automated investigation, else nothing.
 */
function groupOf(alert: DefenderAlert): string | undefined {
  if (alert.incidentId) return `incident-${alert.incidentId}`;
  if (alert.investigationId) return `investigation-${alert.investigationId}`;
  return undefined;
}

function inputOf(alert: DefenderAlert, proposal: Proposal): IngestInput {
  const needsDevice = ACTION_TYPE_INFO[proposal.type].needsDevice;
  const parsed = actionInputSchema.safeParse({
    externalId: externalId(alert.id, proposal),
    source: "defender_alert",
    type: proposal.type,
    investigationId: groupOf(alert),
    incidentId: alert.incidentId ?? undefined,
    ...(needsDevice && { device: { id: alert.machineId, name: alert.computerDnsName ?? alert.machineId } }),
    entity: proposal.entity,
    comment:
      `Defender alert: ${alert.title} (severity ${alert.severity}${alert.category ? `, ${alert.category}` : ""}; rule ${proposal.rule})`.slice(
        0,
        1000,
      ),
  });
  // The domain checked the entity and the device; anything else refused here is a bug of ours.
  if (!parsed.success) throw new Error(`alert ${alert.id}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

export async function storeAlertPage(
  tx: Tx,
  alerts: readonly DefenderAlert[],
  options: { policy: Policy; channel: string },
): Promise<AlertPageOutcome> {
  const outcome: AlertPageOutcome = { proposed: 0, resolved: 0, expired: 0, unusable: [] };
  // The same alert twice in a page (updated while paging): its latest state counts.
  const latest = new Map(alerts.map((alert) => [alert.id, alert]));
  await upsertAlerts(tx, [...latest.values()].map(alertValues));

  const inputs: IngestInput[] = [];
  const alertOf = new Map<string, string>();
  for (const alert of latest.values()) {
    if (alert.status.toLowerCase() === "resolved") {
      await tellResolved(tx, alert, options.policy, outcome);
      continue;
    }
    const { proposals, unusable } = proposeActions(options.policy.connector, alert);
    outcome.unusable.push(...unusable.map((u) => ({ ...u, alertId: alert.id })));
    for (const proposal of proposals) {
      const input = inputOf(alert, proposal);
      inputs.push(input);
      alertOf.set(input.externalId, alert.id);
    }
  }
  if (inputs.length === 0) return outcome;
  const stored = await ingestActions(tx, inputs, {
    channel: options.channel,
    policy: options.policy,
    actor: CONNECTOR_ACTOR,
  });
  await linkAlertActions(
    tx,
    stored.map((result) => ({ actionId: result.id, alertId: alertOf.get(result.externalId)! })),
  );
  outcome.proposed = stored.filter((result) => result.created).length;
  return outcome;
}

/** The alert's actions hear once that it was resolved; pending ones expire if the policy says so. */
async function tellResolved(tx: Tx, alert: DefenderAlert, policy: Policy, outcome: AlertPageOutcome) {
  if (!(await markAlertResolved(tx, alert.id))) return;
  outcome.resolved += 1;
  const words = resolutionWords(alert);
  for (const action of await lockActionsOfAlert(tx, alert.id)) {
    if (action.status === "pending" && policy.connector.expirePendingWhenResolved) {
      const expired = await transitionAction(tx, {
        actionId: action.id,
        transition: "expire",
        actor: "system",
        detail: { reason: `alert ${alert.id} ${words}` },
        locked: action,
      });
      if (expired.ok) {
        outcome.expired += 1;
        continue;
      }
    }
    await recordChange(tx, action, {
      kind: "resolved_in_defender",
      actor: alert.assignedTo ?? CONNECTOR_ACTOR,
      detail: { alertId: alert.id, comment: words },
    });
  }
}
