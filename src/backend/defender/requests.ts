// What each action type asks of Microsoft Defender for Endpoint: the endpoint, its body (parameter
// names are case-sensitive, as Microsoft documents them) and the application permission it needs.
// Pure: the backend sends what this plans, and the tests check every type here and end to end.

import type { LiveResponseScripts, ScriptKey } from "../../config/liveResponseScripts.ts";
import type { ActionRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, type ActionType } from "../../domain/actionTypes.ts";
import { BackendError } from "../types.ts";

export type MachineActionType =
  | "Isolate"
  | "Unisolate"
  | "RestrictCodeExecution"
  | "UnrestrictCodeExecution"
  | "StopAndQuarantineFile"
  | "RunAntiVirusScan"
  | "CollectInvestigationPackage"
  | "LiveResponse";

/** Application permissions of the WindowsDefenderATP API, as each call's reference page names them. */
export const PERMISSIONS = {
  isolate: "Machine.Isolate",
  restrict: "Machine.RestrictExecution",
  quarantine: "Machine.StopAndQuarantine",
  scan: "Machine.Scan",
  collect: "Machine.CollectForensics",
  liveResponse: "Machine.LiveResponse",
  indicators: "Ti.ReadWrite",
  read: "Machine.Read.All",
  /** The connector's reads: alerts and automated investigations, and files' other hashes. */
  alerts: "Alert.Read.All",
  files: "File.Read.All",
} as const;

export type Operation = "apply" | "undo";

export type DefenderRequest =
  | {
      kind: "machine_action";
      /** Under the API base, e.g. `/api/machines/{id}/isolate`. */
      path: string;
      body: Record<string, unknown>;
      /** The MachineAction `type` Defender gives the submission, to find it again. */
      machineActionType: MachineActionType;
      permission: string;
      /** The library script, for live response submissions (their own, lower rate limit). */
      script: string | null;
    }
  | { kind: "block_url"; url: string; body: Record<string, unknown> }
  | { kind: "unblock_url" };

export type RequestSettings = {
  isolationType: "Full" | "Selective" | "UnManagedDevice";
  scripts: LiveResponseScripts;
  /** This installation's id (db/installation.ts), in every marker left in Defender. */
  installationId: string;
};

type PlannedAction = Pick<
  ActionRow,
  "id" | "type" | "deviceId" | "deviceName" | "entity" | "comment" | "decidedBy" | "attempt" | "undoAttempt"
>;

/**
 * `Action Center for Slack #42@9f2c4e1a7b3d5e60, apply attempt 1`: names one submission of one
 * installation, in Defender's comment. Action numbers restart with each database; the
 * installation id does not repeat, so staging's #42 is never production's.
 */
export function runMarker(
  action: Pick<ActionRow, "id" | "attempt" | "undoAttempt">,
  operation: Operation,
  installationId: string,
) {
  const attempt = operation === "apply" ? action.attempt : action.undoAttempt;
  return `${actionMarker(action, installationId)}, ${operation} attempt ${attempt}`;
}

const MARKER = "Action Center for Slack";

/** `Action Center for Slack #42@9f2c4e1a7b3d5e60`: marks what this action created in Defender (its URL indicator). */
export function actionMarker(action: Pick<ActionRow, "id">, installationId: string): string {
  return `${MARKER} #${action.id}@${installationId}`;
}

/**
 * Whether a machine action Defender lists is one this installation submitted: its requestor is
 * the app (tokens are the app's own, so Defender names its client ID) and its comment carries a
 * run marker with this installation's id. Both must hold: a person who pastes our comment into the
 * portal is still someone else, and another installation on the tenant is not us.
 */
export function isOwnSubmission(
  machineAction: { requestor?: string | null; requestorComment?: string | null },
  app: { clientId: string; installationId: string },
): boolean {
  const byApp = machineAction.requestor?.toLowerCase() === app.clientId.toLowerCase();
  const marked = new RegExp(`\\(${MARKER} #\\d+@${app.installationId}, (apply|undo) attempt \\d+[,)]`).test(
    machineAction.requestorComment ?? "",
  );
  return byApp && marked;
}

/** The comment Defender keeps with the action: what, who approved it, our marker, the source's comment. */
export function defenderComment(action: PlannedAction, operation: Operation, installationId: string): string {
  const info = ACTION_TYPE_INFO[action.type];
  const what = operation === "apply" ? info.label : (info.undoLabel ?? "Undo");
  const approved =
    operation === "apply" && action.decidedBy ? `, approved in Slack by ${action.decidedBy}` : "";
  const comment = action.comment ? `: ${action.comment}` : "";
  return `${what} (${runMarker(action, operation, installationId)}${approved})${comment}`;
}

// PowerShell ends a single-quoted string at any of these, and reads two in a row as one literal.
const SINGLE_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/** A PowerShell single-quoted literal: nothing inside is expanded or executed. */
export function psQuote(value: string): string {
  // A line break would end the script's command line; no legitimate entity needs one.
  if (/\p{Cc}/u.test(value)) {
    throw new BackendError(
      `"${value.replace(/\p{Cc}/gu, "?").slice(0, 80)}" contains control characters, which cannot be passed to a live response script`,
      false,
    );
  }
  return `'${value.replace(SINGLE_QUOTES, (quote) => quote + quote)}'`;
}

