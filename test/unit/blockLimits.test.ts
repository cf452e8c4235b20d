import { describe, expect, it } from "vitest";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";

const plain = (text: string) => ({ type: "plain_text", text });
const mrkdwn = (text: string) => ({ type: "mrkdwn", text });
const x = (n: number) => "x".repeat(n);
const button = (extra: Record<string, unknown> = {}) => ({ type: "button", text: plain("Go"), ...extra });
const section = (extra: Record<string, unknown> = {}) => ({ type: "section", text: mrkdwn("hi"), ...extra });
const actions = (...elements: unknown[]) => ({ type: "actions", elements });
const confirm = (extra: Record<string, unknown> = {}) => ({
  title: plain("Sure?"),
  text: plain("Really."),
  confirm: plain("Yes"),
  deny: plain("No"),
  ...extra,
});
const options = (count: number, text = "o") =>
  Array.from({ length: count }, (_, i) => ({ text: plain(text), value: `v${i}` }));

describe("validateMessage", () => {
  it("accepts a well-formed message", () => {
    const blocks = [
      { type: "header", text: plain(x(150)) },
      section({ fields: Array.from({ length: 10 }, () => mrkdwn(x(2000))), text: mrkdwn(x(3000)) }),
      { type: "context", elements: Array.from({ length: 10 }, () => mrkdwn("c")) },
      actions(...Array.from({ length: 25 }, (_, i) => button({ action_id: `a${i}`, confirm: confirm() }))),
      { type: "divider" },
    ];
    expect(validateMessage({ text: x(40_000), blocks })).toEqual([]);
  });

  const cases: [string, unknown[], RegExp][] = [
    [
      "more than 50 blocks",
      Array.from({ length: 51 }, () => ({ type: "divider" })),
      /^blocks: 51 items, at most 50/,
    ],
    [
      "section text over 3000",
      [section({ text: mrkdwn(x(3001)) })],
      /blocks\[0\]\.text\.text: 3001 characters/,
    ],
    ["empty section text", [section({ text: mrkdwn("") })], /blocks\[0\]\.text\.text: must be a non-empty/],
    ["a section with neither text nor fields", [{ type: "section" }], /blocks\[0\]: needs text or fields/],
    [
      "11 section fields",
      [section({ fields: Array.from({ length: 11 }, () => mrkdwn("f")) })],
      /fields: 11 items/,
    ],
    ["a field over 2000", [section({ fields: [mrkdwn(x(2001))] })], /fields\[0\]\.text: 2001 characters/],
    ["header over 150", [{ type: "header", text: plain(x(151)) }], /blocks\[0\]\.text\.text: 151 characters/],
    ["mrkdwn header", [{ type: "header", text: mrkdwn("h") }], /blocks\[0\]\.text: must be plain_text/],
    [
      "11 context elements",
      [{ type: "context", elements: Array.from({ length: 11 }, () => mrkdwn("c")) }],
      /11 items/,
    ],
    [
      "26 actions elements",
      [actions(...Array.from({ length: 26 }, () => button()))],
      /elements: 26 items, at most 25/,
    ],
    ["empty actions block", [actions()], /elements: 0 items, at least 1/],
    [
      "button text over 75",
      [actions(button({ text: plain(x(76)) }))],
      /elements\[0\]\.text\.text: 76 characters/,
    ],
    [
      "mrkdwn button text",
      [actions(button({ text: mrkdwn("b") }))],
      /elements\[0\]\.text: must be plain_text/,
    ],
    ["action_id over 255", [actions(button({ action_id: x(256) }))], /action_id: 256 characters/],
    [
      "a repeated action_id",
      [
        actions(button({ action_id: "approve:1" })),
        section({ accessory: button({ action_id: "approve:1" }) }),
      ],
      /blocks\[1\]\.accessory\.action_id: "approve:1" is used more than once/,
    ],
    ["button value over 2000", [actions(button({ value: x(2001) }))], /value: 2001 characters/],
    ["button url over 3000", [actions(button({ url: x(3001) }))], /url: 3001 characters/],
    ["an unknown button style", [actions(button({ style: "green" }))], /style: must be primary or danger/],
    ["block_id over 255", [{ type: "divider", block_id: x(256) }], /block_id: 256 characters/],
    [
      "a repeated block_id",
      [
        { type: "divider", block_id: "b" },
        { type: "divider", block_id: "b" },
      ],
      /blocks\[1\]\.block_id: "b" is used more than once/,
    ],
    [
      "confirm title over 100",
      [actions(button({ confirm: confirm({ title: plain(x(101)) }) }))],
      /title\.text: 101/,
    ],
    [
      "confirm text over 300",
      [actions(button({ confirm: confirm({ text: plain(x(301)) }) }))],
      /confirm\.text\.text: 301/,
    ],
    [
      "confirm button over 30",
      [actions(button({ confirm: confirm({ confirm: plain(x(31)) }) }))],
      /confirm\.text: 31/,
    ],
    [
      "deny button over 30",
      [actions(button({ confirm: confirm({ deny: plain(x(31)) }) }))],
      /deny\.text: 31/,
    ],
    [
      "option text over 75",
      [actions({ type: "static_select", options: options(1, x(76)) })],
      /options\[0\]\.text\.text: 76/,
    ],
    [
      "101 select options",
      [actions({ type: "static_select", options: options(101) })],
      /options: 101 items, at most 100/,
    ],
    [
      "11 checkboxes",
      [actions({ type: "checkboxes", options: options(11) })],
      /options: 11 items, at most 10/,
    ],
    ["a block without a type", [{ text: mrkdwn("t") }], /blocks\[0\]: must be a block object/],
  ];

  it.each(cases)("catches %s", (_, blocks, violation) => {
    const violations = validateMessage({ text: "fallback", blocks });
    expect(
      violations.some((v) => violation.test(v)),
      violations.join("\n"),
    ).toBe(true);
  });

  it("requires a top-level text of at most 40,000 characters", () => {
    expect(validateMessage({ blocks: [] })).toEqual([expect.stringMatching(/^text: is required/)]);
    expect(validateMessage({ text: "  ", blocks: [] })).toEqual([
      expect.stringMatching(/^text: is required/),
    ]);
    expect(validateMessage({ text: x(40_001) })).toEqual(["text: 40001 characters, at most 40000"]);
  });

  it("refuses blocks that are not an array", () => {
    expect(validateMessage({ text: "t", blocks: "[]" })).toEqual(["blocks: must be an array"]);
  });
});

