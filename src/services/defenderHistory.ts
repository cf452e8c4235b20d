// What was done in Defender without this app: machine actions taken in the portal, by other
// tools or by Defender's automation, recorded as completed (or failed) actions with their
// requestor, so that history shows them and Undo works on them from Slack. This app's own
// submissions are recognised and left alone: their actions are recorded already. A release or
// an unrestriction done elsewhere is noted on the action it reversed. Runs in the connector's
// transaction.
import type { DefenderMachineAction } from "../backend/defender/reader.ts";
import { isOwnSubmission } from "../backend/defender/requests.ts";
import type { DbOrTx, Tx } from "../db/client.ts";
import { actionsWithEvent } from "../db/queries/actions.ts";
import { lockLatestCompleted, storedExternalIds } from "../db/queries/connector.ts";
import type { ActionRow } from "../db/schema.ts";
import { recordChange } from "../db/transitions.ts";
import { actionInputSchema } from "../domain/actionInput.ts";
import { ACTION_TYPE_INFO, type ActionType, type Entity } from "../domain/actionTypes.ts";
import type { Policy } from "../domain/policy.ts";
import { CONNECTOR_ACTOR } from "./defenderAlerts.ts";
import { type IngestInput, ingestActions } from "./ingest.ts";

/** The machine action types that are actions of ours, and those that reverse one. */
const RECORDED_TYPES: Record<string, ActionType> = {
  Isolate: "isolate_device",
  RestrictCodeExecution: "restrict_code_execution",
  StopAndQuarantineFile: "quarantine_file",
  RunAntiVirusScan: "run_antivirus_scan",
  CollectInvestigationPackage: "collect_investigation_package",
};
const REVERSALS: Record<string, ActionType> = {
  Unisolate: "isolate_device",
  UnrestrictCodeExecution: "restrict_code_execution",
};
const STILL_RUNNING = ["Pending", "InProgress"];
const FAILED = ["Failed", "TimeOut", "Cancelled"];

export type HistoryOutcome = {
  recorded: number;
  own: number;
  reversed: number;
  /** Not final yet: read again in a later round. */
  running: DefenderMachineAction[];
  /** Of a type with no action of ours (live response, offboarding), or a file Defender did not describe. */
  skipped: { id: string; reason: string }[];
};

/**
 * The SHA-1s of the files quarantined elsewhere that are not recorded yet: Defender's machine
 * action names the file by SHA-1, and our quarantine (and its restore) needs the SHA-256 too.
 */
export async function quarantinesNeedingSha256(
  db: DbOrTx,
  page: readonly DefenderMachineAction[],
  app: { clientId: string; installationId: string },
): Promise<string[]> {
  const candidates = page.filter(
    (action) =>
      action.type === "StopAndQuarantineFile" &&
      action.relatedFileInfo?.fileIdentifierType === "Sha1" &&
      !STILL_RUNNING.includes(action.status) &&
      !isOwnSubmission(action, app),
  );
  const stored = await storedExternalIds(
    db,
    "defender_machine_action",
    candidates.map((action) => action.id),
  );
  return [
    ...new Set(
      candidates
        .filter((action) => !stored.has(action.id))
        .map((action) => action.relatedFileInfo!.fileIdentifier.toLowerCase()),
    ),
  ];
}

function failure(action: DefenderMachineAction): string {
  const device = action.computerDnsName ?? action.machineId;
  const base = `Defender's ${action.type} action ${action.id} on ${device} ended ${action.status}`;
  if (action.status !== "Cancelled") return base;
  const by = action.cancellationRequestor ? ` by ${action.cancellationRequestor}` : "";
  return `${base}${by}${action.cancellationComment ? `: ${action.cancellationComment}` : ""}`;
}

