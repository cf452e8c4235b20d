// The one source of our action_ids and callback_ids: each builder's output reaches its own
// listener and no other, reads back to what it was built from, and is the string that messages
// already posted in Slack carry.
import { describe, expect, it } from "vitest";
import {
  actionId,
  BULK_UNDO_CALLBACK_ID,
  buttonRoutes,
  MAX_ID_LENGTH,
  MORE_INSTANCES_INPUT_ID,
  NEXT_PAGE_ACTION_ID,
  OPEN_HUNTING_ACTION_ID,
  PREVIOUS_PAGE_ACTION_ID,
  REASON_INPUT_ID,
  REJECT_ALL_CALLBACK_ID,
  REJECT_CALLBACK_ID,
  UNDO_SEVERAL_ACTION_ID,
  undoPickInputId,
  viewRoutes,
} from "../../src/slack/actionIds.ts";

type Route = { matcher: string | RegExp; parse(value: string): object | null };
const matches = (route: Route, id: string) =>
  typeof route.matcher === "string" ? route.matcher === id : route.matcher.test(id);

/** The routes that take `id`, by name: those whose matcher Bolt would run and whose parser reads it. */
function takers(routes: Record<string, Route>, id: string) {
  const entries = Object.entries(routes);
  return {
    matched: entries.filter(([, route]) => matches(route, id)).map(([name]) => name),
    parsed: entries.filter(([, route]) => route.parse(id) !== null).map(([name]) => name),
  };
}

const NUMBERS = [1, 42, 123_456, Number.MAX_SAFE_INTEGER];

const NUMBERED: {
  build: (n: number) => string;
  route: keyof typeof buttonRoutes;
  kind: string;
  key: "actionId" | "messageKey" | "page";
  posted: string;
}[] = [
  { build: actionId.approve, route: "decision", kind: "approve", key: "actionId", posted: "approve:42" },
  { build: actionId.undo, route: "decision", kind: "undo", key: "actionId", posted: "undo:42" },
  { build: actionId.retry, route: "decision", kind: "retry", key: "actionId", posted: "retry:42" },
  {
    build: actionId.retryUndo,
    route: "decision",
    kind: "retry_undo",
    key: "actionId",
    posted: "retry_undo:42",
  },
  { build: actionId.reject, route: "reject", kind: "reject", key: "actionId", posted: "reject:42" },
  { build: actionId.goHunt, route: "goHunt", kind: "go_hunt", key: "actionId", posted: "go_hunt:42" },
  {
    build: actionId.openInvestigation,
    route: "openInvestigation",
    kind: "open_investigation",
    key: "actionId",
    posted: "open_investigation:42",
  },
  {
    build: actionId.confirmUndo,
    route: "confirmUndo",
    kind: "confirm_undo",
    key: "actionId",
    posted: "confirm_undo:42",
  },
  {
    build: actionId.approveAll,
    route: "group",
    kind: "approve_all",
    key: "messageKey",
    posted: "approve_all:42",
  },
  { build: actionId.review, route: "group", kind: "review", key: "messageKey", posted: "review:42" },
  {
    build: actionId.rejectAll,
    route: "rejectAll",
    kind: "reject_all",
    key: "messageKey",
    posted: "reject_all:42",
  },
  {
    build: actionId.reviewDecision,
    route: "reviewDecision",
    kind: "review_decide",
    key: "actionId",
    posted: "review_decide:42",
  },
  {
    build: actionId.reviewPage,
    route: "reviewPage",
    kind: "review_page",
    key: "page",
    posted: "review_page:42",
  },
];

const FIXED: { id: string; route: keyof typeof buttonRoutes; posted: string }[] = [
  { id: PREVIOUS_PAGE_ACTION_ID, route: "historyPage", posted: "history_previous" },
  { id: NEXT_PAGE_ACTION_ID, route: "historyPage", posted: "history_next" },
  { id: UNDO_SEVERAL_ACTION_ID, route: "undoSeveral", posted: "history_undo_several" },
  { id: OPEN_HUNTING_ACTION_ID, route: "openHunting", posted: "open_advanced_hunting" },
];

const CALLBACKS: { id: string; route: keyof typeof viewRoutes; posted: string }[] = [
  { id: REJECT_CALLBACK_ID, route: "reject", posted: "reject_action" },
  { id: BULK_UNDO_CALLBACK_ID, route: "bulkUndo", posted: "bulk_undo" },
  { id: REJECT_ALL_CALLBACK_ID, route: "rejectAll", posted: "reject_all" },
];

describe("action ids", () => {
  it("covers every button route with a builder or a fixed id", () => {
    const covered = new Set([...NUMBERED.map((b) => b.route), ...FIXED.map((f) => f.route)]);
    expect([...covered].sort()).toEqual(Object.keys(buttonRoutes).sort());
    expect(new Set(NUMBERED.map((b) => b.build))).toEqual(new Set(Object.values(actionId)));
  });

  for (const { build, route, kind, key, posted } of NUMBERED) {
    it(`${posted}: built as messages already carry it, taken by ${route} only, read back`, () => {
      expect(build(42)).toBe(posted);
      for (const n of NUMBERS) {
        const id = build(n);
        expect(id.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
        expect(takers(buttonRoutes, id)).toEqual({ matched: [route], parsed: [route] });
        expect(buttonRoutes[route].parse(id)).toEqual({ kind, [key]: n });
        expect(takers(viewRoutes, id)).toEqual({ matched: [], parsed: [] });
      }
    });
  }

  for (const { id, route, posted } of FIXED) {
    it(`${posted}: taken by ${route} only`, () => {
      expect(id).toBe(posted);
      expect(takers(buttonRoutes, id)).toEqual({ matched: [route], parsed: [route] });
      expect(buttonRoutes[route].parse(id)).toEqual({ kind: id });
      expect(takers(viewRoutes, id)).toEqual({ matched: [], parsed: [] });
    });
  }

  it("routes no input of a modal: their values come with the submission", () => {
    for (const id of [REASON_INPUT_ID, MORE_INSTANCES_INPUT_ID, undoPickInputId(0), undoPickInputId(9)]) {
      expect(takers(buttonRoutes, id)).toEqual({ matched: [], parsed: [] });
    }
    expect([REASON_INPUT_ID, MORE_INSTANCES_INPUT_ID, undoPickInputId(0)]).toEqual([
      "reason",
      "undo_more",
      "undo_pick_0",
    ]);
  });

  it.each([
    "approve",
    "approve:",
    "approve:0",
    "approve:01",
    "approve:-1",
    "approve:1.5",
    "approve:42:1",
    "approve:99999999999999999",
    "nuke:1",
    "APPROVE:1",
    "history_next ",
  ])("reads %s as no button of ours", (id) => {
    expect(takers(buttonRoutes, id).parsed).toEqual([]);
  });

  it("routes a malformed number to its listener, which acks it and does nothing", () => {
    expect(takers(buttonRoutes, "approve:0")).toEqual({ matched: ["decision"], parsed: [] });
    expect(takers(buttonRoutes, "review:007")).toEqual({ matched: ["group"], parsed: [] });
  });
});

describe("callback ids", () => {
  for (const { id, route, posted } of CALLBACKS) {
    it(`${posted}: taken by the ${route} submission only`, () => {
      expect(id).toBe(posted);
      expect(id.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
      expect(takers(viewRoutes, id)).toEqual({ matched: [route], parsed: [route] });
      expect(takers(buttonRoutes, id)).toEqual({ matched: [], parsed: [] });
    });
  }
});
