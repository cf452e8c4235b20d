// The remediation actions the Action center knows, what each acts on, and which can be undone.
// Plain data and pure functions: no I/O, so every other layer (API, worker, Slack) agrees.
import { z } from "zod";
import { isStorableText, NOT_STORABLE_MESSAGE, storableString } from "./storableText.ts";

export const ACTION_TYPES = [
  "isolate_device",
  "restrict_code_execution",
  "quarantine_file",
  "remove_registry_key",
  "stop_service",
  "disable_driver",
  "remove_scheduled_task",
  "stop_process",
  "block_url",
  "run_antivirus_scan",
  "collect_investigation_package",
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const SOURCES = [
  "automated_investigation",
  "antivirus",
  "manual",
  // Set by the Defender connector: proposals from Defender's alerts, and what was done in Defender.
  "defender_alert",
  "defender_machine_action",
] as const;
export type Source = (typeof SOURCES)[number];

const hex = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${length}}$`), `must be ${length} hexadecimal characters`)
    .transform((value) => value.toLowerCase());
const text = (max: number) => storableString().trim().min(1, "must not be empty").max(max);

const noEntity = z.object({}).strict();

export const ENTITY_SCHEMAS = {
  isolate_device: noEntity,
  restrict_code_execution: noEntity,
  quarantine_file: z
    .object({ sha256: hex(64), sha1: hex(40).optional(), path: text(1024).optional() })
    .strict(),
  remove_registry_key: z.object({ key: text(1024), valueName: text(256).optional() }).strict(),
  stop_service: z.object({ name: text(256) }).strict(),
  disable_driver: z.object({ name: text(256) }).strict(),
  remove_scheduled_task: z.object({ path: text(1024) }).strict(),
  stop_process: z
    .object({
      pid: z
        .number()
        .int()
        .positive()
        .max(2 ** 32)
        .optional(),
      imagePath: text(1024).optional(),
    })
    .strict()
    .refine((entity) => entity.pid !== undefined || entity.imagePath !== undefined, {
      message: "needs pid or imagePath",
    }),
  block_url: z
    .object({
      url: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .refine(isStorableText, NOT_STORABLE_MESSAGE),
    })
    .strict(),
  run_antivirus_scan: noEntity,
  collect_investigation_package: noEntity,
} satisfies Record<ActionType, z.ZodType>;

export type Entity = {
  sha256?: string;
  sha1?: string;
  path?: string;
  key?: string;
  valueName?: string;
  name?: string;
  pid?: number;
  imagePath?: string;
  url?: string;
};

type TypeInfo = {
  /** Sentence-case label for headers and lists. */
  label: string;
  /** Short imperative used in buttons and lock-screen text. */
  verb: string;
  /** The label of the undo, or null when the action cannot be undone. */
  undoLabel: string | null;
  /** Whether a device is part of the action (all but tenant-wide URL blocks). */
  needsDevice: boolean;
};

export const ACTION_TYPE_INFO: Record<ActionType, TypeInfo> = {
  isolate_device: {
    label: "Isolate device",
    verb: "isolate",
    undoLabel: "Release from isolation",
    needsDevice: true,
  },
  restrict_code_execution: {
    label: "Restrict code execution",
    verb: "restrict code execution on",
    undoLabel: "Remove restriction",
    needsDevice: true,
  },
  quarantine_file: {
    label: "Quarantine file",
    verb: "quarantine",
    undoLabel: "Restore file",
    needsDevice: true,
  },
  remove_registry_key: {
    label: "Remove registry key",
    verb: "remove registry key",
    undoLabel: "Restore registry value",
    needsDevice: true,
  },
  stop_service: {
    label: "Stop service",
    verb: "stop service",
    undoLabel: "Start service",
    needsDevice: true,
  },
  disable_driver: {
    label: "Disable driver",
    verb: "disable driver",
    undoLabel: "Enable driver",
    needsDevice: true,
  },
  remove_scheduled_task: {
    label: "Remove scheduled task",
    verb: "remove scheduled task",
    undoLabel: "Restore scheduled task",
    needsDevice: true,
  },
  stop_process: { label: "Stop process", verb: "stop process", undoLabel: null, needsDevice: true },
  block_url: { label: "Block URL", verb: "block", undoLabel: "Unblock URL", needsDevice: false },
  run_antivirus_scan: { label: "Run antivirus scan", verb: "scan", undoLabel: null, needsDevice: true },
  collect_investigation_package: {
    label: "Collect investigation package",
    verb: "collect an investigation package from",
    undoLabel: null,
    needsDevice: true,
  },
};

export const SOURCE_LABELS: Record<Source, string> = {
  automated_investigation: "Automated investigation",
  antivirus: "Microsoft Defender Antivirus",
  manual: "Manual response",
  defender_alert: "Defender alert",
  defender_machine_action: "Taken in Defender",
};

export function isUndoable(type: ActionType): boolean {
  return ACTION_TYPE_INFO[type].undoLabel !== null;
}

export function isActionType(value: string): value is ActionType {
  return (ACTION_TYPES as readonly string[]).includes(value);
}

export function isSource(value: string): value is Source {
  return (SOURCES as readonly string[]).includes(value);
}

/** The last path segment of a Windows or POSIX path. */
function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** One line naming what the action acts on, e.g. `evil.exe (sha256 3f2a…9b1c)`; empty when nothing. */
export function describeEntity(type: ActionType, entity: Entity): string {
  switch (type) {
    case "quarantine_file": {
      const hash = entity.sha256 ? `sha256 ${entity.sha256.slice(0, 8)}…${entity.sha256.slice(-4)}` : "";
      return entity.path ? `${baseName(entity.path)} (${hash})` : hash;
    }
    case "remove_registry_key":
      return entity.valueName ? `${entity.key}\\${entity.valueName}` : (entity.key ?? "");
    case "stop_service":
    case "disable_driver":
      return entity.name ?? "";
    case "remove_scheduled_task":
      return entity.path ?? "";
    case "stop_process": {
      const image = entity.imagePath ? baseName(entity.imagePath) : "";
      const pid = entity.pid !== undefined ? `pid ${entity.pid}` : "";
      return [image, pid].filter(Boolean).join(", ");
    }
    case "block_url":
      return entity.url ?? "";
    default:
      return "";
  }
}
