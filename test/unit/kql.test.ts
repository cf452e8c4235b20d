// The advanced hunting query of Go hunt: the right table and filters per action type, and user
// values that cannot break out of their string literals.
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advancedHuntingUrl, huntQuery, kqlString } from "../../src/hunting/kql.ts";
import { makeAction } from "./blockFixtures.ts";

describe("huntQuery", () => {
  it.each([
    [
      "quarantine_file",
      "DeviceFileEvents",
      '| where SHA256 == "a000000000000000000000000000000000000000000000000000000000000007"',
    ],
    [
      "remove_registry_key",
      "DeviceRegistryEvents",
      '| where RegistryKey endswith "\\\\Software\\\\Microsoft',
    ],
    ["stop_service", "DeviceEvents", '| where ServiceName =~ "EvilSvc7"'],
    ["disable_driver", "DeviceEvents", '| where FileName startswith "rootkit7.sys"'],
    ["remove_scheduled_task", "DeviceEvents", '| where TaskName =~ "\\\\Microsoft\\\\Windows\\\\Updater7"'],
    ["stop_process", "DeviceProcessEvents", "| where ProcessId == 4007"],
    ["block_url", "DeviceNetworkEvents", '| where RemoteUrl contains "evil7.example.com"'],
    ["isolate_device", "DeviceNetworkEvents", "| summarize Connections = count()"],
  ] as const)("%s hunts in %s", (type, table, filter) => {
    const query = huntQuery(makeAction(type, "pending"));
    expect(query.startsWith(`${table}\n| where Timestamp > ago(7d)\n`)).toBe(true);
    expect(query).toContain(filter);
  });

  it("filters on the device name when known, else on its id, and not for tenant-wide actions", () => {
    expect(huntQuery(makeAction("stop_service", "pending"))).toContain(
      '| where DeviceName =~ "LAPTOP-7" or DeviceName startswith "LAPTOP-7."',
    );
    expect(huntQuery(makeAction("stop_service", "pending", { deviceName: null }))).toContain(
      '| where DeviceId == "dev-7"',
    );
    expect(huntQuery(makeAction("block_url", "pending"))).not.toContain("DeviceName =~");
  });

  it("hunts a file by its hash across the fleet, not on one device; by its path on its device", () => {
    const byHash = huntQuery(makeAction("quarantine_file", "pending"));
    expect(byHash).not.toContain("DeviceName =~");
    expect(byHash).not.toContain("DeviceId ==");
    expect(byHash).toContain("| project Timestamp, DeviceName,");
    const byPath = huntQuery(
      makeAction("quarantine_file", "pending", { entity: { path: "C:\\Temp\\x.exe" } }),
    );
    expect(byPath).toContain('| where DeviceName =~ "LAPTOP-7"');
    expect(byPath).toContain('| where FolderPath =~ "C:\\\\Temp\\\\x.exe"');
  });

  it("escapes quotes and backslashes of user values", () => {
    const query = huntQuery(
      makeAction("stop_service", "pending", { deviceName: 'PC"1\\', entity: { name: 'a" or 1==1 //\\' } }),
    );
    expect(query).toContain('DeviceName =~ "PC\\"1\\\\"');
    expect(query).toContain('ServiceName =~ "a\\" or 1==1 //\\\\"');
  });
});

describe("kqlString", () => {
  it("escapes backslash, quote and line breaks", () => {
    expect(kqlString('C:\\Temp\\"x"\n')).toBe('"C:\\\\Temp\\\\\\"x\\"\\n"');
  });

  it("reads back as the same string (KQL's escapes are JSON's)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(JSON.parse(kqlString(text))).toBe(
          text.replace(/[\p{Cc}]/gu, (c) => ("\n\r\t".includes(c) ? c : "")),
        );
      }),
    );
  });
});

describe("advancedHuntingUrl", () => {
  it("carries the query as UTF-16LE, gzipped, in base64url, over the last week", () => {
    const query = 'DeviceFileEvents\n| where SHA256 == "ab"\n// é ✓';
    const url = advancedHuntingUrl(query);
    expect(url).toMatch(
      /^https:\/\/security\.microsoft\.com\/v2\/advanced-hunting\?query=[\w-]+&timeRangeId=week$/,
    );
    const encoded = new URL(url).searchParams.get("query")!;
    expect(gunzipSync(Buffer.from(encoded, "base64url")).toString("utf16le")).toBe(query);
    // As the portal's own links: gzip's magic number, base64'd.
    expect(encoded.startsWith("H4sI")).toBe(true);
  });
});
