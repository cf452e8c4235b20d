// The Defender alerts behind an action message: a line per alert with its link in the portal, its
// severity and incident, and, once it is resolved in Defender, by whom. Pure: added to a message
// the action builders made, without changing them.
import type { ContextBlock, KnownBlock, MrkdwnElement } from "@slack/types";
import { defenderPages } from "../../backend/defender/links.ts";
import type { DefenderAlertRow } from "../../db/schema.ts";
import { resolutionWords } from "../../domain/connectorRules.ts";
import { LIMITS } from "../blockLimits.ts";
import { escapeInline, mrkdwn, slackDate } from "../text.ts";
import type { SlackMessage } from "./actionMessage.ts";

export type AlertNote = Pick<
  DefenderAlertRow,
  | "id"
  | "title"
  | "severity"
  | "status"
  | "incidentId"
  | "assignedTo"
  | "classification"
  | "determination"
  | "resolvedAt"
>;

/** A link whose label is untrusted text: escaped, and without the `|` that would end the URL part. */
function link(url: string, label: string, max: number): string {
  return `<${url}|${escapeInline(label, max).replaceAll("|", "¦")}>`;
}

/** One alert as one mrkdwn line. */
function alertLine(alert: AlertNote): string {
  const title = link(defenderPages.alert(alert.id), alert.title, 300);
  const incident = alert.incidentId
    ? ` · ${link(defenderPages.incident(alert.incidentId), `incident ${alert.incidentId}`, 80)}`
    : "";
  if (alert.resolvedAt) {
    const words = escapeInline(resolutionWords(alert), 600);
    return `:white_check_mark: Defender alert ${title} was *${words}* · ${slackDate(alert.resolvedAt)}${incident}`;
  }
  return `:shield: Defender alert ${title} · severity ${escapeInline(alert.severity, 40)}${incident}`;
}

/** The alerts' lines as one context block (Slack allows 10 elements; the rest are counted). */
export function alertNotes(alerts: readonly AlertNote[]): ContextBlock {
  const max = LIMITS.contextElements;
  const shown = alerts.length > max ? alerts.slice(0, max - 1) : alerts;
  const elements: MrkdwnElement[] = shown.map((alert) => mrkdwn(alertLine(alert)));
  if (alerts.length > shown.length) elements.push(mrkdwn(`and ${alerts.length - shown.length} more alerts`));
  return { type: "context", elements };
}

/**
 * The message with its alerts' lines above its buttons. A message already at Slack's 50 blocks
 * gets none: its thread has every resolution, and the alert links are on the investigation page.
 */
export function withAlertNotes(message: SlackMessage, alerts: readonly AlertNote[]): SlackMessage {
  if (alerts.length === 0 || message.blocks.length >= LIMITS.messageBlocks) return message;
  const blocks: KnownBlock[] = [...message.blocks];
  const at = blocks.at(-1)?.type === "actions" ? blocks.length - 1 : blocks.length;
  blocks.splice(at, 0, alertNotes(alerts));
  const resolved = alerts.filter((alert) => alert.resolvedAt !== null);
  // The lock screen says it too when every alert behind the message is settled in Defender.
  const text =
    resolved.length === alerts.length
      ? `${message.text} (alert ${escapeInline(resolutionWords(resolved[0]!), 200)})`
      : message.text;
  return { text, blocks };
}
