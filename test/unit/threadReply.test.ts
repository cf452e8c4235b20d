// The thread's replies: every audit event a line, once, in order, no reply over Slack's limit.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateMessage } from "../../src/slack/blockLimits.ts";
import { threadEventText } from "../../src/slack/blocks/modals.ts";
import {
  THREAD_REPLY_MAX_CHARS,
  type ThreadEvent,
  threadedThrough,
  threadReplies,
  threadReplyMetadata,
} from "../../src/slack/blocks/threadReply.ts";

const AT = new Date("2026-11-30T03:12:00Z");

function event(id: number, kind: string, comment = "", actionId = 1): ThreadEvent {
  return { id, actionId, kind, actor: "U0APPROVER1", at: AT, detail: comment ? { comment } : {} };
}

describe("thread replies", () => {
  it("packs lines in order up to the limit exactly, and starts a new reply one character past it", () => {
    const base = threadEventText(event(1, "reject", "x")).length - 1;
    // Eight lines and the seven newlines between them: exactly the limit.
    const lengths = [487, 487, 487, 487, 487, 487, 487, THREAD_REPLY_MAX_CHARS - 7 - 7 * 487];
    const lines = (extra: number) =>
      lengths.map((length, i) => event(i + 1, "reject", "a".repeat(length - base + (i === 7 ? extra : 0))));
    const exact = threadReplies(lines(0), false);
    expect(exact).toHaveLength(1);
    expect(exact[0]!.text.length).toBe(THREAD_REPLY_MAX_CHARS);
    expect(exact[0]).toMatchObject({ throughEventId: 8, lines: 8 });
    const over = threadReplies(lines(1), false);
    expect(over.map((r) => [r.lines, r.throughEventId])).toEqual([
      [7, 7],
      [1, 8],
    ]);
  });

  it("cuts a single line longer than a reply instead of dropping it", () => {
    const [reply] = threadReplies([event(7, "reject", "y".repeat(300))], true, 200);
    expect(reply!.text.length).toBe(200);
    expect(reply!.text.startsWith("#1 ")).toBe(true);
    expect(reply!.text.endsWith("…")).toBe(true);
    expect(reply!.throughEventId).toBe(7);
  });

  it("leaves out the events the message itself says, and names each line's action on a grouped message", () => {
    const replies = threadReplies(
      [event(1, "received"), event(2, "approve", "", 4), event(3, "reminded"), event(4, "reject", "no", 5)],
      true,
    );
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text.split("\n").map((line) => line.split(" ")[0])).toEqual(["#4", "#5"]);
    expect(replies[0]!.throughEventId).toBe(4);
    expect(threadReplies([event(1, "received"), event(2, "reminded")], false)).toEqual([]);
  });

  it("holds every event once, in order, each reply within Slack's limits, as few replies as fit (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom("approve", "reject", "received", "completed", "failed", "decision_refused"),
            comment: fc.string({ maxLength: 700 }),
            actionId: fc.integer({ min: 1, max: 30 }),
          }),
          { maxLength: 400 },
        ),
        fc.boolean(),
        (specs, grouped) => {
          const events = specs.map((s, i) => event(i + 1, s.kind, s.comment, s.actionId));
          const replies = threadReplies(events, grouped);
          const expected = events
            .filter((e) => !["received"].includes(e.kind))
            .map((e) => (grouped ? `#${e.actionId} ` : "") + threadEventText(e));
          expect(replies.flatMap((r) => r.text.split("\n"))).toEqual(
            expected.flatMap((line) => line.split("\n")),
          );
          expect(replies.reduce((n, r) => n + r.lines, 0)).toBe(expected.length);
          for (const [i, reply] of replies.entries()) {
            expect(reply.text.length).toBeLessThanOrEqual(THREAD_REPLY_MAX_CHARS);
            expect(validateMessage({ text: reply.text })).toEqual([]);
            const next = replies[i + 1];
            // Greedy: the next reply's first line would not have fitted in this one.
            if (next)
              expect(reply.text.length + 1 + next.text.split("\n")[0]!.length).toBeGreaterThan(
                THREAD_REPLY_MAX_CHARS,
              );
            if (next) expect(next.throughEventId).toBeGreaterThan(reply.throughEventId);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reads back the cursor a reply's metadata carries, for its own message only", () => {
    const [reply] = threadReplies([event(42, "approve")], false);
    const metadata = threadReplyMetadata(9, reply!);
    expect(threadedThrough(9, metadata)).toBe(42);
    expect(threadedThrough(10, metadata)).toBeNull();
    expect(
      threadedThrough(9, { event_type: "action_center_message", event_payload: { messageId: 9 } }),
    ).toBeNull();
    expect(threadedThrough(9, undefined)).toBeNull();
  });
});
