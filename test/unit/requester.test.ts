// Requesters in every spelling the attack run used to approve their own actions (issue 21, item
// 5): each is read to the one form it is compared in, and each matches the approver it names.
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, parsePolicy, requesterUserId } from "../../src/domain/policy.ts";
import {
  type ApproverIdentity,
  compareRequester,
  parseRequester,
  requesterKey,
} from "../../src/domain/requester.ts";

const ALICE: ApproverIdentity = { userId: "U0ALICE", email: "Alice@Corp.example", handle: "alice" };
const BOB: ApproverIdentity = { userId: "U0BOB", email: "bob@corp.example", handle: "bob" };

describe("parseRequester", () => {
  it.each([
    ["U0ALICE", { userId: "U0ALICE", name: "u0alice" }],
    ["u0alice", { userId: "U0ALICE", name: "u0alice" }],
    ["<@U0ALICE>", { userId: "U0ALICE" }],
    ["<@U0ALICE|alice>", { userId: "U0ALICE" }],
    [" <@u0alice|Alice> ", { userId: "U0ALICE" }],
    ["alice@corp.example", { email: "alice@corp.example" }],
    ["Alice@CORP.example", { email: "alice@corp.example" }],
    ["mailto:alice@corp.example", { email: "alice@corp.example" }],
    ["MAILTO:Alice@corp.example?subject=hi", { email: "alice@corp.example" }],
    ["alice@corp.example.", { email: "alice@corp.example" }],
    ["alice@corp.example...", { email: "alice@corp.example" }],
    ['"alice@corp.example"', { email: "alice@corp.example" }],
    ["'alice@corp.example'", { email: "alice@corp.example" }],
    ["\u201calice@corp.example\u201d", { email: "alice@corp.example" }],
    ['"mailto:alice@corp.example."', { email: "alice@corp.example" }],
    ["ali\u200bce@corp.example", { email: "alice@corp.example" }],
    ["\ufeffalice@corp.example\u200d", { email: "alice@corp.example" }],
    ["alice\u00ad@corp.example", { email: "alice@corp.example" }],
    ["\uff41lice@corp.example", { email: "alice@corp.example" }], // fullwidth a, folded by NFKC
    ["Alice Nguyen <alice@corp.example>", { email: "alice@corp.example" }],
    ["<alice@corp.example>", { email: "alice@corp.example" }],
    ["alice", { name: "alice" }],
    ["ALICE.", { name: "alice" }],
    ['"alice"', { name: "alice" }],
    ["CORP\\alice", { name: "alice" }],
    ["WALTER", { name: "walter" }],
  ])("%j → %j", (raw, expected) => {
    expect(parseRequester(raw)).toEqual(expected);
  });

  it.each(["", "   ", '""', "\u200b", "Alice Nguyen", "@", "a@b@c", "..."])("%j names nobody", (raw) => {
    expect(parseRequester(raw)).toBeNull();
  });
});

describe("compareRequester", () => {
  // Each spelling of Alice that once let her approve her own action is now her.
  it.each([
    "U0ALICE",
    "<@U0ALICE>",
    "<@U0ALICE|alice>",
    "alice",
    "Alice",
    "alice@corp.example",
    "ALICE@CORP.EXAMPLE",
    "mailto:alice@corp.example",
    "alice@corp.example.",
    '"alice@corp.example"',
    "'alice'",
    "ali\u200bce@corp.example",
    "ali\u200bce",
    "CORP\\alice",
  ])("%j is Alice, and not Bob", (raw) => {
    expect(compareRequester(parseRequester(raw), ALICE)).toBe("same");
    expect(compareRequester(parseRequester(raw), BOB)).not.toBe("same");
  });

  it("a Slack id settles who it is without more", () => {
    expect(compareRequester(parseRequester("<@U0ALICE>"), { userId: "U0ALICE" })).toBe("same");
    expect(compareRequester(parseRequester("<@U0ALICE>"), { userId: "U0BOB" })).toBe("different");
  });

  it("a Slack user found for the address settles it; nobody found, or nobody asked, is unknown", () => {
    const requester = parseRequester("alice@corp.example");
    expect(compareRequester(requester, { userId: "U0ALICE" }, "U0ALICE")).toBe("same");
    expect(compareRequester(requester, BOB, "U0ALICE")).toBe("different");
    expect(compareRequester(requester, BOB, null)).toBe("unknown");
    expect(compareRequester(requester, BOB)).toBe("unknown");
  });

  it("a bare name nobody matches, or text that names nobody, is unknown", () => {
    expect(compareRequester(parseRequester("carol"), BOB)).toBe("unknown");
    expect(compareRequester(parseRequester("Carol Jones"), BOB)).toBe("unknown");
  });

  it("the approver's own address is read the same way (case, quotes, trailing dot)", () => {
    const approver = { userId: "U0CAROL", email: '"Carol@Corp.Example."' };
    expect(compareRequester(parseRequester("carol@corp.example"), approver)).toBe("same");
    expect(compareRequester(parseRequester("carol"), approver)).toBe("same");
  });
});

describe("policy.requesters and unknownRequester", () => {
  it("the mapping is keyed by the one spelling, so any spelling of the requester finds it", () => {
    const parsed = parsePolicy({
      requesters: { '"Alice@Example.com."': "U0ALICE01", "CORP\\Bob": "U0BOB01" },
    });
    if (!parsed.ok) throw new Error(parsed.message);
    for (const raw of ["alice@example.com", "mailto:ALICE@example.com", "ali\u200bce@example.com."]) {
      expect(requesterUserId(parsed.policy, raw)).toBe("U0ALICE01");
    }
    expect(requesterUserId(parsed.policy, "bob")).toBe("U0BOB01");
    expect(requesterUserId(parsed.policy, "carol@example.com")).toBeUndefined();
  });

  it("a key that names nobody is refused", () => {
    expect(parsePolicy({ requesters: { "Alice Nguyen": "U0ALICE01" } })).toMatchObject({
      ok: false,
      message: "requesters.Alice Nguyen must name a requester: an address or a user name",
    });
  });

  it("an unresolvable requester needs a second approver unless the policy says otherwise", () => {
    expect(DEFAULT_POLICY.unknownRequester).toBe("second_approver");
    for (const value of ["allow", "refuse", "second_approver"] as const) {
      expect(parsePolicy({ unknownRequester: value })).toMatchObject({
        ok: true,
        policy: { unknownRequester: value },
      });
    }
    expect(parsePolicy({ unknownRequester: "maybe" })).toMatchObject({
      ok: false,
      message: "unknownRequester must be one of second_approver, refuse, allow",
    });
  });

  it("requesterKey is the spelling the mapping is stored under", () => {
    expect(requesterKey("<@u0alice|alice>")).toBe("U0ALICE");
    expect(requesterKey("Mailto:Alice@Example.com.")).toBe("alice@example.com");
    expect(requesterKey("  ")).toBeNull();
  });
});
