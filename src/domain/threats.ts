// Threats: the same thing acted on across devices (one file's SHA-256, one URL, one registry
// value…). Pending actions that share a threat key and arrive close together are shown, and can
// be decided, as one threat message rather than one message per investigation. Pure: the key is
// computed from what the action acts on, nothing else.
import type { ActionType, Entity } from "./actionTypes.ts";

/** The kinds of thing that can be the same across devices, and the action type each comes from. */
export const THREAT_KINDS = {
  /** A file, by SHA-256: the classic outbreak. */
  file: "quarantine_file",
  /** A URL or domain blocked tenant-wide: every investigation that saw it proposes the same block. */
  url: "block_url",
  /** A registry value (key and value name) a piece of malware writes for persistence. */
  registry_value: "remove_registry_key",
  /** A service installed under the same name on every device. */
  service: "stop_service",
  /** A driver of the same name. */
  driver: "disable_driver",
  /** A scheduled task at the same path. */
  scheduled_task: "remove_scheduled_task",
  /** A process by its image path (a pid alone differs per device and never groups). */
  process_image: "stop_process",
} as const satisfies Record<string, ActionType>;
export type ThreatKind = keyof typeof THREAT_KINDS;
export const THREAT_KIND_NAMES = Object.keys(THREAT_KINDS) as ThreatKind[];

/** Windows names and paths compare without case and with either slash. */
const windowsName = (value: string) => value.replaceAll("/", "\\").toLowerCase();

function thingOf(type: ActionType, entity: Entity): { kind: ThreatKind; thing: string } | null {
  switch (type) {
    case "quarantine_file":
      return entity.sha256 ? { kind: "file", thing: entity.sha256.toLowerCase() } : null;
    case "block_url":
      return entity.url ? { kind: "url", thing: entity.url } : null;
    case "remove_registry_key":
      return entity.key
        ? // An empty segment never occurs in a key path, so "\\" cannot be part of the key.
          {
            kind: "registry_value",
            thing: `${windowsName(entity.key)}\\\\${(entity.valueName ?? "").toLowerCase()}`,
          }
        : null;
    case "stop_service":
      return entity.name ? { kind: "service", thing: entity.name.toLowerCase() } : null;
    case "disable_driver":
      return entity.name ? { kind: "driver", thing: entity.name.toLowerCase() } : null;
    case "remove_scheduled_task":
      return entity.path ? { kind: "scheduled_task", thing: windowsName(entity.path) } : null;
    case "stop_process":
      return entity.imagePath ? { kind: "process_image", thing: windowsName(entity.imagePath) } : null;
    // The device itself is what these act on: nothing is shared across devices.
    case "isolate_device":
    case "restrict_code_execution":
    case "run_antivirus_scan":
    case "collect_investigation_package":
      return null;
  }
}

/**
 * The key that actions acting on the same thing share (`file:<sha256>`), or null when the action
 * type never groups or its kind is not among `kinds` (the policy's `threats.keys`).
 */
export function threatKeyOf(
  action: { type: ActionType; entity: Entity },
  kinds: readonly ThreatKind[],
): string | null {
  const found = thingOf(action.type, action.entity);
  return found && kinds.includes(found.kind) ? `${found.kind}:${found.thing}` : null;
}

/** The kind of a threat key, or null for a key this version does not know. */
export function threatKindOf(key: string): ThreatKind | null {
  const kind = key.slice(0, key.indexOf(":"));
  return THREAT_KIND_NAMES.find((name) => name === kind) ?? null;
}
