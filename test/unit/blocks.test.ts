import { describe, expect, it } from "vitest";
import { ACTION_TYPE_INFO, ACTION_TYPES, type ActionType, isUndoable } from "../../src/domain/actionTypes.ts";
import { STATUSES, type Status } from "../../src/domain/status.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import { type ActionView, actionMessage } from "../../src/slack/blocks/actionMessage.ts";
import { investigationMessage } from "../../src/slack/blocks/investigationMessage.ts";
import { decisionModal, decisionOfModal } from "../../src/slack/blocks/modals.ts";
import { APPROVER, buttons, kindOf, makeAction, mrkdwnTexts, PUBLIC_URL } from "./blockFixtures.ts";

const options = { publicUrl: PUBLIC_URL };

function expectedVerbs(type: ActionType, status: Status): string[] {
  switch (status) {
    // Go hunt stays once the action is decided: after a decision it checks it.
    case "pending":
      return ["approve", "reject", "open_investigation", "go_hunt"];
    case "completed":
      return isUndoable(type) ? ["undo", "open_investigation", "go_hunt"] : ["open_investigation", "go_hunt"];
    case "failed":
      return ["retry", "open_investigation", "go_hunt"];
    case "undo_failed":
      return ["retry_undo", "open_investigation", "go_hunt"];
    default:
      return ["open_investigation", "go_hunt"];
  }
}

const verbsOf = (blocks: unknown) => buttons(blocks).map((button) => kindOf(String(button.action_id)));

