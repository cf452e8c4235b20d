// The App Home tab: what waits for the viewer, what they decided lately, and the commands.
import type { HomeView, KnownBlock } from "@slack/types";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import { USAGE } from "../handlers/commands/parse.ts";
import { escapeInline, formatAge, mrkdwn, plainText, slackDate } from "../text.ts";
import { type ActionView, statusLine, target } from "./actionMessage.ts";
import { doneInDefenderBlocks } from "./doneInDefender.ts";

export type HomeInput = {
  isApprover: boolean;
  /** The `<@U…>` list of approvers, for someone who is not one. */
  approvers: string;
  pending: { count: number; oldest: ActionView | null };
  /** The viewer's newest decisions, newest first. */
  decisions: readonly ActionView[];
  /** The newest actions taken in Defender without this app (the connector's history), if any. */
  doneInDefender?: readonly ActionView[];
  now: Date;
};

const plural = (n: number, word: string) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;

function pendingText(input: HomeInput): string {
  const { count, oldest } = input.pending;
  if (!input.isApprover) {
    const waiting = count > 0 ? ` (${plural(count, "action")} wait for approvers)` : "";
    return `*Waiting for your approval:* 0 — you are not an approver${waiting}. Approvers: ${input.approvers}.`;
  }
  if (count === 0 || !oldest) return "*Waiting for your approval:* 0 — nothing is pending.";
  return [
    `*Waiting for your approval:* ${plural(count, "action")}`,
    `Oldest waiting: *#${oldest.id} ${ACTION_TYPE_INFO[oldest.type].label}* ${target(oldest, escapeInline)}, received ${slackDate(oldest.createdAt)} (${formatAge(oldest.createdAt, input.now)})`,
    "See them with `/action-center pending`.",
  ].join("\n");
}

function decisionLine(action: ActionView): string {
  return `*#${action.id} ${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}\n${statusLine(action)}`;
}

export function homeView(input: HomeInput): HomeView {
  const decisions: KnownBlock[] =
    input.decisions.length > 0
      ? input.decisions.map((action) => ({ type: "section", text: mrkdwn(decisionLine(action)) }))
      : [{ type: "section", text: mrkdwn("You have not approved or rejected any action yet.") }];
  return {
    type: "home",
    blocks: [
      { type: "header", text: plainText("Action center") },
      { type: "section", text: mrkdwn(pendingText(input)) },
      { type: "divider" },
      { type: "header", text: plainText("Your recent decisions") },
      ...decisions,
      ...doneInDefenderBlocks(input.doneInDefender ?? []),
      { type: "divider" },
      { type: "section", text: mrkdwn(USAGE) },
      { type: "context", elements: [mrkdwn(`Updated ${slackDate(input.now)}; reopen the tab to refresh.`)] },
    ],
  };
}

/** What the tab shows when the store cannot be read: the person still gets an answer. */
export function homeUnavailableView(): HomeView {
  return {
    type: "home",
    blocks: [
      { type: "header", text: plainText("Action center") },
      {
        type: "section",
        text: mrkdwn(":warning: The Action center cannot be read just now. Reopen this tab in a moment."),
      },
    ],
  };
}
