import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ACTION_TYPES } from "../../src/domain/actionTypes.ts";
import { validateView } from "../../src/slack/blockLimits.ts";
import {
  goHuntModal,
  huntQuery,
  kqlString,
  rejectModal,
  threadEventText,
} from "../../src/slack/blocks/modals.ts";
import { buttons, makeAction, walk } from "./blockFixtures.ts";

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

describe("goHuntModal", () => {
  it.each(ACTION_TYPES)("%s: a valid modal with the query and the advanced hunting link", (type) => {
    const action = makeAction(type, "pending");
    const view = goHuntModal(action);
    expect(validateView(view)).toEqual([]);
    const texts = [...walk(view.blocks)].filter((node) => node.type === "text").map((node) => node.text);
    expect(texts).toEqual([huntQuery(action)]);
    expect(buttons(view.blocks)[0]).toMatchObject({
      url: "https://security.microsoft.com/v2/advanced-hunting",
    });
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
