// The answers of `/action-center`: a page of the pending or history listing with Previous/Next,
// one action with its audit trail, and the help. Pure, like every builder.
import type { ActionsBlock, Button, KnownBlock, SectionBlock } from "@slack/types";
import { z } from "zod";
import type { ActionEventRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, isUndoable, SOURCE_LABELS } from "../../domain/actionTypes.ts";
import {
  actionId,
  NEXT_PAGE_ACTION_ID,
  PREVIOUS_PAGE_ACTION_ID,
  UNDO_SEVERAL_ACTION_ID,
} from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { type CommandFilters, filtersText, type ListView, USAGE } from "../handlers/commands/parse.ts";
import { actorText, escapeInline, mrkdwn, plainInline, plainText, slackDate } from "../text.ts";
import {
  type ActionView,
  actionMessage,
  type MessageOptions,
  type SlackMessage,
  statusLine,
  target,
} from "./actionMessage.ts";
import { threadEventText } from "./modals.ts";

export const PAGE_SIZE = 10;
/** Events shown under `show`; older ones are counted, and the API has them all. */
export const MAX_SHOWN_EVENTS = 60;

/**
 * What a listing button carries: which listing and where its page starts. Only a position: the
 * click is answered by querying again, as the clicker, and undo is checked when it is confirmed.
 */
export type Listing = { view: ListView; filters: string; before?: number; after?: number };

const cursor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const listingSchema = z
  .object({
    view: z.enum(["pending", "history"]),
    filters: z.string().max(LIMITS.buttonValue),
    before: cursor.optional(),
    after: cursor.optional(),
  })
  .strict();

export function encodeListing(listing: Listing): string {
  return JSON.stringify(listing);
}

