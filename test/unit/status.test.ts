import { describe, expect, it } from "vitest";
import { ACTION_TYPES, isUndoable } from "../../src/domain/actionTypes.ts";
import { nextStatus, STATUSES, TRANSITION_NAMES, TRANSITIONS } from "../../src/domain/status.ts";

// The contract's status machine, written out independently of the implementation.
const ALLOWED: Record<string, [string, string]> = {
  approve: ["pending", "approved"],
  reject: ["pending", "rejected"],
  expire: ["pending", "expired"],
  start: ["approved", "running"],
  complete: ["running", "completed"],
  fail: ["running", "failed"],
  retry: ["failed", "approved"],
  request_undo: ["completed", "undo_requested"],
  start_undo: ["undo_requested", "undoing"],
  finish_undo: ["undoing", "undone"],
  fail_undo: ["undoing", "undo_failed"],
  retry_undo: ["undo_failed", "undo_requested"],
};

describe("status machine", () => {
  it("knows exactly the contract's transitions", () => {
    expect(new Set(TRANSITION_NAMES)).toEqual(new Set(Object.keys(ALLOWED)));
  });

  for (const transition of TRANSITION_NAMES) {
    for (const status of STATUSES) {
      const [from, to] = ALLOWED[transition]!;
      const allowed = status === from;
      it(`${transition} from ${status} is ${allowed ? "allowed" : "refused"}`, () => {
        const result = nextStatus({ status, type: "quarantine_file" }, transition);
        if (allowed) expect(result).toEqual({ ok: true, from, to });
        else {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.message).toMatch(/cannot/);
        }
      });
    }
  }

  it.each(ACTION_TYPES)("undo of a completed %s follows the undoable column", (type) => {
    const result = nextStatus({ status: "completed", type }, "request_undo");
    expect(result.ok).toBe(isUndoable(type));
    if (!result.ok) expect(result.message).toBe(`${type} cannot be undone`);
  });

  it("matches the contract's undoable column", () => {
    const undoable = ACTION_TYPES.filter(isUndoable);
    expect(undoable.sort()).toEqual(
      [
        "block_url",
        "disable_driver",
        "isolate_device",
        "quarantine_file",
        "remove_registry_key",
        "remove_scheduled_task",
        "restrict_code_execution",
        "stop_service",
      ].sort(),
    );
  });

  it("every transition's target is a status", () => {
    for (const rule of Object.values(TRANSITIONS)) expect(STATUSES).toContain(rule.to);
  });
});