describe("validateView", () => {
  const input = (element: Record<string, unknown>) => ({ type: "input", label: plain("Reason"), element });
  const modal = (extra: Record<string, unknown> = {}) => ({
    type: "modal",
    title: plain("Reject action"),
    submit: plain("Reject"),
    close: plain("Cancel"),
    blocks: [input({ type: "plain_text_input", action_id: "reason", max_length: 3000 })],
    ...extra,
  });

  it("accepts a well-formed modal and home view", () => {
    expect(validateView(modal({ private_metadata: x(3000), callback_id: x(255) }))).toEqual([]);
    expect(
      validateView({ type: "home", blocks: Array.from({ length: 100 }, () => ({ type: "divider" })) }),
    ).toEqual([]);
  });

  const cases: [string, unknown, RegExp][] = [
    ["a title over 24", modal({ title: plain(x(25)) }), /^title\.text: 25 characters, at most 24/],
    ["a submit over 24", modal({ submit: plain(x(25)) }), /^submit\.text: 25 characters/],
    ["a close over 24", modal({ close: plain(x(25)) }), /^close\.text: 25 characters/],
    ["an input without submit", modal({ submit: undefined }), /^submit: is required/],
    [
      "more than 100 blocks",
      modal({ blocks: Array.from({ length: 101 }, () => ({ type: "divider" })) }),
      /101 items/,
    ],
    [
      "private_metadata over 3000",
      modal({ private_metadata: x(3001) }),
      /^private_metadata: 3001 characters/,
    ],
    ["callback_id over 255", modal({ callback_id: x(256) }), /^callback_id: 256 characters/],
    [
      "max_length over 3000",
      modal({ blocks: [input({ type: "plain_text_input", max_length: 3001 })] }),
      /element\.max_length: must be a number from 0 to 3000/,
    ],
    [
      "an input label over 2000",
      modal({ blocks: [{ ...input({ type: "plain_text_input" }), label: plain(x(2001)) }] }),
      /label\.text: 2001/,
    ],
    [
      "a view of no known type",
      { type: "dialog", blocks: [] },
      /^view: must be an object of type modal or home/,
    ],
  ];

  it.each(cases)("catches %s", (_, view, violation) => {
    const violations = validateView(view);
    expect(
      violations.some((v) => violation.test(v)),
      violations.join("\n"),
    ).toBe(true);
  });
});