function entityOf(
  action: DefenderMachineAction,
  sha256Of: ReadonlyMap<string, string>,
): Entity | { reason: string } {
  if (action.type !== "StopAndQuarantineFile") return {};
  const file = action.relatedFileInfo;
  const hash = file?.fileIdentifier.toLowerCase();
  if (!file || !hash) return { reason: "names no file" };
  const sha256 = file.fileIdentifierType === "Sha256" ? hash : sha256Of.get(hash);
  if (!sha256) return { reason: `file ${hash} is not known to Defender's file API, so its SHA-256 is not` };
  return { sha256, ...(file.fileIdentifierType === "Sha1" && { sha1: hash }) };
}

export async function recordMachineActions(
  tx: Tx,
  page: readonly DefenderMachineAction[],
  options: {
    clientId: string;
    installationId: string;
    policy: Policy;
    channel: string;
    sha256Of: ReadonlyMap<string, string>;
  },
): Promise<HistoryOutcome> {
  const outcome: HistoryOutcome = { recorded: 0, own: 0, reversed: 0, running: [], skipped: [] };
  const inputs: IngestInput[] = [];
  for (const action of page) {
    if (isOwnSubmission(action, options)) {
      outcome.own += 1;
      continue;
    }
    if (STILL_RUNNING.includes(action.status)) {
      outcome.running.push(action);
      continue;
    }
    const reversed = REVERSALS[action.type];
    if (reversed) {
      if (action.status === "Succeeded" && (await noteReversal(tx, action, reversed))) outcome.reversed += 1;
      continue;
    }
    const type = RECORDED_TYPES[action.type];
    if (!type || !action.machineId) {
      outcome.skipped.push({ id: action.id, reason: `${action.type} is no action of this app` });
      continue;
    }
    const entity = entityOf(action, options.sha256Of);
    if ("reason" in entity) {
      outcome.skipped.push({ id: action.id, reason: entity.reason });
      continue;
    }
    const parsed = actionInputSchema.safeParse({
      externalId: action.id,
      source: "defender_machine_action",
      type,
      status: "completed",
      device: { id: action.machineId, name: action.computerDnsName ?? action.machineId },
      entity,
      ...(action.requestor && { requestedBy: action.requestor.slice(0, 320) }),
      ...(action.requestorComment && { comment: action.requestorComment.slice(0, 1000) }),
    });
    if (!parsed.success) {
      outcome.skipped.push({ id: action.id, reason: parsed.error.issues[0]!.message });
      continue;
    }
    inputs.push({
      ...parsed.data,
      recorded: {
        decidedBy: action.requestor,
        decidedAt: action.creationDateTimeUtc,
        completedAt: action.lastUpdateDateTimeUtc,
        error: FAILED.includes(action.status) ? failure(action) : null,
      },
    });
  }
  if (inputs.length > 0) {
    const stored = await ingestActions(tx, inputs, {
      channel: options.channel,
      policy: options.policy,
      actor: CONNECTOR_ACTOR,
    });
    outcome.recorded = stored.filter((result) => result.created).length;
  }
  return outcome;
}

/**
 * A release (or unrestriction) done elsewhere: the latest completed isolation (or restriction) of
 * the device before it is told, once. Its status stays: it did complete, and Undo on it now asks
 * Defender for what is already so, which Defender answers without harm.
 */
async function noteReversal(tx: Tx, action: DefenderMachineAction, type: ActionType): Promise<boolean> {
  if (!action.machineId || !action.creationDateTimeUtc) return false;
  const target: ActionRow | undefined = await lockLatestCompleted(tx, {
    type,
    deviceId: action.machineId,
    before: action.creationDateTimeUtc,
  });
  if (!target) return false;
  if ((await actionsWithEvent(tx, [target.id], "reversed_in_defender")).length > 0) return false;
  const by = action.requestor ? ` by ${action.requestor}` : "";
  await recordChange(tx, target, {
    kind: "reversed_in_defender",
    actor: action.requestor ?? CONNECTOR_ACTOR,
    detail: {
      machineActionId: action.id,
      comment: `${ACTION_TYPE_INFO[type].undoLabel} done in Defender${by}${action.requestorComment ? `: ${action.requestorComment}` : ""}`,
    },
  });
  return true;
}
