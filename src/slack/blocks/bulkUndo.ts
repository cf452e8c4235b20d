// The undo confirmation: completed actions as checkboxes (Slack allows 10 per checkbox group, so
// one group per 10), grouped by action type, and for quarantined files "Apply to N more
// instances of this file". Its submission carries the choices; the result replaces it.
import type { InputBlock, KnownBlock, ModalView, Option, PlainTextOption } from "@slack/types";
import { z } from "zod";
import { ACTION_TYPE_INFO, ACTION_TYPES, describeEntity, SOURCE_LABELS } from "../../domain/actionTypes.ts";
import {
  BULK_UNDO_CALLBACK_ID,
  isUndoPickInputId,
  MORE_INSTANCES_INPUT_ID,
  undoPickInputId,
} from "../actionIds.ts";
import { LIMITS } from "../blockLimits.ts";
import { escapeInline, mrkdwn, plainInline, plainText } from "../text.ts";
import type { ActionView } from "./actionMessage.ts";

const MORE_INSTANCES_VALUE = "apply";
/** What fits in one modal: 10 checkbox groups of 10. */
export const MAX_UNDO_OPTIONS = 100;
/** The other instances whose ids fit in private_metadata (3,000 characters). */
export const MAX_MORE_INSTANCES = 150;

export type BulkUndoModalInput = {
  /** Completed, undoable actions, newest first; the first MAX_UNDO_OPTIONS are listed. */
  candidates: readonly ActionView[];
  /** Ids checked when the modal opens. */
  selected: ReadonlySet<number>;
  /** Completed quarantines of the candidates' files on other devices. */
  moreInstances: readonly ActionView[];
  /** Lines (mrkdwn, escaped) about what was asked for but is not listed. */
  notes: readonly string[];
  /** The private reply the modal was opened from, refreshed once the undo is recorded. */
  reply?: OriginReply;
};

/** A private reply's response_url and the value of the button clicked in it (handlers/privateReply.ts). */
export type OriginReply = {
  url: string;
  value: string;
  /** Its record (db/queries/privateReplies.ts), from the clicked block's id. */
  replyId?: number;
};

const utc = (date: Date | null) => (date ? `${date.toISOString().slice(0, 16).replace("T", " ")} UTC` : "");

function option(action: ActionView): PlainTextOption {
  const entity = describeEntity(action.type, action.entity);
  const where = action.deviceName ?? action.deviceId ?? "all devices";
  return {
    text: plainText(plainInline(`#${action.id} ${entity ? `${entity} on ` : ""}${where}`, LIMITS.optionText)),
    value: String(action.id),
    description: plainText(
      plainInline(
        `${SOURCE_LABELS[action.source]} · completed ${utc(action.completedAt)}`,
        LIMITS.optionText,
      ),
    ),
  };
}

/** "Quarantine file", or "Quarantine file (11–20 of 25)" when a type needs several groups. */
function groupLabel(type: ActionView["type"], from: number, to: number, of: number): string {
  const label = ACTION_TYPE_INFO[type].label;
  return of > 10 ? `${label} (${from}–${to} of ${of})` : label;
}

function pickGroups(candidates: readonly ActionView[], selected: ReadonlySet<number>): InputBlock[] {
  const groups: InputBlock[] = [];
  for (const type of ACTION_TYPES) {
    const ofType = candidates.filter((action) => action.type === type);
    for (let start = 0; start < ofType.length; start += 10) {
      const chunk = ofType.slice(start, start + 10);
      const options = chunk.map(option);
      const initial = options.filter((o) => selected.has(Number(o.value)));
      const id = undoPickInputId(groups.length);
      groups.push({
        type: "input",
        block_id: id,
        optional: true,
        label: plainText(groupLabel(type, start + 1, start + chunk.length, ofType.length)),
        element: {
          type: "checkboxes",
          action_id: id,
          options,
          ...(initial.length > 0 && { initial_options: initial }),
        },
      });
    }
  }
  return groups;
}

function moreInstancesBlocks(more: readonly ActionView[]): KnownBlock[] {
  if (more.length === 0) return [];
  const files = new Set(more.map((action) => action.entity.sha256)).size;
  const n = more.length;
  const devices = more.map((action) => action.deviceName ?? action.deviceId ?? "?");
  const listed = devices.slice(0, 20).map((name) => escapeInline(name, 60));
  const rest = devices.length > listed.length ? ` and ${devices.length - listed.length} more` : "";
  return [
    {
      type: "input",
      block_id: MORE_INSTANCES_INPUT_ID,
      optional: true,
      label: plainText("Other devices"),
      element: {
        type: "checkboxes",
        action_id: MORE_INSTANCES_INPUT_ID,
        options: [
          {
            text: plainText(
              `Apply to ${n} more instance${n === 1 ? "" : "s"} of ${files === 1 ? "this file" : "these files"}`,
            ),
            value: MORE_INSTANCES_VALUE,
            description: plainText("Restore it where it is still quarantined"),
          },
        ],
      },
    },
    { type: "context", elements: [mrkdwn(`Still quarantined on ${listed.join(", ")}${rest}.`)] },
  ];
}

