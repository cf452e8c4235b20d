// The builders of the history surfaces: listing pages, `show`, the undo confirmation and the
// App Home, each checked against Slack's limits and for what untrusted text can do.
import { describe, expect, it } from "vitest";
import { ACTION_TYPES, isUndoable } from "../../src/domain/actionTypes.ts";
import {
  BULK_UNDO_CALLBACK_ID,
  buttonRoutes,
  MORE_INSTANCES_INPUT_ID,
  NEXT_PAGE_ACTION_ID,
  PREVIOUS_PAGE_ACTION_ID,
  UNDO_SEVERAL_ACTION_ID,
} from "../../src/slack/actionIds.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import type { ActionView } from "../../src/slack/blocks/actionMessage.ts";
import {
  bulkUndoModal,
  bulkUndoResultView,
  MAX_UNDO_OPTIONS,
  moreInstancesChosen,
  offeredInstances,
  selectedActionIds,
} from "../../src/slack/blocks/bulkUndo.ts";
import {
  actionDetailMessage,
  decodeListing,
  encodeListing,
  historyMessage,
} from "../../src/slack/blocks/history.ts";
import { homeView } from "../../src/slack/blocks/home.ts";
import { APPROVER, buttons, makeAction, mrkdwnTexts, PUBLIC_URL, walk } from "./blockFixtures.ts";

const HOSTILE = "<!channel> *bold* <@U999> <https://evil.example|x>";
const rows = (n: number, overrides: Partial<ActionView> = {}) =>
  Array.from({ length: n }, (_, i) =>
    makeAction("quarantine_file", "completed", { id: 100 - i, ...overrides }),
  );

/** Only mrkdwn (and a message's notification text) is parsed; plain_text and button values are not. */
function noMarkupFrom(value: { text?: string; blocks?: unknown }) {
  const parsed = [...mrkdwnTexts(value.blocks), ...(value.text === undefined ? [] : [value.text])];
  expect(parsed.length).toBeGreaterThan(0);
  for (const text of parsed) expect(text).not.toMatch(/<!channel>|<@U999>|<https:\/\/evil|\*bold\*/);
}

describe("historyMessage", () => {
  it("shows a row per action with Undo on completed, undoable ones, and the page buttons", () => {
    const actions = [
      makeAction("quarantine_file", "completed", { id: 30 }),
      makeAction("stop_process", "completed", { id: 29 }),
      makeAction("stop_service", "rejected", { id: 28 }),
      makeAction("isolate_device", "undone", { id: 27 }),
    ];
    const message = historyMessage({ view: "history", filters: {}, actions, newer: 31, older: 27 });
    expect(validateMessage(message)).toEqual([]);
    const ids = buttons(message.blocks).map((b) => b.action_id);
    expect(ids).toEqual([
      "confirm_undo:30",
      PREVIOUS_PAGE_ACTION_ID,
      NEXT_PAGE_ACTION_ID,
      UNDO_SEVERAL_ACTION_ID,
    ]);
    const text = mrkdwnTexts(message.blocks).join("\n");
    expect(text).toContain("#30 Quarantine file");
    expect(text).toContain("LAPTOP-7");
    expect(text).toContain("Automated investigation");
    expect(text).toContain(`decided by <@${APPROVER}>`);
    expect(text).toMatch(/Rejected by/);
  });

  it("puts only a position and the filters in the page buttons", () => {
    const message = historyMessage({
      view: "history",
      filters: { type: ["quarantine_file"] },
      actions: rows(10),
      newer: null,
      older: 91,
    });
    const next = buttons(message.blocks).find((b) => b.action_id === NEXT_PAGE_ACTION_ID)!;
    expect(decodeListing(String(next.value))).toEqual({
      view: "history",
      filters: "type:quarantine_file",
      before: 91,
    });
    expect(buttons(message.blocks).map((b) => b.action_id)).not.toContain(PREVIOUS_PAGE_ACTION_ID);
  });

  it("offers Undo several… only where completed undoable actions can be listed", () => {
    const ids = (filters: Parameters<typeof historyMessage>[0]["filters"], view: "history" | "pending") =>
      buttons(historyMessage({ view, filters, actions: rows(1), newer: null, older: null }).blocks).map(
        (b) => b.action_id,
      );
    expect(ids({}, "history")).toContain(UNDO_SEVERAL_ACTION_ID);
    expect(ids({ status: ["rejected"] }, "history")).not.toContain(UNDO_SEVERAL_ACTION_ID);
    expect(ids({ type: ["stop_process"] }, "history")).not.toContain(UNDO_SEVERAL_ACTION_ID);
    expect(ids({}, "pending")).not.toContain(UNDO_SEVERAL_ACTION_ID);
  });

  it("says so when nothing matches", () => {
    const message = historyMessage({ view: "pending", filters: {}, actions: [], newer: null, older: null });
    expect(validateMessage(message)).toEqual([]);
    expect(mrkdwnTexts(message.blocks).join()).toContain("Nothing is waiting for approval");
  });

  it("stays within limits and inert with hostile device names, entities and filters", () => {
    const actions = rows(10, {
      deviceName: `${HOSTILE}${"x".repeat(3000)}`,
      entity: { sha256: "a".repeat(64), path: `C:\\${HOSTILE}.exe` },
      decidedBy: "U0APPROVER1",
    });
    const message = historyMessage({
      view: "history",
      filters: { device: HOSTILE.replaceAll(" ", ""), investigation: "x".repeat(200) },
      actions,
      newer: 1,
      older: 2,
    });
    expect(validateMessage(message)).toEqual([]);
    noMarkupFrom(message);
  });
});

