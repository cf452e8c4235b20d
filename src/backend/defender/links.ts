// Deep links into the Microsoft Defender portal for an action: the device's page, the file's page
// and advanced hunting, where the "Go hunt" query runs. Pure, for the Slack message builders.
import type { ActionRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";

const DEFENDER_PORTAL_URL = "https://security.microsoft.com";

export type DefenderPortalLinks = {
  /** The portal pages of what the action acts on, labelled for a link. */
  pages: { label: string; url: string }[];
  hunting: string;
};

export function defenderPortalLinks(
  action: Pick<ActionRow, "type" | "deviceId" | "entity">,
): DefenderPortalLinks {
  const pages: DefenderPortalLinks["pages"] = [];
  if (ACTION_TYPE_INFO[action.type].needsDevice && action.deviceId) {
    pages.push({
      label: "Device in Defender",
      url: defenderPages.device(action.deviceId),
    });
  }
  // The file page takes either hash; Defender's file actions are keyed by SHA-1.
  const hash = action.entity.sha1 ?? action.entity.sha256;
  if (action.type === "quarantine_file" && hash) {
    pages.push({ label: "File in Defender", url: `${DEFENDER_PORTAL_URL}/file/${encodeURIComponent(hash)}` });
  }
  return { pages, hunting: `${DEFENDER_PORTAL_URL}/v2/advanced-hunting` };
}

/** The portal pages of what the connector reads: an alert, an incident, the Action center's queue. */
export const defenderPages = {
  alert: (alertId: string) => `${DEFENDER_PORTAL_URL}/alerts/${encodeURIComponent(alertId)}`,
  incident: (incidentId: string) => `${DEFENDER_PORTAL_URL}/incidents/${encodeURIComponent(incidentId)}`,
  device: (machineId: string) => `${DEFENDER_PORTAL_URL}/machines/${encodeURIComponent(machineId)}`,
  /** Where pending remediation actions are approved; Microsoft documents no page per investigation. */
  actionCenterPending: `${DEFENDER_PORTAL_URL}/action-center/pending`,
  investigations: `${DEFENDER_PORTAL_URL}/airinvestigation`,
};
