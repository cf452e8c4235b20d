// The threat message and its Review / Reject all modals: within Slack's limits whatever the number
// of actions (the message stays the same size; Review pages past a modal's 100 blocks), with live
// counts and only the buttons that still apply. And the threat keys: what groups, what never does.
import { describe, expect, it } from "vitest";
import type { ACTION_TYPES, Entity } from "../../src/domain/actionTypes.ts";
import { STATUSES } from "../../src/domain/status.ts";
import { THREAT_KIND_NAMES, threatKeyOf, threatKindOf } from "../../src/domain/threats.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import type { ActionView } from "../../src/slack/blocks/actionMessage.ts";
import {
  pageCount,
  REVIEW_PAGE_SIZE,
  rejectAllModal,
  reviewModal,
  reviewState,
  threatHeading,
  threatMessage,
} from "../../src/slack/blocks/threatMessage.ts";
import { buttons, makeAction } from "./blockFixtures.ts";

const SHA = "ab".repeat(32);
const HOSTILE = "<!channel> *bold* `x` & <https://evil|click>";

function outbreak(
  count: number,
  status: (i: number) => ActionView["status"] = () => "pending",
): ActionView[] {
  return Array.from({ length: count }, (_, i) =>
    makeAction("quarantine_file", status(i), {
      id: i + 1,
      deviceId: `dev-${i}`,
      deviceName: `${HOSTILE}-${i}`.repeat(i === 0 ? 20 : 1),
      investigationId: `inv-${i % 7}`,
      entity: { sha256: SHA, path: `C:\\Users\\Public\\${HOSTILE.repeat(30)}.exe` },
    }),
  );
}

const input = (actions: ActionView[]) => ({ threatKey: `file:${SHA}`, messageKey: 7, actions });

describe("threatMessage", () => {
  for (const count of [1, 3, 50, 5_000]) {
    it(`stays within Slack's limits with ${count} actions`, () => {
      const message = threatMessage(input(outbreak(count, (i) => STATUSES[i % STATUSES.length]!)));
      expect(validateMessage(message)).toEqual([]);
      expect(message.blocks.length).toBeLessThanOrEqual(6);
    });
  }

  it("says what it is, how many devices and investigations, the first devices, and live counts", () => {
    const message = threatMessage(input(outbreak(120, (i) => (i < 100 ? "pending" : "completed"))));
    const json = JSON.stringify(message.blocks);
    expect(message.text).toContain("120 devices · 7 investigations · 120 actions");
    expect(message.text).toContain("100 waiting for approval");
    expect(json).toContain(SHA);
    expect(json).toContain("and 112 more");
    expect(json).toContain("100 pending approval, 20 completed");
    expect(json).not.toContain("<!channel>");
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([
      "approve_all:7",
      "reject_all:7",
      "review:7",
      "confirm_undo:101",
    ]);
  });

  it("offers no Approve all or Reject all once nothing waits", () => {
    const message = threatMessage(input(outbreak(4, () => "rejected")));
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual(["review:7"]);
    expect(message.text).toContain("4 rejected");
  });
});

describe("reviewModal", () => {
  const actions = outbreak(5_000, (i) => (i % 3 === 0 ? "completed" : "pending"));
  const heading = threatHeading(input(actions));

  it("pages every action within a modal's limits, each pending row with its own decisions", () => {
    expect(pageCount(actions.length)).toBe(Math.ceil(5_000 / REVIEW_PAGE_SIZE));
    for (const page of [1, 2, pageCount(actions.length)]) {
      const view = reviewModal({ heading, messageKey: 7, actions, page, notice: HOSTILE.repeat(200) });
      expect(validateView(view)).toEqual([]);
      expect(reviewState(view.private_metadata!)).toEqual({ messageKey: 7, page });
    }
    const first = reviewModal({ heading, messageKey: 7, actions, page: 1 });
    const json = JSON.stringify(first.blocks);
    expect(json).toContain("review_decide:2");
    expect(json).not.toContain('review_decide:1"'); // completed: nothing left to decide
    expect(json).toContain("review_page:2");
    expect(json).not.toContain("Previous");
  });

  it("shows the last page when asked past it, and refuses forged state", () => {
    const view = reviewModal({ heading, messageKey: 7, actions: actions.slice(0, 3), page: 99 });
    expect(reviewState(view.private_metadata!)).toEqual({ messageKey: 7, page: 1 });
    expect(reviewState("{")).toBeNull();
    expect(reviewState(JSON.stringify({ messageKey: -1, page: 1 }))).toBeNull();
  });

  it("asks Reject all for a reason, within a modal's limits", () => {
    const view = rejectAllModal({ heading, messageKey: 7, actions });
    expect(validateView(view)).toEqual([]);
    expect(view.private_metadata).toBe("7");
  });
});

describe("threatKeyOf", () => {
  const all = THREAT_KIND_NAMES;
  const key = (type: (typeof ACTION_TYPES)[number], entity: Entity) => threatKeyOf({ type, entity }, all);

  it("keys a file by its hash and a URL by itself", () => {
    expect(key("quarantine_file", { sha256: SHA.toUpperCase(), path: "C:\\a.exe" })).toBe(`file:${SHA}`);
    expect(key("quarantine_file", { sha256: SHA, path: "D:\\b.exe" })).toBe(`file:${SHA}`);
    expect(key("block_url", { url: "https://evil.example/x" })).toBe("url:https://evil.example/x");
  });

  it("keys Windows names and paths without case and with either slash", () => {
    expect(key("remove_registry_key", { key: "HKLM/Software/Run", valueName: "Upd" })).toBe(
      key("remove_registry_key", { key: "hklm\\software\\run", valueName: "upd" }),
    );
    expect(key("remove_registry_key", { key: "HKLM\\Run", valueName: "a" })).not.toBe(
      key("remove_registry_key", { key: "HKLM\\Run\\a" }),
    );
    expect(key("stop_service", { name: "EvilSvc" })).toBe("service:evilsvc");
    expect(key("disable_driver", { name: "Root.sys" })).toBe("driver:root.sys");
    expect(key("remove_scheduled_task", { path: "\\Microsoft\\Upd" })).toBe(
      "scheduled_task:\\microsoft\\upd",
    );
    expect(key("stop_process", { imagePath: "C:/Temp/Miner.exe", pid: 1 })).toBe(
      key("stop_process", { imagePath: "c:\\temp\\miner.exe", pid: 2 }),
    );
  });

  it("never groups what only concerns the device itself, nor a process known only by pid", () => {
    for (const type of [
      "isolate_device",
      "restrict_code_execution",
      "run_antivirus_scan",
      "collect_investigation_package",
    ] as const)
      expect(key(type, {})).toBeNull();
    expect(key("stop_process", { pid: 4242 })).toBeNull();
  });

  it("groups only the kinds the policy names, and reads the kind back", () => {
    expect(threatKeyOf({ type: "block_url", entity: { url: "https://x.example" } }, ["file"])).toBeNull();
    expect(threatKindOf(`file:${SHA}`)).toBe("file");
    expect(threatKindOf("investigation:x")).toBeNull();
  });
});
