// A Slack message as the store describes it: one action alone, an investigation's batch, or a
// threat's actions across devices.
import { defenderPortalLinks } from "../backend/defender/links.ts";
import type { Config } from "../config/env.ts";
import type { MessageAction } from "../db/queries/messages.ts";
import { actionMessage, type MessageOptions, type SlackMessage } from "./blocks/actionMessage.ts";
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
