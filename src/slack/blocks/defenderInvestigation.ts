// The message announcing a Defender automated investigation that waits for approval in Defender's
// own Action center, and the same message once it moved on. It says plainly that it is decided in
// the portal: Microsoft documents no API that approves or rejects those actions, so this message
// has links there and no Approve button. Pure, like every builder.
import type { KnownBlock } from "@slack/types";
import { defenderPages } from "../../backend/defender/links.ts";
import type { DefenderInvestigationRow } from "../../db/schema.ts";
import { escapeInline, mrkdwn, plainInline, plainText, slackDate } from "../text.ts";
import type { SlackMessage } from "./actionMessage.ts";

/** Defender cancels pending actions nobody decides within a week, as if rejected. */
export const DEFENDER_PENDING_TIMEOUT_MS = 7 * 24 * 3600_000;

export type InvestigationNoticeInput = {
  investigation: Pick<
    DefenderInvestigationRow,
    | "id"
    | "state"
    | "statusDetails"
    | "machineId"
    | "computerDnsName"
    | "triggeringAlertId"
    | "startTime"
    | "endTime"
    | "cancelledBy"
    | "createdAt"
  >;
  /** The triggering alert's title, when the connector has read that alert. */
  alertTitle: string | null;
};

/** `SuccessfullyRemediated` → "successfully remediated". */
export function stateWords(state: string): string {
  return state.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

const link = (url: string, label: string) => `<${url}|${label}>`;
const field = (label: string, value: string) => mrkdwn(`*${label}*\n${value}`);

/** When Defender times the wait out: a week after the investigation started (as first seen, if unknown). */
function timeoutAt(investigation: InvestigationNoticeInput["investigation"]): Date {
  const start = investigation.startTime ?? investigation.createdAt;
  return new Date(start.getTime() + DEFENDER_PENDING_TIMEOUT_MS);
}

export function investigationNotice(input: InvestigationNoticeInput): SlackMessage {
  const { investigation } = input;
  const id = escapeInline(investigation.id, 80);
  const device = investigation.computerDnsName ?? investigation.machineId ?? "an unknown device";
  const waiting = investigation.state === "PendingApproval";
  const deadline = timeoutAt(investigation);
  const deviceText = investigation.machineId
    ? link(defenderPages.device(investigation.machineId), escapeInline(device, 200))
    : escapeInline(device, 200);
  const alertText = investigation.triggeringAlertId
    ? link(
        defenderPages.alert(investigation.triggeringAlertId),
        escapeInline(input.alertTitle ?? investigation.triggeringAlertId, 300).replaceAll("|", "¦"),
      )
    : "—";
  const lead = waiting
    ? `:hourglass_flowing_sand: Defender's automated investigation *${id}* on *${escapeInline(device, 200)}* has remediation actions *waiting for approval in the Defender Action center*.`
    : `:information_source: Defender's automated investigation *${id}* on *${escapeInline(device, 200)}* no longer waits for approval: it is *${escapeInline(stateWords(investigation.state), 80)}*.`;
  const portal = waiting
    ? "*Decide it in the Defender portal.* Microsoft offers no API to approve or reject these actions, so they cannot be decided from Slack."
    : "It was decided, or timed out, in the Defender portal; this message only follows it.";
  const details = [
    investigation.statusDetails && `Defender says: ${escapeInline(investigation.statusDetails, 500)}`,
    investigation.cancelledBy && `Cancelled by ${escapeInline(investigation.cancelledBy, 200)}`,
  ].filter(Boolean);
  const blocks: KnownBlock[] = [
    {
      type: "header",
      text: plainText(
        plainInline(
          waiting
            ? `Waiting in the Defender portal: investigation ${investigation.id}`
            : `Defender investigation ${investigation.id}: ${stateWords(investigation.state)}`,
          150,
        ),
      ),
    },
    { type: "section", text: mrkdwn(`${lead}\n${portal}`) },
    {
      type: "section",
      fields: [
        field("Device", deviceText),
        field("Triggering alert", alertText),
        field("Started", investigation.startTime ? slackDate(investigation.startTime) : "—"),
        waiting
          ? field(
              "Defender's timeout",
              `<!date^${Math.floor(deadline.getTime() / 1000)}^{date_short_pretty} {time} ({ago})|${deadline.toISOString().slice(0, 16).replace("T", " ")} UTC> — a week after it started, when Defender cancels what nobody approved`,
            )
          : field("Ended", investigation.endTime ? slackDate(investigation.endTime) : "—"),
      ],
    },
    ...(details.length > 0 ? [{ type: "section" as const, text: mrkdwn(details.join("\n")) }] : []),
    {
      type: "section",
      text: mrkdwn(
        [
          link(defenderPages.actionCenterPending, "Open the pending actions in the Defender Action center"),
          link(defenderPages.investigations, "Automated investigations"),
          ...(investigation.triggeringAlertId
            ? [link(defenderPages.alert(investigation.triggeringAlertId), "Triggering alert")]
            : []),
        ].join(" · "),
      ),
    },
    {
      type: "context",
      elements: [
        mrkdwn(
          `State in Defender: ${escapeInline(investigation.state, 60)} · first seen here ${slackDate(investigation.createdAt)}`,
        ),
      ],
    },
  ];
  const what = `automated investigation ${id} on ${escapeInline(device, 200)}`;
  const text = waiting
    ? `Waiting for approval in the Defender portal: ${what} (decide it in the Defender Action center)`
    : `Defender ${what} is now ${escapeInline(stateWords(investigation.state), 80)}`;
  return { text, blocks };
}