describe("actionMessage", () => {
  for (const type of ACTION_TYPES) {
    for (const status of STATUSES) {
      it(`${type} / ${status}: valid, with the buttons of its status`, () => {
        const message = actionMessage(makeAction(type, status), options);
        expect(validateMessage(message)).toEqual([]);
        expect(verbsOf(message.blocks)).toEqual(expectedVerbs(type, status));
        for (const button of buttons(message.blocks)) {
          expect(button.action_id).toMatch(/:42$/);
          expect(button.value).toBe("42");
          expect(String((button.text as { text: string }).text).length).toBeLessThanOrEqual(20);
        }
        expect(message.text.length).toBeGreaterThan(0);
        expect(message.text).toContain(ACTION_TYPE_INFO[type].needsDevice ? "LAPTOP-7" : "all devices");
        expect(message.blocks[0]).toEqual({
          type: "header",
          text: { type: "plain_text", text: ACTION_TYPE_INFO[type].label },
        });
      });
    }
  }

  it("says who asked for an undo and when, and when it was done", () => {
    const at = new Date("2026-11-02T03:12:00Z");
    const doneAt = new Date("2026-11-02T03:13:00Z");
    const line = (status: Status, undoDone: Date | null) =>
      mrkdwnTexts(
        actionMessage(
          { ...makeAction("quarantine_file", status), undo: { by: "U0UNDOER01", at, doneAt: undoDone } },
          options,
        ).blocks,
      ).join("\n");
    const date = (d: Date) => `<!date^${Math.floor(d.getTime() / 1000)}^`;
    expect(line("undo_requested", null)).toContain(`Undo requested by <@U0UNDOER01> ${date(at)}`);
    expect(line("undone", doneAt)).toMatch(
      new RegExp(
        `Undone ${escapeRegExp(date(doneAt))}.*: Restore file ran · requested by <@U0UNDOER01> ${escapeRegExp(date(at))}`,
      ),
    );
    expect(line("undo_failed", null)).toContain(`· requested by <@U0UNDOER01> ${date(at)}`);
  });

  it("says on the lock screen what needs approval, where and from what", () => {
    expect(actionMessage(makeAction("quarantine_file", "pending"), options).text).toBe(
      "Approval needed: Quarantine file invoice-7.exe (sha256 a0000000…0007) on LAPTOP-7 (automated investigation inv-42)",
    );
    const manual = makeAction("isolate_device", "pending", {
      source: "manual",
      requestedBy: "alice@example.com",
    });
    expect(actionMessage(manual, options).text).toBe(
      "Approval needed: Isolate device on LAPTOP-7 (manual response by alice@example.com, investigation inv-42)",
    );
    expect(actionMessage(makeAction("isolate_device", "completed"), options).text).toBe(
      `Completed: Isolate device on LAPTOP-7 — approved by <@${APPROVER}>`,
    );
    expect(actionMessage(makeAction("block_url", "pending"), options).text).toContain(
      "Block URL https://evil7.example.com/payload for all devices",
    );
  });

  it("no decision button carries Slack's confirm, which every viewer would see, approver or not", () => {
    for (const status of STATUSES) {
      for (const type of ACTION_TYPES) {
        for (const button of buttons(actionMessage(makeAction(type, status), options).blocks)) {
          expect(button.confirm, `${type} ${status} ${button.action_id}`).toBeUndefined();
        }
      }
    }
    const [approve, reject] = buttons(actionMessage(makeAction("isolate_device", "pending"), options).blocks);
    expect(approve).toMatchObject({ action_id: "approve:42", style: "primary" });
    expect(reject).toMatchObject({ action_id: "reject:42", style: "danger" });
  });

  it("the confirmation modal asks Approve's question, naming the action and the device", () => {
    const modal = decisionModal(makeAction("isolate_device", "pending"), "approve", { channel: "C1" });
    expect(validateView(modal)).toEqual([]);
    expect(modal).toMatchObject({ submit: { text: "Approve" }, close: { text: "Cancel" } });
    expect(mrkdwnTexts(modal.blocks).join("\n")).toMatch(
      /\*Approve this action\?\*\nIsolate device on LAPTOP-7\. It runs as soon as you approve it\./,
    );
    const twoPerson = decisionModal(
      makeAction("isolate_device", "pending", { approvals: { needed: 2, by: [] } }),
      "approve",
      {},
    );
    expect(mrkdwnTexts(twoPerson.blocks).join("\n")).toContain("once 2 people have approved it");
    expect(decisionOfModal(modal.private_metadata)).toEqual({ id: 42, kind: "approve", channel: "C1" });
  });

  it("the confirmation modal asks Undo with the undo's own words", () => {
    const modal = decisionModal(makeAction("quarantine_file", "completed"), "undo", {});
    expect(validateView(modal)).toEqual([]);
    expect(modal.submit).toMatchObject({ text: "Undo" });
    expect(mrkdwnTexts(modal.blocks).join("\n")).toContain("Undo: Restore file on LAPTOP-7?");
  });

  it("keeps the private reply's response_url in the modal's memory while it fits in 3,000 characters", () => {
    const reply = { url: "https://hooks.slack.com/actions/T1/1/abc", value: "42" };
    const kept = decisionModal(makeAction("stop_service", "failed"), "retry", { channel: "C1", reply });
    expect(decisionOfModal(kept.private_metadata)).toMatchObject({ id: 42, kind: "retry", reply });
    const long = { url: `https://hooks.slack.com/${"x".repeat(3000)}`, value: "42" };
    const dropped = decisionModal(makeAction("stop_service", "failed"), "retry", {
      channel: "C1",
      reply: long,
    });
    expect(dropped.private_metadata.length).toBeLessThanOrEqual(3000);
    expect(decisionOfModal(dropped.private_metadata)).toEqual({ id: 42, kind: "retry", channel: "C1" });
    for (const forged of ["", "42", '{"id":0,"kind":"approve"}', '{"id":1,"kind":"reject"}', "{"]) {
      expect(decisionOfModal(forged)).toBeNull();
    }
  });

  it("opens the undo confirmation for a quarantine whose file is quarantined on other devices too", () => {
    const action = makeAction("quarantine_file", "completed", { otherInstances: 4 });
    const message = actionMessage(action, options);
    expect(validateMessage(message)).toEqual([]);
    const [undo] = buttons(message.blocks);
    expect(undo).toMatchObject({ action_id: "confirm_undo:42", text: { text: "Undo…" } });
    expect(undo?.accessibility_label).toContain("4 other instances");
    expect(undo?.confirm).toBeUndefined();
    // Other actions keep their one-tap Undo whatever the count says.
    const [lone] = buttons(actionMessage(makeAction("stop_service", "completed"), options).blocks);
    expect(lone).toMatchObject({ action_id: "undo:42" });
  });

  it("links Open investigation to our investigation page, or the action's page without one", () => {
    const url = (action: ActionView, publicUrl = PUBLIC_URL) =>
      buttons(actionMessage(action, { publicUrl }).blocks).find(
        (b) => b.action_id === "open_investigation:42",
      )?.url;
    expect(url(makeAction("isolate_device", "pending"))).toBe(`${PUBLIC_URL}/investigations/inv-42`);
    expect(
      url(makeAction("isolate_device", "pending", { investigationId: "inv 4/2?x" }), `${PUBLIC_URL}/`),
    ).toBe(`${PUBLIC_URL}/investigations/inv%204%2F2%3Fx`);
    expect(url(makeAction("isolate_device", "pending", { investigationId: null }))).toBe(
      `${PUBLIC_URL}/actions/42`,
    );
  });

  it("follows the status in its status line", () => {
    const line = (action: ActionView) => mrkdwnTexts(actionMessage(action, options).blocks).join("\n");
    expect(line(makeAction("stop_service", "pending"))).toContain("Waiting for approval");
    expect(line(makeAction("stop_service", "pending", { approvals: { needed: 2, by: ["U1"] } }))).toContain(
      "1 of 2 approvals: <@U1>",
    );
    expect(line(makeAction("stop_service", "approved"))).toMatch(/Approved by <@U123ABC> at <!date\^\d+\^/);
    expect(line(makeAction("stop_service", "completed"))).toMatch(/Completed <!date\^\d+\^/);
    expect(
      line(makeAction("isolate_device", "completed", { undoApprovals: { needed: 3, by: ["U1"] } })),
    ).toContain("undo waiting for 2 more approvers (1 of 3 undo approvals: <@U1>)");
    expect(line(makeAction("stop_service", "failed"))).toContain("Failed: device offline");
    expect(line(makeAction("stop_service", "rejected"))).toContain(
      "Rejected by <@U123ABC>: false positive, a pentest tool",
    );
    expect(line(makeAction("stop_service", "expired"))).toContain("Expired — not run");
    expect(line(makeAction("stop_service", "undo_failed"))).toContain("Undo failed: device offline");
    expect(line(makeAction("stop_service", "undone"))).toContain("Undone: Start service");
  });

  it("never lets user text mention, link, format or break a limit", () => {
    const hostile = "<!channel> <!here> <@U999> <https://evil.example|click> *bold* _it_ ~s~ `c` &amp;";
    for (const type of ACTION_TYPES) {
      for (const status of STATUSES) {
        const action = makeAction(type, status, {
          source: "manual",
          deviceName: `${hostile}${"D".repeat(3000)}`,
          deviceId: hostile,
          entity: {
            sha256: "a".repeat(64),
            path: hostile,
            key: hostile,
            name: hostile,
            url: hostile,
            imagePath: hostile,
          },
          investigationId: `${hostile}${"I".repeat(300)}`,
          incidentId: hostile,
          requestedBy: hostile,
          comment: `${hostile}${"C".repeat(10_000)}`,
          decisionComment: `${hostile}${"R".repeat(3000)}`,
          error: status === "failed" || status === "undo_failed" ? `${hostile}${"E".repeat(5000)}` : null,
          approvals: { needed: 2, by: [hostile] },
        });
        const message = actionMessage(action, options);
        expect(validateMessage(message)).toEqual([]);
        for (const text of [message.text, ...mrkdwnTexts(message.blocks)]) {
          // The only markup left is ours: the approver's mention and localised dates.
          for (const [markup] of text.matchAll(/<[^>]*>/g))
            expect(markup).toMatch(/^<(@U123ABC|!date\^\d+\^[^<]*)>$/);
          expect(text).not.toContain("*bold*");
          expect(text).not.toContain("&amp;amp;amp;");
        }
      }
    }
  });
});

