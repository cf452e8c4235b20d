// A private reply as sent and as its last refresh leaves it: tagged with its record so a click in
// it names the record, and, frozen, with nothing left that would act on what it showed.
import { describe, expect, it } from "vitest";
import { validateMessage } from "../../src/slack/blockLimits.ts";
import { actionDetailMessage, encodeListing, historyMessage } from "../../src/slack/blocks/history.ts";
import { commandFor, frozenReply, replyIdOf, taggedReply } from "../../src/slack/blocks/privateReply.ts";
import { buttons, makeAction, PUBLIC_URL, walk } from "./blockFixtures.ts";

const pending = makeAction("isolate_device", "pending", { id: 46 });
const detail = actionDetailMessage(pending, [], { publicUrl: PUBLIC_URL });
const listing = historyMessage({
  view: "history",
  filters: { type: ["quarantine_file"] },
  actions: [makeAction("quarantine_file", "completed", { id: 9 })],
  newer: 12,
  older: 3,
});

describe("taggedReply", () => {
  it("names the reply in every block's id, uniquely and within Slack's limits", () => {
    const tagged = taggedReply(detail, 123_456_789_012_345);
    const ids = tagged.blocks.map((block) => block.block_id);
    expect(new Set(ids).size).toBe(tagged.blocks.length);
    for (const id of ids) expect(replyIdOf(id)).toBe(123_456_789_012_345);
    expect(validateMessage(tagged)).toEqual([]);
  });

  it("reads no reply from a block id that is not a tag of ours", () => {
    for (const id of [undefined, "", "actions", "reply.x.1", "reply.12", "reply.1.2.3", "xreply.1.2"])
      expect(replyIdOf(id)).toBeUndefined();
  });
});

describe("frozenReply", () => {
  it("keeps what a `show` reply says, drops its buttons but the links, and says how to see it live", () => {
    const frozen = frozenReply(detail, "46");
    expect(buttons(detail).some((b) => b.url === undefined)).toBe(true);
    expect(buttons(frozen).filter((b) => b.url === undefined)).toEqual([]);
    expect(buttons(frozen).length).toBe(buttons(detail).filter((b) => b.url !== undefined).length);
    expect([...walk(frozen.blocks)].some((node) => node.type === "overflow")).toBe(false);
    expect(frozen.text).toBe(detail.text);
    expect(JSON.stringify(frozen.blocks.at(-1))).toContain("`/action-center show 46` shows the latest");
    expect(validateMessage(frozen)).toEqual([]);
  });

  it("drops a listing's page buttons and row accessories; names its own command", () => {
    const source = encodeListing({ view: "history", filters: "type:quarantine_file" });
    const frozen = frozenReply(listing, source);
    expect(buttons(listing).length).toBeGreaterThan(0);
    expect(buttons(frozen)).toEqual([]);
    expect(frozen.blocks.filter((block) => block.type === "actions")).toEqual([]);
    expect(commandFor(source)).toBe("/action-center history type:quarantine_file");
    expect(commandFor(encodeListing({ view: "pending", filters: "" }))).toBe("/action-center pending");
    expect(validateMessage(frozen)).toEqual([]);
  });
});
