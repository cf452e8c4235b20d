import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ACTION_TYPES, SOURCES } from "../../src/domain/actionTypes.ts";
import { STATUSES } from "../../src/domain/status.ts";
import {
  type CommandFilters,
  FILTER_NAMES,
  filtersText,
  MAX_UNDO_IDS,
  type ParseResult,
  parseCommand,
} from "../../src/slack/handlers/commands/parse.ts";

const NOW = new Date("2026-11-10T12:00:00Z");
const ME = "U0ME00001";
const parse = (text: string) => parseCommand(text, { userId: ME, now: NOW });

function filtersOf(result: ParseResult): CommandFilters {
  if (!result.ok) throw new Error(`expected a command, got: ${result.message}`);
  if (result.command.kind !== "list") throw new Error(`expected a listing, got ${result.command.kind}`);
  return result.command.filters;
}

function messageOf(result: ParseResult): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.command)}`);
  return result.message;
}

describe("parseCommand: commands", () => {
  it.each(["", "   ", "help", "HELP"])("%j is help", (text) => {
    expect(parse(text)).toEqual({ ok: true, command: { kind: "help" } });
  });

  it("pending and history without filters", () => {
    expect(parse("pending")).toEqual({
      ok: true,
      command: { kind: "list", view: "pending", filters: {}, export: false },
    });
    expect(parse("History")).toEqual({
      ok: true,
      command: { kind: "list", view: "history", filters: {}, export: false },
    });
  });

  it("history … export asks for the CSV, wherever the word stands", () => {
    expect(parse("history export type:stop_service")).toMatchObject({
      ok: true,
      command: { kind: "list", view: "history", filters: { type: ["stop_service"] }, export: true },
    });
  });

  it("show takes one action id, with or without #", () => {
    expect(parse("show 42")).toEqual({ ok: true, command: { kind: "show", actionId: 42 } });
    expect(parse("show #42")).toEqual({ ok: true, command: { kind: "show", actionId: 42 } });
    for (const bad of ["show", "show 1 2", "show abc", "show 0", "show -1", "show 99999999999999999"]) {
      expect(messageOf(parse(bad))).toMatch(/show 123/);
    }
  });

  it("undo takes ids separated by spaces or commas, once each", () => {
    expect(parse("undo 3 1,2 #3")).toEqual({ ok: true, command: { kind: "undo", actionIds: [3, 1, 2] } });
    expect(messageOf(parse("undo"))).toMatch(/which actions/);
    expect(messageOf(parse("undo 1 two"))).toMatch(/`two` is not an action number/);
    const many = Array.from({ length: MAX_UNDO_IDS + 1 }, (_, i) => i + 1).join(" ");
    expect(messageOf(parse(`undo ${many}`))).toMatch(`at most ${MAX_UNDO_IDS}`);
  });

  it("an unknown command gets the usage", () => {
    const message = messageOf(parse("approve 12"));
    expect(message).toMatch(/Unknown command `approve`/);
    expect(message).toContain("/action-center history");
  });

  it("refuses a text longer than 1,000 characters", () => {
    expect(messageOf(parse(`history device:${"x".repeat(1000)}`))).toMatch(/too long/);
  });
});

describe("parseCommand: filters", () => {
  it("reads every filter", () => {
    const sha = "AB".repeat(32);
    expect(
      filtersOf(
        parse(
          `history type:quarantine_file,stop_service device:LAPTOP-7 source:antivirus status:completed ` +
            `by:<@U0ALICE01|alice> investigation:inv-42 sha256:${sha} since:24h`,
        ),
      ),
    ).toEqual({
      type: ["quarantine_file", "stop_service"],
      device: "LAPTOP-7",
      source: ["antivirus"],
      status: ["completed"],
      by: "U0ALICE01",
      investigation: "inv-42",
      sha256: sha.toLowerCase(),
      since: new Date("2026-11-09T12:00:00Z"),
    });
  });

  it("list filters may repeat and merge; names and values ignore case", () => {
    expect(filtersOf(parse("history TYPE:Stop_Service type:stop_service,disable_driver"))).toEqual({
      type: ["stop_service", "disable_driver"],
    });
  });

  it.each([
    ["by:<@U0ALICE01|alice>", "U0ALICE01"],
    ["by:<@U0ALICE01>", "U0ALICE01"],
    ["by:<@W0ALICE01|alice smith>", "W0ALICE01"],
    ["by:U0ALICE01", "U0ALICE01"],
    ["by:@U0ALICE01", "U0ALICE01"],
    ["by:me", ME],
  ])("%s is user %s", (filter, userId) => {
    expect(filtersOf(parse(`history ${filter}`)).by).toBe(userId);
  });

  it("refuses a plain @name: Slack sends a mention escaped, and a name cannot be trusted", () => {
    expect(messageOf(parse("history by:@alice"))).toMatch(/`@alice` is not a Slack user/);
  });

  it.each([
    ["since:24h", "2026-11-09T12:00:00.000Z"],
    ["since:7d", "2026-11-03T12:00:00.000Z"],
    ["since:2w", "2026-10-27T12:00:00.000Z"],
    ["since:2026-11-01", "2026-11-01T00:00:00.000Z"],
    ["since:2026-11-01T08:30:00.000Z", "2026-11-01T08:30:00.000Z"],
  ])("%s starts at %s", (filter, iso) => {
    expect(filtersOf(parse(`history ${filter}`)).since?.toISOString()).toBe(iso);
  });

  it.each(["since:yesterday", "since:0d", "since:2026-02-30", "since:26-11-01", "since:99999d", "since:5m"])(
    "refuses %s and says what is accepted",
    (filter) => {
      expect(messageOf(parse(`history ${filter}`))).toMatch(/takes `24h`, `7d`/);
    },
  );

  it("names the valid filters when one is unknown", () => {
    const message = messageOf(parse("history colour:red"));
    expect(message).toMatch(/Unknown filter `colour:`/);
    for (const name of FILTER_NAMES) expect(message).toContain(`\`${name}:\``);
  });

  it("names the valid values when a value is unknown", () => {
    const type = messageOf(parse("history type:nuke_from_orbit"));
    expect(type).toMatch(/^`nuke.*orbit` is not a valid action type/);
    for (const valid of ACTION_TYPES) expect(type).toContain(`\`${valid}\``);
    const status = messageOf(parse("history status:done"));
    for (const valid of STATUSES) expect(status).toContain(`\`${valid}\``);
    const source = messageOf(parse("history source:edr"));
    for (const valid of SOURCES) expect(source).toContain(`\`${valid}\``);
  });

  it.each([
    ["history device:", /needs a value/],
    ["history LAPTOP-7", /is not a filter/],
    ["history device:a device:b", /given twice/],
    ["history sha256:abc", /64 hexadecimal/],
    ["pending status:completed", /use `history status/],
  ])("%s is refused", (text, reason) => {
    expect(messageOf(parse(text))).toMatch(reason);
  });

  it("hostile filter text never comes back as a mention, link or formatting", () => {
    for (const text of [
      "history <!channel>",
      "history colour:<!here>",
      "history type:*bold*_x_",
      "history by:<!subteam^S123|@soc>",
      "history investigation:'; drop table actions; --\u0000",
      "history since:<https://evil.example|click>",
    ]) {
      const message = messageOf(parse(text));
      expect(message).not.toMatch(/<!|<@|<http|\*bold\*/);
    }
  });

  it("device and investigation values are taken as they are: they are shown escaped and bound as parameters", () => {
    expect(filtersOf(parse("history device:';drop_table_actions;--")).device).toBe("';drop_table_actions;--");
    expect(filtersOf(parse("history investigation:<!channel>")).investigation).toBe("<!channel>");
  });
});

describe("filtersText", () => {
  const filters = fc.record(
    {
      type: fc.uniqueArray(fc.constantFrom(...ACTION_TYPES), { minLength: 1, maxLength: 3 }),
      status: fc.uniqueArray(fc.constantFrom(...STATUSES), { minLength: 1, maxLength: 3 }),
      source: fc.uniqueArray(fc.constantFrom(...SOURCES), { minLength: 1, maxLength: 2 }),
      device: fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/),
      by: fc.stringMatching(/^U[A-Z0-9]{8}$/),
      investigation: fc.stringMatching(/^[a-z0-9-]{1,30}$/),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
      since: fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }),
    },
    { requiredKeys: [] },
  );

  it("parses back to the same filters: a page button carries them as text", () => {
    fc.assert(
      fc.property(filters, (value) => {
        expect(filtersOf(parse(`history ${filtersText(value)}`))).toEqual(value);
      }),
    );
  });

  it("turns a relative since into the instant it meant", () => {
    expect(filtersText(filtersOf(parse("history since:24h")))).toBe("since:2026-11-09T12:00:00.000Z");
  });
});
