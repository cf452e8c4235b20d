// The modals the buttons open (reject with a reason, go hunt) and the one-line audit events
// posted in the thread under an action's message.

import type { ModalView } from "@slack/types";
import type { ActionEventRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { EVENT_WORDS } from "../../domain/auditEvents.ts";
import { OPEN_HUNTING_ACTION_ID, REASON_INPUT_ID, REJECT_CALLBACK_ID } from "../actionIds.ts";
import { actorText, escapeInline, mrkdwn, plainText, slackDate } from "../text.ts";
import { type ActionView, target } from "./actionMessage.ts";

export const REASON_MAX_LENGTH = 1000;
export const ADVANCED_HUNTING_URL = "https://security.microsoft.com/v2/advanced-hunting";

const heading = (action: ActionView) =>
  `*${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}`;

/** Asks for the reason of a rejection; `private_metadata` carries the action id. */
export function rejectModal(action: ActionView): ModalView {
  return {
    type: "modal",
    callback_id: REJECT_CALLBACK_ID,
    private_metadata: String(action.id),
    title: plainText("Reject action"),
    submit: plainText("Reject"),
    close: plainText("Cancel"),
    blocks: [
      { type: "section", text: mrkdwn(heading(action)) },
      {
        type: "input",
        block_id: REASON_INPUT_ID,
        label: plainText("Reason"),
        hint: plainText("Shown in the channel and kept in the audit trail."),
        element: {
          type: "plain_text_input",
          action_id: REASON_INPUT_ID,
          multiline: true,
          max_length: REASON_MAX_LENGTH,
          placeholder: plainText("Why should this action not run?"),
        },
      },
    ],
  };
}

/**
 * A KQL double-quoted string literal. Backslash, quote and line breaks are escaped; other control
 * characters are dropped, as a query cannot match them in Defender's tables anyway.
 */
export function kqlString(value: string): string {
  const escapes: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const body = value.replace(/[\\"\n\r\t]/g, (char) => escapes[char] ?? char).replace(/\p{Cc}/gu, "");
  return `"${body}"`;
}

function deviceFilter(action: ActionView): string[] {
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
function huntParts(action: ActionView): { table: string; filters: string[]; tail: string[] } {
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

/** A ready-to-run advanced hunting query for the action's entity over the last 7 days. */
export function huntQuery(action: ActionView): string {
  const { table, filters, tail } = huntParts(action);
  return [table, "| where Timestamp > ago(7d)", ...deviceFilter(action), ...filters, ...tail]
    .filter(Boolean)
    .join("\n");
}

export function goHuntModal(action: ActionView): ModalView {
  return {
    type: "modal",
    title: plainText("Go hunt"),
    close: plainText("Close"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(`${heading(action)}\nCopy this query into Microsoft Defender advanced hunting:`),
      },
      // A preformatted rich text block shows and copies the query exactly: no mrkdwn escaping.
      {
        type: "rich_text",
        elements: [{ type: "rich_text_preformatted", elements: [{ type: "text", text: huntQuery(action) }] }],
      },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            action_id: OPEN_HUNTING_ACTION_ID,
            text: plainText("Open advanced hunting"),
            url: ADVANCED_HUNTING_URL,
          },
        ],
      },
    ],
  };
}

/** "*Rejected* by <@U123> · today 3:12 AM — not malicious, a pentest tool": one audit event. */
export function threadEventText(event: Pick<ActionEventRow, "kind" | "actor" | "at" | "detail">): string {
  const words = EVENT_WORDS[event.kind] ?? escapeInline(event.kind.replaceAll("_", " "), 60);
  const { comment, reason, error, attempt } = event.detail;
  const details = [
    typeof attempt === "number" && attempt > 1 ? `attempt ${attempt}` : "",
    typeof comment === "string" ? escapeInline(comment, 500) : "",
    typeof reason === "string" ? escapeInline(reason, 500) : "",
    typeof error === "string" ? `error: ${escapeInline(error, 500)}` : "",
  ].filter(Boolean);
  const line = `*${words}* by ${actorText(event.actor)} · ${slackDate(event.at)}`;
  return details.length > 0 ? `${line} — ${details.join(" · ")}` : line;
}
