import { describe, expect, it } from "vitest";
import { ACTION_TYPES } from "../../src/domain/actionTypes.ts";
import { huntQuery } from "../../src/hunting/kql.ts";
import { validateView } from "../../src/slack/blockLimits.ts";
import { goHuntModal, noticeModal, rejectModal, threadEventText } from "../../src/slack/blocks/modals.ts";
import { buttons, makeAction, queryOfHuntingUrl, walk } from "./blockFixtures.ts";

describe("rejectModal", () => {
  it("asks for a required reason of up to 1,000 characters", () => {
    const view = rejectModal(makeAction("isolate_device", "pending"));
    expect(validateView(view)).toEqual([]);
    expect(view).toMatchObject({
      callback_id: "reject_action",
      private_metadata: "42",
      title: { text: "Reject action" },
      submit: { text: "Reject" },
    });
    const input = view.blocks.find((block) => block.type === "input");
    expect(input).toMatchObject({
      block_id: "reason",
      element: { type: "plain_text_input", action_id: "reason", multiline: true, max_length: 1000 },
    });
    expect(input).not.toHaveProperty("optional", true);
  });

  it("stays valid with a hostile device name", () => {
    const view = rejectModal(
      makeAction("isolate_device", "pending", { deviceName: `<!channel>${"x".repeat(3000)}` }),
    );
    expect(validateView(view)).toEqual([]);
    expect(JSON.stringify(view)).not.toContain("<!channel>");
  });
});

describe("noticeModal", () => {
  it("tells, with nothing to submit, within Slack's limits however long its words", () => {
    const view = noticeModal("Approve isolation of a device", "x".repeat(4000));
    expect(validateView(view)).toEqual([]);
    expect(view).not.toHaveProperty("submit");
    expect(view.title.text).toHaveLength(24);
    expect(view.close).toMatchObject({ text: "Close" });
  });
});

describe("goHuntModal", () => {
  it.each(ACTION_TYPES)("%s: a valid modal with the query and the advanced hunting link", (type) => {
    const action = makeAction(type, "pending");
    const view = goHuntModal(action);
    expect(validateView(view)).toEqual([]);
    const texts = [...walk(view.blocks)].filter((node) => node.type === "text").map((node) => node.text);
    expect(texts).toEqual([huntQuery(action)]);
    // The link opens advanced hunting with this query in the editor, over the last week.
    const url = String(buttons(view.blocks)[0]?.url);
    expect(url).toMatch(
      /^https:\/\/security\.microsoft\.com\/v2\/advanced-hunting\?query=[\w-]+&timeRangeId=week$/,
    );
    expect(queryOfHuntingUrl(url)).toBe(huntQuery(action));
  });
});

describe("threadEventText", () => {
  const at = new Date("2024-05-01T03:12:00Z");

  it("names the event, the person and the reason", () => {
    const text = threadEventText({
      kind: "reject",
      actor: "U123ABC",
      at,
      detail: { comment: "a *pentest* tool" },
    });
    expect(text).toMatch(
      /^\*Rejected\* by <@U123ABC> · <!date\^\d+\^.*> — a \u200B\*\u200Bpentest\u200B\*\u200B tool$/,
    );
  });

  it("shows the system's errors escaped, and the attempt after the first", () => {
    const text = threadEventText({
      kind: "fail",
      actor: "system",
      at,
      detail: { attempt: 2, error: "<!channel> down" },
    });
    expect(text).toContain("*Failed* by system");
    expect(text).toContain("attempt 2 · error: &lt;!channel&gt; down");
  });

  it("words unknown kinds from their name", () => {
    expect(threadEventText({ kind: "refused_approve", actor: "U1AB", at, detail: {} })).toMatch(
      /^\*refused approve\* by <@U1AB>/,
    );
  });
});
