// Action views and walkers over built Block Kit JSON, shared by the message and modal tests.
import { gunzipSync } from "node:zlib";
import type { Entity } from "../../src/domain/actionTypes.ts";
import { ACTION_TYPE_INFO, type ActionType } from "../../src/domain/actionTypes.ts";
import type { Status } from "../../src/domain/status.ts";
import { buttonRoutes } from "../../src/slack/actionIds.ts";
import type { ActionView } from "../../src/slack/blocks/actionMessage.ts";
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
