import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  actorText,
  escapeInline,
  escapeMrkdwn,
  formatAge,
  oneLine,
  slackDate,
  truncate,
} from "../../src/slack/text.ts";

/** What a reader sees: the escaped text with its entities decoded and its guards removed. */
const rendered = (text: string) =>
  text.replaceAll("\u200B", "").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

describe("escapeMrkdwn", () => {
  it("escapes Slack's control characters so mentions and links stay text", () => {
    expect(escapeMrkdwn("<!channel> <@U123> <https://x|y> a & b")).toBe(
      "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; a &amp; b",
    );
    expect(escapeMrkdwn("&lt;")).toBe("&amp;lt;");
  });

  it("guards formatting characters with zero-width spaces", () => {
    expect(escapeMrkdwn("*bold* _it_")).toBe("\u200B*\u200Bbold\u200B*\u200B \u200B_\u200Bit\u200B_\u200B");
    expect(escapeMrkdwn("LAPTOP-7")).toBe("LAPTOP-7");
  });

  it("never leaves a < or > and always shows the original text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const escaped = escapeMrkdwn(text);
        expect(escaped).not.toMatch(/[<>]/);
        expect(escaped).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(rendered(escaped)).toBe(text.replaceAll("\u200B", ""));
      }),
    );
  });
});

describe("escapeInline", () => {
  it("keeps to the limit once escaped, cutting between escaped characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.integer({ min: 1, max: 300 }), (text, max) => {
        const escaped = escapeInline(text, max);
        expect(escaped.length).toBeLessThanOrEqual(max);
        expect(escaped).not.toMatch(/[<>\n]/);
        expect(escaped).not.toMatch(/&(?!amp;|lt;|gt;)/);
      }),
    );
    expect(escapeInline("<<<<", 10)).toBe("&lt;&lt;…");
  });

  it("puts the text on one line and shows bidirectional overrides", () => {
    expect(oneLine("  a\n\tb\u0000c  ")).toBe("a b c");
    expect(oneLine("invoice\u202Eexe.pdf")).toBe("invoice\uFFFDexe.pdf");
  });
});

describe("truncate", () => {
  it("cuts with an ellipsis and never splits a surrogate pair", () => {
    expect(truncate("abcdef", 6)).toBe("abcdef");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("ab😀cd", 4)).toBe("ab…");
  });
});

describe("formatAge", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  const ago = (seconds: number) => formatAge(new Date(now.getTime() - seconds * 1000), now);
  it.each([
    [10, "just now"],
    [5 * 60, "5 min ago"],
    [3 * 3600 + 59, "3 h ago"],
    [2 * 86_400, "2 d ago"],
    [-5 * 60, "in 5 min"],
  ])("%i s → %s", (seconds, words) => expect(ago(seconds)).toBe(words));
});

describe("slackDate", () => {
  it("is localised by Slack with a UTC fallback", () => {
    const date = new Date("2024-05-01T03:12:45Z");
    expect(slackDate(date)).toBe(
      `<!date^${date.getTime() / 1000}^{date_short_pretty} {time}|2024-05-01 03:12 UTC>`,
    );
    expect(slackDate(date, "<soon>")).toMatch(/\|&lt;soon&gt;>$/);
  });
});

describe("actorText", () => {
  it("mentions Slack users only", () => {
    expect(actorText("U123ABC")).toBe("<@U123ABC>");
    expect(actorText("system")).toBe("system");
    expect(actorText("U1> <!channel")).toBe("U1&gt; &lt;!channel");
  });
});
