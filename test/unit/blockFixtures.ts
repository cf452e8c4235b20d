// Action views and walkers over built Block Kit JSON, shared by the message and modal tests.
import { gunzipSync } from "node:zlib";
import type { Entity } from "../../src/domain/actionTypes.ts";
import { ACTION_TYPE_INFO, type ActionType } from "../../src/domain/actionTypes.ts";
import type { Status } from "../../src/domain/status.ts";
import { buttonRoutes } from "../../src/slack/actionIds.ts";
import type { ActionView } from "../../src/slack/blocks/actionMessage.ts";
import type { AlertNote } from "../../src/slack/blocks/defenderAlert.ts";
import type { InvestigationNoticeInput } from "../../src/slack/blocks/defenderInvestigation.ts";
import { ENTITY_FOR } from "../support/fixtures.ts";

export const APPROVER = "U123ABC";
export const PUBLIC_URL = "https://ac.example.com";

const DECIDED: readonly Status[] = ["approved", "running", "completed", "failed", "rejected"];
const DONE: readonly Status[] = ["completed", "undo_requested", "undoing", "undone", "undo_failed"];

/** A realistic action in `status`, with what that status implies (decider, times, error). */
export function makeAction(
  type: ActionType,
  status: Status,
  overrides: Partial<ActionView> = {},
): ActionView {
  const onDevice = ACTION_TYPE_INFO[type].needsDevice;
  const decided = DECIDED.includes(status) || DONE.includes(status);
  return {
    id: 42,
    type,
    status,
    source: "automated_investigation",
    deviceName: onDevice ? "LAPTOP-7" : null,
    deviceId: onDevice ? "dev-7" : null,
    entity: ENTITY_FOR[type](7) as Entity,
    investigationId: "inv-42",
    incidentId: "inc-7",
    requestedBy: null,
    comment: null,
    createdAt: new Date("2024-05-01T03:00:00Z"),
    expiresAt: status === "pending" ? new Date("2024-05-02T03:00:00Z") : null,
    decidedBy: decided ? APPROVER : null,
    decidedAt: decided ? new Date("2024-05-01T03:05:00Z") : null,
    decisionComment: status === "rejected" ? "false positive, a pentest tool" : null,
    completedAt: DONE.includes(status) ? new Date("2024-05-01T03:06:00Z") : null,
    error: status === "failed" || status === "undo_failed" ? "device offline" : null,
    ...overrides,
  };
}

/** A Defender alert behind an action, as the connector stores it; open unless `fields` resolve it. */
export function alertNote(fields: Partial<AlertNote> = {}): AlertNote {
  return {
    id: "da637472900382838869_1364969609",
    title: "Suspicious 'Meterpreter' behavior was detected",
    severity: "High",
    status: "New",
    incidentId: "1126093",
    assignedTo: null,
    classification: null,
    determination: null,
    resolvedAt: null,
    ...fields,
  };
}

/** A Defender automated investigation waiting for approval in the portal, unless `fields` say otherwise. */
export function defenderInvestigation(
  fields: Partial<InvestigationNoticeInput["investigation"]> = {},
): InvestigationNoticeInput["investigation"] {
  return {
    id: "63017",
    state: "PendingApproval",
    statusDetails: null,
    machineId: "a69a22debe5f274d8765ea3c368d00762e057b30",
    computerDnsName: "desktop-gtrcon0",
    triggeringAlertId: "da637139166940871892_-598649278",
    startTime: new Date("2024-05-01T03:00:00Z"),
    endTime: null,
    cancelledBy: null,
    createdAt: new Date("2024-05-01T03:01:00Z"),
    ...fields,
  };
}

export const plain = (text: string) => ({ type: "plain_text" as const, text });
export const choice = (value: string, text: string) => ({ text: plain(text), value });

/** A modal with one input of every type the sandbox renders and submits. */
export const EVERY_INPUT_VIEW = {
  type: "modal" as const,
  callback_id: "sandbox_every_input",
  title: plain("Every input"),
  submit: plain("Send"),
  blocks: [
    {
      type: "input" as const,
      block_id: "text",
      label: plain("Text"),
      element: { type: "plain_text_input" as const, action_id: "t" },
    },
    {
      type: "input" as const,
      block_id: "boxes",
      optional: true,
      label: plain("Boxes"),
      element: {
        type: "checkboxes" as const,
        action_id: "b",
        options: [{ ...choice("1", "One"), description: plain("the first") }, choice("2", "Two")],
        initial_options: [choice("2", "Two")],
      },
    },
    {
      type: "input" as const,
      block_id: "radio",
      label: plain("Radio"),
      element: {
        type: "radio_buttons" as const,
        action_id: "r",
        options: [choice("a", "A"), choice("b", "B")],
      },
    },
    {
      type: "input" as const,
      block_id: "pick",
      label: plain("Pick"),
      element: {
        type: "static_select" as const,
        action_id: "s",
        options: [choice("x", "X"), choice("y", "Y")],
      },
    },
    {
      type: "input" as const,
      block_id: "many",
      label: plain("Many"),
      element: {
        type: "multi_static_select" as const,
        action_id: "m",
        option_groups: [{ label: plain("G"), options: [choice("p", "P"), choice("q", "Q")] }],
      },
    },
  ],
};

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null;

/** Every object in a JSON tree, depth first. */
export function* walk(value: unknown): Generator<Json> {
  if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else if (isRecord(value)) {
    yield value;
    for (const child of Object.values(value)) yield* walk(child);
  }
}

export function buttons(blocks: unknown): Json[] {
  return [...walk(blocks)].filter((node) => node.type === "button");
}

/** The strings Slack parses as mrkdwn: every mrkdwn text object. */
export function mrkdwnTexts(blocks: unknown): string[] {
  return [...walk(blocks)].filter((node) => node.type === "mrkdwn").map((node) => String(node.text));
}

/** A button's kind (`approve`, `go_hunt`, …), read back as its listener reads it. */
export function kindOf(actionId: string): string | undefined {
  return Object.values(buttonRoutes)
    .map((route) => route.parse(actionId)?.kind)
    .find((kind) => kind !== undefined);
}

/** The query an advanced hunting link opens: UTF-16LE, gzipped, in base64url (hunting/kql.ts). */
export function queryOfHuntingUrl(url: string): string | undefined {
  const encoded = new URL(url).searchParams.get("query");
  return encoded ? gunzipSync(Buffer.from(encoded, "base64url")).toString("utf16le") : undefined;
}
