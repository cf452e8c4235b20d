import { describe, expect, it } from "vitest";
import type { ActionRow } from "../../src/db/schema.ts";
import { csvCell, csvRow, EXPORT_COLUMNS } from "../../src/services/historyExport.ts";
import { makeAction } from "./blockFixtures.ts";

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["cr\r", '"cr\r"'],
    ["", ""],
  ])("%j → %j", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it.each([
    ['=HYPERLINK("http://evil","x")', '"\'=HYPERLINK(""http://evil"",""x"")"'],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\t=1", "'\t=1"],
    ["\r=1", '"\'\r=1"'],
  ])("neutralises the formula %j", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it("writes numbers as they are and null as an empty cell", () => {
    expect(csvCell(42)).toBe("42");
    expect(csvCell(null)).toBe("");
  });
});

describe("csvRow", () => {
  it("has one cell per column, in order", () => {
    const row = {
      ...makeAction("quarantine_file", "rejected", {
        id: 7,
        deviceName: "=cmd|' /C calc'!A0",
        deviceId: "dev-7",
        decisionComment: 'false positive, "pentest"',
        error: null,
      }),
    } as ActionRow;
    expect(csvRow(row)).toBe(
      [
        "7",
        "2024-05-01T03:00:00.000Z",
        "quarantine_file",
        "automated_investigation",
        "rejected",
        "'=cmd|' /C calc'!A0 (dev-7)",
        `"{""sha256"":""a${"0".repeat(62)}7"",""sha1"":""b${"0".repeat(38)}7"",""path"":""C:\\\\Users\\\\kim\\\\Downloads\\\\invoice-7.exe""}"`,
        "inv-42",
        "U123ABC",
        "2024-05-01T03:05:00.000Z",
        '"false positive, ""pentest"""',
        "",
        "",
      ].join(","),
    );
    expect(EXPORT_COLUMNS).toHaveLength(13);
  });
});