/** The listing a button value names, or null when it is not one of ours. */
export function decodeListing(value: string): Listing | null {
  try {
    const parsed = listingSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A private answer that is only text. */
export function plainAnswer(text: string): SlackMessage {
  return { text, blocks: [{ type: "section", text: mrkdwn(text) }] };
}

/** `message` with `note` (mrkdwn, escaped: the answer to a click in it) on top. */
export function withNote(message: SlackMessage, note: string): SlackMessage {
  return {
    text: `${note}\n${message.text}`,
    blocks: [{ type: "section", text: mrkdwn(note) }, ...message.blocks],
  };
}

export function helpMessage(): SlackMessage {
  return plainAnswer(USAGE);
}

/**
 * Opens the undo confirmation, which also offers a file's other instances. `reply` is what the
 * button's reply is refreshed from after a click (handlers/privateReply.ts): the listing's page,
 * or under `show` the action's id.
 */
function undoButton(action: ActionView, reply: string = String(action.id)): Button {
  const label = "Undo…";
  return {
    type: "button",
    action_id: actionId.confirmUndo(action.id),
    value: reply,
    text: plainText(label),
    accessibility_label: plainInline(
      `${label} ${ACTION_TYPE_INFO[action.type].label} ${target(action, plainInline)}`,
      LIMITS.accessibilityLabel,
    ),
  };
}

const canUndo = (action: ActionView) => action.status === "completed" && isUndoable(action.type);

/** One row: what, where, status, source, who decided and when; Undo when it can be undone. */
function row(action: ActionView, page: string): SectionBlock {
  const decided = action.decidedBy
    ? ` · decided by ${actorText(action.decidedBy)}${action.decidedAt ? ` ${slackDate(action.decidedAt)}` : ""}`
    : "";
  const text = [
    `*#${action.id} ${ACTION_TYPE_INFO[action.type].label}* ${target(action, escapeInline)}`,
    statusLine(action),
    `${SOURCE_LABELS[action.source]} · received ${slackDate(action.createdAt)}${decided}`,
  ].join("\n");
  return {
    type: "section",
    text: mrkdwn(text),
    ...(canUndo(action) && { accessory: undoButton(action, page) }),
  };
}

/** Whether some completed, undoable action could be among the listing's results. */
function mayHoldUndoable(view: ListView, filters: CommandFilters): boolean {
  return (
    view === "history" &&
    (filters.status === undefined || filters.status.includes("completed")) &&
    (filters.type === undefined || filters.type.some(isUndoable))
  );
}

export type HistoryMessageInput = {
  view: ListView;
  filters: CommandFilters;
  actions: readonly ActionView[];
  /** Cursors of the neighbouring pages, null where there is none. */
  newer: number | null;
  older: number | null;
};

export function historyMessage(input: HistoryMessageInput): SlackMessage {
  const { view, filters, actions } = input;
  const query = filtersText(filters);
  const title = view === "pending" ? "Pending actions" : "History";
  const shown = query ? ` · \`${escapeInline(query, 600)}\`` : "";
  const listing = (position: { before?: number; after?: number }) =>
    encodeListing({ view, filters: query, ...position });
  // This page again: what its buttons refresh their reply from. The first page is the newest;
  // another starts at its first row, as ids are listed newest first.
  const first = actions[0];
  const thisPage = listing(input.newer !== null && first ? { before: first.id + 1 } : {});
  const navigation: Button[] = [
    ...(input.newer !== null
      ? [
          {
            type: "button" as const,
            action_id: PREVIOUS_PAGE_ACTION_ID,
            text: plainText("Previous"),
            value: listing({ after: input.newer }),
          },
        ]
      : []),
    ...(input.older !== null
      ? [
          {
            type: "button" as const,
            action_id: NEXT_PAGE_ACTION_ID,
            text: plainText("Next"),
            value: listing({ before: input.older }),
          },
        ]
      : []),
    ...(mayHoldUndoable(view, filters) && actions.length > 0
      ? [
          {
            type: "button" as const,
            action_id: UNDO_SEVERAL_ACTION_ID,
            text: plainText("Undo several…"),
            value: thisPage,
          },
        ]
      : []),
  ];
  const empty = view === "pending" ? "Nothing is waiting for approval" : "No actions";
  const blocks: KnownBlock[] = [
    { type: "section", text: mrkdwn(`*${title}*${shown}`) },
    ...(actions.length === 0
      ? [{ type: "section" as const, text: mrkdwn(`${empty}${query ? " with these filters" : ""}.`) }]
      : actions.map((action) => row(action, thisPage))),
    ...(navigation.length > 0
      ? [{ type: "actions" as const, elements: navigation } satisfies ActionsBlock]
      : []),
  ];
  const range = actions.length > 0 ? `: #${actions[0]!.id} to #${actions.at(-1)!.id}` : ": none";
  return { text: `${title}${range}`, blocks };
}

/** `show`: the action as its channel message shows it, then its audit trail, oldest first. */
export function actionDetailMessage(
  action: ActionView,
  events: readonly Pick<ActionEventRow, "kind" | "actor" | "at" | "detail">[],
  options: MessageOptions,
): SlackMessage {
  const message = actionMessage(action, options);
  // Here Undo opens the confirmation, which can also restore a file's other instances.
  const undoId = actionId.undo(action.id);
  const blocks = message.blocks.map((block) =>
    block.type === "actions"
      ? {
          ...block,
          elements: block.elements.map((element) =>
            "action_id" in element && element.action_id === undoId ? undoButton(action) : element,
          ),
        }
      : block,
  );
  const shown = events.slice(-MAX_SHOWN_EVENTS);
  const lines = [
    ...(events.length > shown.length ? [`_${events.length - shown.length} earlier events not shown_`] : []),
    ...shown.map(threadEventText),
  ];
  return {
    text: `#${action.id}: ${message.text}`,
    blocks: [
      { type: "context", elements: [mrkdwn(`Action #${action.id}`)] },
      ...blocks,
      ...sections(`*Audit trail*\n${lines.join("\n") || "No events."}`),
    ],
  };
}

/** Text cut at line breaks into sections of at most Slack's 3,000 characters each. */
function sections(text: string): SectionBlock[] {
  const chunks: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    if (current && current.length + 1 + line.length > LIMITS.sectionText) {
      chunks.push(current);
      current = "";
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) chunks.push(current);
  return chunks.map((chunk) => ({ type: "section", text: mrkdwn(chunk) }));
}