describe("investigationMessage", () => {
  const group = (
    count: number,
    make: (i: number) => ActionView = () => makeAction("quarantine_file", "pending"),
  ) => Array.from({ length: count }, (_, i) => ({ ...make(i), id: i + 1, deviceName: `LAPTOP-${i % 9}` }));

  for (const count of [1, 10, 23, 24, 30, 200]) {
    it(`${count} actions: at most 50 blocks, group buttons once rows no longer fit`, () => {
      const message = investigationMessage(
        { investigationId: "inv-42", messageKey: 99, actions: group(count) },
        options,
      );
      expect(validateMessage(message)).toEqual([]);
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      const ids = buttons(message.blocks).map((button) => String(button.action_id));
      const perRow = ids.filter((id) => kindOf(id) === "approve");
      if (count <= 23) {
        expect(perRow).toHaveLength(count);
        expect(ids).not.toContain("approve_all:99");
      } else {
        expect(ids).toContain("approve_all:99");
        expect(ids).toContain("review:99");
        const approveAll = buttons(message.blocks).find((button) => button.action_id === "approve_all:99");
        expect(approveAll?.confirm).toBeUndefined();
      }
    });
  }

  it("titles and summarises the investigation for the lock screen", () => {
    const message = investigationMessage(
      { investigationId: "inv-42", messageKey: 1, actions: group(7) },
      options,
    );
    expect(message.blocks[0]).toMatchObject({
      type: "header",
      text: { text: "Investigation inv-42: 7 actions waiting" },
    });
    expect(message.text).toBe(
      "7 actions need approval in investigation inv-42 on LAPTOP-0, LAPTOP-1, LAPTOP-2 and 4 more",
    );
  });

  it("shows each action's current status and only the buttons that still apply", () => {
    const statuses: Status[] = ["pending", "completed", "rejected", "failed"];
    const actions = group(4, (i) => makeAction("quarantine_file", statuses[i] ?? "pending"));
    const message = investigationMessage({ investigationId: "inv-42", messageKey: 5, actions }, options);
    expect(message.blocks[0]).toMatchObject({
      text: { text: "Investigation inv-42: 1 of 4 actions waiting" },
    });
    const texts = mrkdwnTexts(message.blocks).join("\n");
    for (const words of ["Waiting for approval", "Completed", "Rejected by", "Failed: device offline"]) {
      expect(texts).toContain(words);
    }
    // Every row has Go hunt beside it, decided or not.
    expect(buttons(message.blocks).map((button) => button.action_id)).toEqual([
      "go_hunt:1",
      "approve:1",
      "reject:1",
      "go_hunt:2",
      "undo:2",
      "go_hunt:3",
      "go_hunt:4",
      "retry:4",
      "open_investigation:1",
    ]);
  });

  it("offers a quarantine's other instances from its row: its Undo opens the confirmation", () => {
    const actions = group(2, (i) =>
      makeAction("quarantine_file", "completed", i === 0 ? { otherInstances: 2 } : {}),
    );
    const message = investigationMessage({ investigationId: "inv-42", messageKey: 5, actions }, options);
    expect(validateMessage(message)).toEqual([]);
    expect(buttons(message.blocks).map((button) => button.action_id)).toEqual([
      "go_hunt:1",
      "confirm_undo:1",
      "go_hunt:2",
      "undo:2",
      "open_investigation:1",
    ]);
  });

  it("says what became of the actions once none waits", () => {
    const actions = group(3, () => makeAction("isolate_device", "completed"));
    const message = investigationMessage({ investigationId: "inv-42", messageKey: 5, actions }, options);
    expect(message.text).toBe("Investigation inv-42: 3 completed");
    expect(validateMessage(message)).toEqual([]);
  });

  it("stays valid with hostile ids and names", () => {
    const hostile = `<!channel> *x* ${"N".repeat(3000)}`;
    const actions = group(200).map((action) => ({ ...action, deviceName: hostile }));
    const message = investigationMessage({ investigationId: hostile, messageKey: 5, actions }, options);
    expect(validateMessage(message)).toEqual([]);
    expect(message.text).not.toContain("<!channel>");
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