function flag(name: string, value: string | undefined): string[] {
  return value === undefined ? [] : [`-${name}`, psQuote(value)];
}

/** The script's arguments, from the entity; `-ActionId` lets a script keep and find its backup. */
function scriptArgs(action: PlannedAction, script: ScriptKey): string {
  const e = action.entity;
  const args = ((): string[] => {
    switch (script) {
      case "remove_registry_key":
      case "restore_registry_key":
        return [...flag("Key", e.key), ...flag("ValueName", e.valueName)];
      case "stop_service":
      case "start_service":
      case "disable_driver":
      case "enable_driver":
        return flag("Name", e.name);
      case "remove_scheduled_task":
      case "restore_scheduled_task":
        return flag("TaskPath", e.path);
      case "stop_process":
        return [
          ...(e.pid === undefined ? [] : ["-ProcessId", String(e.pid)]),
          ...flag("ImagePath", e.imagePath),
        ];
      case "restore_file":
        return [...flag("Sha256", e.sha256), ...flag("Sha1", e.sha1), ...flag("Path", e.path)];
    }
  })();
  return [...args, "-ActionId", String(action.id)].join(" ");
}

const SCRIPT_FOR: Record<Operation, Partial<Record<ActionType, ScriptKey>>> = {
  apply: {
    remove_registry_key: "remove_registry_key",
    stop_service: "stop_service",
    disable_driver: "disable_driver",
    remove_scheduled_task: "remove_scheduled_task",
    stop_process: "stop_process",
  },
  undo: {
    quarantine_file: "restore_file",
    remove_registry_key: "restore_registry_key",
    stop_service: "start_service",
    disable_driver: "enable_driver",
    remove_scheduled_task: "restore_scheduled_task",
  },
};

/**
 * The types whose apply, and whose undo, run a live response script: Defender runs one live
 * response session at a time per device, so these wait for each other on a device.
 */
export const SCRIPTED_TYPES = {
  apply: Object.keys(SCRIPT_FOR.apply) as ActionType[],
  undo: Object.keys(SCRIPT_FOR.undo) as ActionType[],
};

/** The one call that starts `operation` of the action in Defender. */
export function planRequest(
  action: PlannedAction,
  operation: Operation,
  settings: RequestSettings,
): DefenderRequest {
  const Comment = defenderComment(action, operation, settings.installationId);
  if (action.type === "block_url") {
    if (operation === "undo") return { kind: "unblock_url" };
    const url = action.entity.url!;
    return {
      kind: "block_url",
      url,
      body: {
        indicatorValue: url,
        indicatorType: "Url",
        action: "Block",
        title: `${actionMarker(action, settings.installationId)}: block URL`,
        description: Comment,
      },
    };
  }
  if (!action.deviceId) throw new BackendError("the action names no device", false);
  const machine = `/api/machines/${encodeURIComponent(action.deviceId)}`;
  const call = (
    endpoint: string,
    machineActionType: MachineActionType,
    permission: string,
    body: Record<string, unknown> = {},
  ): DefenderRequest => ({
    kind: "machine_action",
    path: `${machine}/${endpoint}`,
    body: { Comment, ...body },
    machineActionType,
    permission,
    script: null,
  });

  const scriptKey = SCRIPT_FOR[operation][action.type];
  if (scriptKey) {
    const script = settings.scripts[scriptKey];
    return {
      kind: "machine_action",
      path: `${machine}/runliveresponse`,
      body: {
        Commands: [
          {
            type: "RunScript",
            params: [
              { key: "ScriptName", value: script },
              { key: "Args", value: scriptArgs(action, scriptKey) },
            ],
          },
        ],
        Comment,
      },
      machineActionType: "LiveResponse",
      permission: PERMISSIONS.liveResponse,
      script,
    };
  }
  if (operation === "undo") {
    switch (action.type) {
      case "isolate_device":
        return call("unisolate", "Unisolate", PERMISSIONS.isolate);
      case "restrict_code_execution":
        return call("unrestrictCodeExecution", "UnrestrictCodeExecution", PERMISSIONS.restrict);
      default:
        throw new BackendError(`${ACTION_TYPE_INFO[action.type].label} cannot be undone`, false);
    }
  }
  switch (action.type) {
    case "isolate_device":
      return call("isolate", "Isolate", PERMISSIONS.isolate, { IsolationType: settings.isolationType });
    case "restrict_code_execution":
      return call("restrictCodeExecution", "RestrictCodeExecution", PERMISSIONS.restrict);
    case "quarantine_file":
      if (!action.entity.sha1) {
        throw new BackendError(
          "Defender quarantines a file by its SHA-1 only, and this action has no sha1: send entity.sha1 with it",
          false,
        );
      }
      return call("StopAndQuarantineFile", "StopAndQuarantineFile", PERMISSIONS.quarantine, {
        Sha1: action.entity.sha1,
      });
    case "run_antivirus_scan":
      return call("runAntiVirusScan", "RunAntiVirusScan", PERMISSIONS.scan, { ScanType: "Quick" });
    case "collect_investigation_package":
      return call("collectInvestigationPackage", "CollectInvestigationPackage", PERMISSIONS.collect);
    default:
      throw new Error(`no Defender request for ${action.type}`);
  }
}
