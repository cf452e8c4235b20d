// Advanced hunting: a ready-to-run KQL query over Microsoft Defender's tables for what an action
// acts on, so that the person deciding can see what else the file, key or process did first.
import { gzipSync } from "node:zlib";
import type { ActionType, Entity } from "../domain/actionTypes.ts";

/** Advanced hunting in the Microsoft Defender portal. */
export const ADVANCED_HUNTING_URL = "https://security.microsoft.com/v2/advanced-hunting";

/** What a hunt needs of an action; an action row or the view a message shows is one. */
export type HuntTarget = {
  type: ActionType;
  entity: Entity;
  deviceName: string | null;
  deviceId: string | null;
};

/**
 * A KQL double-quoted string literal. Backslash, quote and line breaks are escaped; other control
 * characters are dropped, as a query cannot match them in Defender's tables anyway.
 */
export function kqlString(value: string): string {
  const escapes: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const body = value.replace(/[\\"\n\r\t]/g, (char) => escapes[char] ?? char).replace(/\p{Cc}/gu, "");
  return `"${body}"`;
}

function deviceFilter(action: HuntTarget): string[] {
  // Defender often knows a device by its FQDN where the source sent the short host name.
  if (action.deviceName) {
    return [
      `| where DeviceName =~ ${kqlString(action.deviceName)} or DeviceName startswith ${kqlString(`${action.deviceName}.`)}`,
    ];
  }
  return action.deviceId ? [`| where DeviceId == ${kqlString(action.deviceId)}`] : [];
}

/** `\Software\…\Run` of `HKLM\Software\…\Run`: Defender spells hives out (and per user), so match the rest. */
function registryPath(key: string): string {
  return /^HK[^\\]*(\\.+)$/i.exec(key)?.[1] ?? key;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname || url;
  } catch {
    return url;
  }
}

/** The table, the entity filters and the closing lines of the hunt for one action. */
function huntParts(action: HuntTarget): { table: string; filters: string[]; tail: string[] } {
  const { entity } = action;
  const newestFirst = (columns: string) => [`| project ${columns}`, "| order by Timestamp desc"];
  switch (action.type) {
    case "quarantine_file":
      return {
        table: "DeviceFileEvents",
        filters: [
          entity.sha256 ? `| where SHA256 == ${kqlString(entity.sha256)}` : "",
          !entity.sha256 && entity.path ? `| where FolderPath =~ ${kqlString(entity.path)}` : "",
        ],
        tail: newestFirst(
          "Timestamp, DeviceName, ActionType, FolderPath, FileName, SHA256, InitiatingProcessFileName, InitiatingProcessCommandLine",
        ),
      };
    case "remove_registry_key":
      return {
        table: "DeviceRegistryEvents",
        filters: [
          entity.key ? `| where RegistryKey endswith ${kqlString(registryPath(entity.key))}` : "",
          entity.valueName ? `| where RegistryValueName =~ ${kqlString(entity.valueName)}` : "",
        ],
        tail: newestFirst(
          "Timestamp, DeviceName, ActionType, RegistryKey, RegistryValueName, RegistryValueData, InitiatingProcessFileName, InitiatingProcessCommandLine",
        ),
      };
    case "stop_service":
      return {
        table: "DeviceEvents",
        filters: [
          '| where ActionType == "ServiceInstalled"',
          "| extend ServiceName = tostring(parse_json(AdditionalFields).ServiceName)",
          `| where ServiceName =~ ${kqlString(entity.name ?? "")}`,
        ],
        tail: newestFirst(
          "Timestamp, DeviceName, ServiceName, FileName, FolderPath, InitiatingProcessCommandLine",
        ),
      };
    case "disable_driver":
      return {
        table: "DeviceEvents",
        filters: [
          '| where ActionType == "DriverLoad"',
          `| where FileName startswith ${kqlString(entity.name ?? "")}`,
        ],
        tail: newestFirst("Timestamp, DeviceName, FileName, FolderPath, SHA256"),
      };
    case "remove_scheduled_task":
      return {
        table: "DeviceEvents",
        filters: [
          '| where ActionType startswith "ScheduledTask"',
          "| extend TaskName = tostring(parse_json(AdditionalFields).TaskName)",
          `| where TaskName =~ ${kqlString(entity.path ?? "")}`,
        ],
        tail: newestFirst(
          "Timestamp, DeviceName, ActionType, TaskName, InitiatingProcessFileName, InitiatingProcessCommandLine",
        ),
      };
    case "stop_process":
      return {
        table: "DeviceProcessEvents",
        filters: [
          entity.imagePath ? `| where FolderPath =~ ${kqlString(entity.imagePath)}` : "",
          entity.pid !== undefined ? `| where ProcessId == ${entity.pid}` : "",
        ],
        tail: newestFirst(
          "Timestamp, DeviceName, ProcessId, FileName, FolderPath, ProcessCommandLine, AccountName",
        ),
      };
    case "block_url":
      return {
        table: "DeviceNetworkEvents",
        filters: [`| where RemoteUrl contains ${kqlString(hostOf(entity.url ?? ""))}`],
        tail: newestFirst(
          "Timestamp, DeviceName, RemoteUrl, RemoteIP, RemotePort, InitiatingProcessFileName",
        ),
      };
    default:
      // Device-wide actions: what the device talked to, the first thing to weigh before isolating it.
      return {
        table: "DeviceNetworkEvents",
        filters: [],
        tail: [
          "| summarize Connections = count(), LastSeen = max(Timestamp) by RemoteUrl, RemoteIP, InitiatingProcessFileName",
          "| order by Connections desc",
        ],
      };
  }
}

/**
 * Whether the hunt looks across the fleet: a file known by its hash is the same file on every
 * device, and where else it is, is what the person deciding wants to know first.
 */
function fleetWide(action: HuntTarget): boolean {
  return action.type === "quarantine_file" && Boolean(action.entity.sha256);
}

/** A ready-to-run advanced hunting query for the action's entity over the last 7 days. */
export function huntQuery(action: HuntTarget): string {
  const { table, filters, tail } = huntParts(action);
  const devices = fleetWide(action) ? [] : deviceFilter(action);
  return [table, "| where Timestamp > ago(7d)", ...devices, ...filters, ...tail].filter(Boolean).join("\n");
}

/**
 * Advanced hunting opened on `query`, over the last week (the query's own `ago(7d)`). The portal
 * reads `query` as the KQL in UTF-16LE, gzipped, in base64url: the form of the "🔎" links in
 * Microsoft's own hunting-queries repository (github.com/microsoft/Microsoft-365-Defender-Hunting-Queries,
 * its folders' README files), with `timeRangeId=week` as they use it.
 */
export function advancedHuntingUrl(query: string, base = ADVANCED_HUNTING_URL): string {
  const encoded = gzipSync(Buffer.from(query, "utf16le")).toString("base64url");
  return `${base}?query=${encoded}&timeRangeId=week`;
}
