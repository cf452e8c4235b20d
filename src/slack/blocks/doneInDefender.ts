// What was done in Defender without this app (recorded by the connector), as the Home tab lists
// it: what, where, who asked, how it ended, and how to undo it from Slack. Pure.
import type { KnownBlock } from "@slack/types";
import { ACTION_TYPE_INFO, isUndoable } from "../../domain/actionTypes.ts";
import { escapeInline, mrkdwn, plainText } from "../text.ts";
import { type ActionView, statusLine, target } from "./actionMessage.ts";

function line(action: ActionView): string {
  const by = action.requestedBy ? ` · by ${escapeInline(action.requestedBy, 200)}` : "";
  const undo =
    action.status === "completed" && isUndoable(action.type)
      ? ` · undo with \`/action-center undo ${action.id}\``
      : "";
  return `*#${action.id} ${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}${by}\n${statusLine(action)}${undo}`;
}

/** The Home tab's section for the newest actions taken in Defender; nothing when there are none. */
export function doneInDefenderBlocks(actions: readonly ActionView[]): KnownBlock[] {
  if (actions.length === 0) return [];
  return [
    { type: "divider" },
    { type: "header", text: plainText("Done in Defender lately") },
    ...actions.map((action): KnownBlock => ({ type: "section", text: mrkdwn(line(action)) })),
  ];
}
