// A Slack message as the store describes it: one action alone, an investigation's batch, or a
// threat's actions across devices.
import { defenderPortalLinks } from "../backend/defender/links.ts";
import type { Config } from "../config/env.ts";
import type { DbOrTx } from "../db/client.ts";
import { alertsOfActions, getAlert, investigationOfMessage } from "../db/queries/connector.ts";
import { otherInstanceCounts } from "../db/queries/history.ts";
import { type MessageAction, messageActions } from "../db/queries/messages.ts";
import type { SlackMessageRow } from "../db/schema.ts";
import { actionMessage, type MessageOptions, type SlackMessage } from "./blocks/actionMessage.ts";
import { withAlertNotes } from "./blocks/defenderAlert.ts";
import { investigationNotice } from "./blocks/defenderInvestigation.ts";
import { investigationMessage } from "./blocks/investigationMessage.ts";
import { threatMessage } from "./blocks/threatMessage.ts";

/** The metadata event type that marks our own messages, so a retried post can find its own. */
export const MESSAGE_EVENT_TYPE = "action_center_message";

export function renderMessage(
  message: { id: number; investigationId: string | null; threatKey?: string | null },
  rows: MessageAction[],
  options: MessageOptions,
): SlackMessage {
  if (message.threatKey && rows.length > 0)
    return threatMessage({ threatKey: message.threatKey, messageKey: message.id, actions: rows });
  if (rows.length === 1 || message.investigationId === null) return actionMessage(rows[0]!, options);
  return investigationMessage(
    { investigationId: message.investigationId, messageKey: message.id, actions: rows },
    options,
  );
}

/** Our links, and the Defender portal's pages when Defender runs the actions. */
export function messageOptions(config: Config): MessageOptions {
  return { publicUrl: config.publicUrl, ...(config.defender && { portalLinks: defenderPortalLinks }) };
}

/**
 * A stored message as it must look now, and the actions it shows (none for a Defender
 * investigation's notice). With Defender, an action message also names the alerts behind it.
 */
export async function renderStoredMessage(
  db: DbOrTx,
  message: Pick<SlackMessageRow, "id" | "investigationId" | "threatKey">,
  config: Config,
): Promise<{ rendered: SlackMessage; actions: MessageAction[] }> {
  const rows = await withOtherInstances(db, message, await messageActions(db, message.id));
  if (rows.length === 0) {
    const investigation = await investigationOfMessage(db, message.id);
    if (!investigation) throw new Error(`message ${message.id} shows nothing`);
    const alert = investigation.triggeringAlertId
      ? await getAlert(db, investigation.triggeringAlertId)
      : undefined;
    return {
      rendered: investigationNotice({ investigation, alertTitle: alert?.title ?? null }),
      actions: [],
    };
  }
  const rendered = renderMessage(message, rows, messageOptions(config));
  if (!config.defender) return { rendered, actions: rows };
  const alerts = await alertsOfActions(
    db,
    rows.map((row) => row.id),
  );
  return { rendered: withAlertNotes(rendered, alerts), actions: rows };
}

/**
 * A completed quarantine's other instances, for the Undo of an action or investigation message.
 * Not for a threat message: its own Undo opens the confirmation, which lists them.
 */
async function withOtherInstances(
  db: DbOrTx,
  message: Pick<SlackMessageRow, "threatKey">,
  rows: MessageAction[],
): Promise<MessageAction[]> {
  if (message.threatKey) return rows;
  const counts = await otherInstanceCounts(db, rows);
  if (counts.size === 0) return rows;
  return rows.map((row) => (counts.has(row.id) ? { ...row, otherInstances: counts.get(row.id)! } : row));
}