describe("decodeListing", () => {
  it.each([
    "",
    "{",
    "[]",
    '{"view":"all","filters":""}',
    '{"view":"history","filters":"","before":-1}',
    '{"view":"history","filters":"","admin":true}',
  ])("refuses %j", (value) => {
    expect(decodeListing(value)).toBeNull();
  });

  it("round-trips", () => {
    const listing = { view: "pending" as const, filters: "source:manual", after: 12 };
    expect(decodeListing(encodeListing(listing))).toEqual(listing);
  });
});

describe("actionDetailMessage", () => {
  it("is the action message plus its audit trail; Undo opens the confirmation", () => {
    const action = makeAction("quarantine_file", "completed", { id: 42 });
    const events = [
      { kind: "received", actor: "api", at: new Date("2024-05-01T03:00:00Z"), detail: {} },
      { kind: "approve", actor: APPROVER, at: new Date("2024-05-01T03:05:00Z"), detail: {} },
      { kind: "complete", actor: "system", at: new Date("2024-05-01T03:06:00Z"), detail: {} },
    ];
    const message = actionDetailMessage(action, events, { publicUrl: PUBLIC_URL });
    expect(validateMessage(message)).toEqual([]);
    const ids = buttons(message.blocks).map((b) => b.action_id);
    expect(ids).toContain("confirm_undo:42");
    expect(ids).not.toContain("undo:42");
    expect(buttonRoutes.confirmUndo.parse("confirm_undo:42")).toEqual({ kind: "confirm_undo", actionId: 42 });
    const trail = mrkdwnTexts(message.blocks).join("\n");
    expect(trail).toMatch(
      /\*Audit trail\*\n\*Received\* by api[^\n]*\n\*Approved\* by <@U123ABC>[^\n]*\n\*Completed\* by system/,
    );
  });

  it("keeps a long trail within 50 blocks, saying how much is left out", () => {
    const events = Array.from({ length: 500 }, (_, i) => ({
      kind: "decision_refused",
      actor: "U0BYSTANDER",
      at: new Date(1_700_000_000_000 + i * 1000),
      detail: { reason: `${HOSTILE} ${"y".repeat(600)}` },
    }));
    const message = actionDetailMessage(makeAction("stop_service", "completed"), events, {
      publicUrl: PUBLIC_URL,
    });
    expect(validateMessage(message)).toEqual([]);
    expect(mrkdwnTexts(message.blocks).join()).toContain("440 earlier events not shown");
    noMarkupFrom(message);
  });
});