export function bulkUndoModal(input: BulkUndoModalInput): ModalView {
  const candidates = input.candidates.slice(0, MAX_UNDO_OPTIONS);
  const more = input.moreInstances.slice(0, MAX_MORE_INSTANCES);
  const notes = [
    ...input.notes,
    ...(input.candidates.length > candidates.length
      ? [`Only the newest ${MAX_UNDO_OPTIONS} are listed: narrow the filters to reach older ones.`]
      : []),
  ];
  return {
    type: "modal",
    callback_id: BULK_UNDO_CALLBACK_ID,
    private_metadata: metadata(
      more.map((action) => action.id),
      input.reply,
    ),
    title: plainText("Undo actions"),
    submit: plainText("Undo"),
    close: plainText("Cancel"),
    blocks: [
      {
        type: "section",
        text: mrkdwn(
          "Select the completed actions to undo. One request undoes actions of *one action type*; each undo is kept in the action's audit trail.",
        ),
      },
      ...(notes.length > 0 ? [{ type: "context" as const, elements: [mrkdwn(notes.join("\n"))] }] : []),
      ...pickGroups(candidates, input.selected),
      ...moreInstancesBlocks(more),
    ],
  };
}

/** The block where a refusal of the submission is shown: the first checkbox group. */
export const FIRST_PICK_BLOCK_ID = undoPickInputId(0);

type StateValues = Record<string, Record<string, { selected_options?: Option[] | null }>>;

/** The checked action ids of a submission (as numbers; the store still decides what they are). */
export function selectedActionIds(values: StateValues): number[] {
  const ids = new Set<number>();
  for (const [blockId, actions] of Object.entries(values)) {
    if (!isUndoPickInputId(blockId)) continue;
    for (const state of Object.values(actions)) {
      for (const selected of state.selected_options ?? []) {
        const id = Number(selected.value);
        if (Number.isSafeInteger(id) && id > 0) ids.add(id);
      }
    }
  }
  return [...ids];
}

export function moreInstancesChosen(values: StateValues): boolean {
  const state = values[MORE_INSTANCES_INPUT_ID]?.[MORE_INSTANCES_INPUT_ID];
  return (state?.selected_options ?? []).some((selected) => selected.value === MORE_INSTANCES_VALUE);
}

/** An OriginReply as a modal's private_metadata keeps it. */
export const originReplySchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  value: z.string(),
  replyId: z.number().int().positive().optional(),
});

const metadataSchema = z.object({
  more: z.array(z.number().int().positive()).max(MAX_MORE_INSTANCES),
  reply: originReplySchema.optional(),
});

/** The modal's memory; the reply is left out where it would not fit in Slack's 3,000 characters. */
function metadata(more: number[], reply: OriginReply | undefined): string {
  const full = JSON.stringify({ more, ...(reply && { reply }) });
  return full.length <= LIMITS.privateMetadata ? full : JSON.stringify({ more });
}

function parseMetadata(privateMetadata: string): z.infer<typeof metadataSchema> | null {
  try {
    const parsed = metadataSchema.safeParse(JSON.parse(privateMetadata));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The other instances the modal offered, or null when the metadata is not ours. */
export function offeredInstances(privateMetadata: string): number[] | null {
  return parseMetadata(privateMetadata)?.more ?? null;
}

/** The private reply the modal was opened from, if any. */
export function originReply(privateMetadata: string): OriginReply | undefined {
  return parseMetadata(privateMetadata)?.reply;
}

export type BulkUndoResult = {
  requestId: string;
  typeLabel: string;
  undone: readonly ActionView[];
  /** Undos the person asked for that wait for another approver (the two-person rule). */
  waiting?: readonly ActionView[];
  /** Escaped mrkdwn lines of at most 150 characters: what was not undone and why. */
  skipped: readonly string[];
};

/** Replaces the confirmation once the request is recorded. */
export function bulkUndoResultView(result: BulkUndoResult): ModalView {
  const n = result.undone.length;
  const ids = result.undone.map((action) => `#${action.id}`);
  const summary =
    n > 0
      ? `:leftwards_arrow_with_hook: Undo requested for *${n}* ${escapeInline(result.typeLabel, 60)} action${n === 1 ? "" : "s"}: ${ids.slice(0, 100).join(", ")}${ids.length > 100 ? "…" : ""}. Each is in its audit trail under request \`${result.requestId}\`; the channel messages follow as the undos finish.`
      : "Nothing was undone.";
  const waiting = (result.waiting ?? []).map((action) => `#${action.id}`);
  const waitingLine =
    waiting.length > 0
      ? `:busts_in_silhouette: *Waiting for another approver* (two-person rule): your undo approval of ${waiting.slice(0, 100).join(", ")}${waiting.length > 100 ? "…" : ""} is recorded; each is undone once another approver asks for it too.`
      : null;
  const skipped = result.skipped.slice(0, 15);
  const more = result.skipped.length - skipped.length;
  return {
    type: "modal",
    title: plainText("Undo requested"),
    close: plainText("Done"),
    blocks: [
      { type: "section", text: mrkdwn(summary) },
      ...(waitingLine ? [{ type: "section" as const, text: mrkdwn(waitingLine) }] : []),
      ...(skipped.length > 0
        ? [
            {
              type: "section" as const,
              text: mrkdwn(`*Not undone*\n${skipped.join("\n")}${more > 0 ? `\n…and ${more} more` : ""}`),
            },
          ]
        : []),
    ],
  };
}
