// The action status machine of the contract. Every status change in the program goes through
// `nextStatus`, so a refused transition is refused the same way everywhere.

import { type ActionType, isUndoable } from "./actionTypes.ts";
import { type Result, refuse } from "./result.ts";

export const STATUSES = [
  "pending",
  "approved",
  "running",
  "completed",
  "failed",
  "rejected",
  "expired",
  "undo_requested",
  "undoing",
  "undone",
  "undo_failed",
] as const;
export type Status = (typeof STATUSES)[number];

export const TRANSITIONS = {
  approve: { from: ["pending"], to: "approved" },
  reject: { from: ["pending"], to: "rejected" },
  expire: { from: ["pending"], to: "expired" },
  start: { from: ["approved"], to: "running" },
  complete: { from: ["running"], to: "completed" },
  fail: { from: ["running"], to: "failed" },
  retry: { from: ["failed"], to: "approved" },
  request_undo: { from: ["completed"], to: "undo_requested" },
  start_undo: { from: ["undo_requested"], to: "undoing" },
  finish_undo: { from: ["undoing"], to: "undone" },
  fail_undo: { from: ["undoing"], to: "undo_failed" },
  retry_undo: { from: ["undo_failed"], to: "undo_requested" },
} as const satisfies Record<string, { from: readonly Status[]; to: Status }>;
export type Transition = keyof typeof TRANSITIONS;
export const TRANSITION_NAMES = Object.keys(TRANSITIONS) as Transition[];

/** Transitions a person takes (the rest are the worker's or the clock's). */
export const DECISIONS = ["approve", "reject", "retry", "request_undo", "retry_undo"] as const;
export type Decision = (typeof DECISIONS)[number];

/** `cannot_undo`: the type has no undo; `not_now`: the status machine does not allow it from here. */
export type TransitionRefusal = "cannot_undo" | "not_now";
export type TransitionResult = Result<{ from: Status; to: Status }, TransitionRefusal>;

export function nextStatus(
  action: { status: Status; type: ActionType },
  transition: Transition,
): TransitionResult {
  const rule = TRANSITIONS[transition];
  if (transition === "request_undo" && !isUndoable(action.type)) {
    return refuse("cannot_undo", `${action.type} cannot be undone`);
  }
  if (!(rule.from as readonly Status[]).includes(action.status)) {
    return refuse(
      "not_now",
      `cannot ${transition.replace("_", " ")} an action that is ${describeStatus(action.status)}`,
    );
  }
  return { ok: true, from: action.status, to: rule.to };
}

/**
 * A pending action whose expiry time has come can only expire, whatever decision arrives: the
 * decision checks this under the row lock itself, so it does not depend on the expiry job running.
 */
export function isPastExpiry(action: { status: Status; expiresAt: Date | null }, now: Date): boolean {
  return action.status === "pending" && action.expiresAt !== null && action.expiresAt <= now;
}

const STATUS_WORDS: Record<Status, string> = {
  pending: "pending approval",
  approved: "approved",
  running: "running",
  completed: "completed",
  failed: "failed",
  rejected: "rejected",
  expired: "expired",
  undo_requested: "waiting to be undone",
  undoing: "being undone",
  undone: "undone",
  undo_failed: "failed to undo",
};

export function describeStatus(status: Status): string {
  return STATUS_WORDS[status];
}

export function isStatus(value: string): value is Status {
  return (STATUSES as readonly string[]).includes(value);
}