describe("bulkUndoModal", () => {
  it("lists 25 actions in checkbox groups of at most 10, all checked", () => {
    const candidates = rows(25);
    const view = bulkUndoModal({
      candidates,
      selected: new Set(candidates.map((a) => a.id)),
      moreInstances: [],
      notes: [],
    });
    expect(validateView(view)).toEqual([]);
    expect(view.callback_id).toBe(BULK_UNDO_CALLBACK_ID);
    const groups = [...walk(view.blocks)].filter((node) => node.type === "checkboxes");
    expect(groups.map((g) => (g.options as unknown[]).length)).toEqual([10, 10, 5]);
    expect(groups.flatMap((g) => (g.initial_options as { value: string }[]).map((o) => o.value))).toEqual(
      candidates.map((a) => String(a.id)),
    );
    expect(JSON.stringify(view)).not.toContain(MORE_INSTANCES_INPUT_ID);
  });

  it("groups mixed types, lists at most 100, and says the rest are left out", () => {
    const undoable = ACTION_TYPES.filter(isUndoable);
    const candidates = Array.from({ length: 130 }, (_, i) =>
      makeAction(undoable[i % undoable.length]!, "completed", { id: 1000 - i }),
    );
    const view = bulkUndoModal({ candidates, selected: new Set(), moreInstances: [], notes: [] });
    expect(validateView(view)).toEqual([]);
    const options = [...walk(view.blocks)]
      .filter((node) => node.type === "checkboxes")
      .flatMap((g) => g.options as unknown[]);
    expect(options).toHaveLength(MAX_UNDO_OPTIONS);
    expect(JSON.stringify(view)).toContain("Only the newest 100 are listed");
  });

  it("offers the other instances of a quarantined file, naming their devices", () => {
    const more = [2, 3, 4, 5].map((n) =>
      makeAction("quarantine_file", "completed", {
        id: 200 + n,
        deviceName: `LAPTOP-${n}`,
        deviceId: `dev-${n}`,
      }),
    );
    const view = bulkUndoModal({
      candidates: rows(1),
      selected: new Set([100]),
      moreInstances: more,
      notes: [],
    });
    expect(validateView(view)).toEqual([]);
    expect(JSON.stringify(view)).toContain("Apply to 4 more instances of this file");
    expect(mrkdwnTexts(view.blocks).join()).toContain("LAPTOP-2, LAPTOP-3, LAPTOP-4, LAPTOP-5");
    expect(offeredInstances(view.private_metadata!)).toEqual([202, 203, 204, 205]);
  });

  it("stays inert with hostile names", () => {
    const candidates = rows(3, { deviceName: HOSTILE, entity: { sha256: "b".repeat(64), path: HOSTILE } });
    const view = bulkUndoModal({
      candidates,
      selected: new Set(),
      moreInstances: rows(1, { id: 7, deviceName: HOSTILE }),
      notes: [],
    });
    expect(validateView(view)).toEqual([]);
    noMarkupFrom(view);
  });
});

describe("reading a submission", () => {
  it("collects checked ids from every group and the other-instances choice", () => {
    const values = {
      undo_pick_0: {
        undo_pick_0: { type: "checkboxes", selected_options: [{ value: "5" }, { value: "6" }] },
      },
      undo_pick_1: {
        undo_pick_1: { type: "checkboxes", selected_options: [{ value: "7" }, { value: "x" }] },
      },
      undo_more: { undo_more: { type: "checkboxes", selected_options: [{ value: "apply" }] } },
      other: { other: { type: "checkboxes", selected_options: [{ value: "8" }] } },
    };
    expect(selectedActionIds(values as never).sort()).toEqual([5, 6, 7]);
    expect(moreInstancesChosen(values as never)).toBe(true);
    expect(moreInstancesChosen({})).toBe(false);
  });

  it.each(["", "nope", '{"more":"all"}', '{"more":[-1]}'])("refuses metadata %j", (metadata) => {
    expect(offeredInstances(metadata)).toBeNull();
  });
});

describe("bulkUndoResultView", () => {
  it("says what was undone under which request, and what was not", () => {
    const view = bulkUndoResultView({
      requestId: "0b8f",
      typeLabel: "Quarantine file",
      undone: rows(3),
      skipped: ["• #7 — cannot request undo an action that is undone"],
    });
    expect(validateView(view)).toEqual([]);
    const text = mrkdwnTexts(view.blocks).join("\n");
    expect(text).toContain("Undo requested for *3* Quarantine file actions: #100, #99, #98");
    expect(text).toContain("`0b8f`");
    expect(text).toContain("#7");
  });
});

describe("homeView", () => {
  const now = new Date("2024-05-01T05:00:00Z");
  const oldest = makeAction("isolate_device", "pending", {
    id: 9,
    createdAt: new Date("2024-05-01T03:00:00Z"),
  });

  it("shows an approver every pending action with the oldest, and their decisions", () => {
    const view = homeView({
      isApprover: true,
      approvers: "<@U123ABC>",
      pending: { count: 12, oldest },
      decisions: rows(3),
      now,
    });
    expect(validateView(view)).toEqual([]);
    const text = mrkdwnTexts(view.blocks).join("\n");
    expect(text).toContain("*Waiting for your approval:* 12 actions");
    expect(text).toContain("#9 Isolate device");
    expect(text).toContain("2 h ago");
    expect(text).toContain("#100 Quarantine file");
    expect(text).toContain("/action-center history");
  });

  it("tells someone who is not an approver that nothing waits for them", () => {
    const view = homeView({
      isApprover: false,
      approvers: "<@U123ABC>",
      pending: { count: 12, oldest },
      decisions: [],
      now,
    });
    expect(validateView(view)).toEqual([]);
    const text = mrkdwnTexts(view.blocks).join("\n");
    expect(text).toContain(
      "*Waiting for your approval:* 0 — you are not an approver (12 actions wait for approvers)",
    );
    expect(text).toContain("You have not approved or rejected any action yet.");
  });
});
