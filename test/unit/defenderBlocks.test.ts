import { describe, expect, it } from "vitest";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import { actionMessage } from "../../src/slack/blocks/actionMessage.ts";
import { alertNotes, withAlertNotes } from "../../src/slack/blocks/defenderAlert.ts";
import {
  DEFENDER_PENDING_TIMEOUT_MS,
  investigationNotice,
  stateWords,
} from "../../src/slack/blocks/defenderInvestigation.ts";
import { doneInDefenderBlocks } from "../../src/slack/blocks/doneInDefender.ts";
import { homeView } from "../../src/slack/blocks/home.ts";
import { investigationMessage } from "../../src/slack/blocks/investigationMessage.ts";
import {
  buttons,
  defenderInvestigation as investigation,
  makeAction,
  mrkdwnTexts,
  alertNote as note,
  PUBLIC_URL,
} from "./blockFixtures.ts";

const HOSTILE = "<!channel> *bold* | `code` <https://evil.example|click>";

const resolved = note({
  status: "Resolved",
  assignedTo: "secop123@contoso.com",
  classification: "FalsePositive",
  determination: "Clean",
  resolvedAt: new Date("2024-05-01T04:00:00Z"),
});

describe("defender.blocks.alert", () => {
  it("adds the alert's line above an action message's buttons, linked to the alert and the incident", () => {
    const base = actionMessage(makeAction("isolate_device", "pending", { source: "defender_alert" }), {
      publicUrl: PUBLIC_URL,
    });
    const message = withAlertNotes(base, [note()]);
    expect(validateMessage(message)).toEqual([]);
    expect(message.blocks).toHaveLength(base.blocks.length + 1);
    expect(message.blocks.at(-1)).toEqual(base.blocks.at(-1));
    expect(message.blocks.at(-2)).toEqual({
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          verbatim: true,
          text: ":shield: Defender alert <https://security.microsoft.com/alerts/da637472900382838869_1364969609|Suspicious 'Meterpreter' behavior was detected> · severity High · <https://security.microsoft.com/incidents/1126093|incident 1126093>",
        },
      ],
    });
    expect(message.text).toBe(base.text);
  });

  it("says who resolved the alert in Defender, in the blocks and on the lock screen", () => {
    const base = actionMessage(makeAction("isolate_device", "pending"), { publicUrl: PUBLIC_URL });
    const message = withAlertNotes(base, [resolved]);
    expect(validateMessage(message)).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain(
      "was *resolved in Defender by secop123@contoso.com (FalsePositive, Clean)* · <!date^1714536000^",
    );
    expect(message.text).toBe(
      `${base.text} (alert resolved in Defender by secop123@contoso.com (FalsePositive, Clean))`,
    );
  });

  it("shows hostile alert titles as text: no mention, no link of theirs, no formatting", () => {
    const line = mrkdwnTexts([alertNotes([note({ title: HOSTILE, severity: HOSTILE })])])[0]!;
    expect(line).not.toContain("<!channel>");
    expect(line).not.toContain("<https://evil.example");
    // Only our two links, whose labels hold no `|` of the title's (Slack would split the link there).
    const links = [...line.matchAll(/<([^>|]*)\|([^>]*)>/g)];
    expect(links.map((link) => link[1]!.split("/")[2])).toEqual([
      "security.microsoft.com",
      "security.microsoft.com",
    ]);
    expect(links.every((link) => !link[2]!.includes("|"))).toBe(true);
  });

  it("fits many alerts and long titles into Slack's limits, and leaves a full message alone", () => {
    const many = Array.from({ length: 14 }, (_, i) => note({ id: `alert-${i}`, title: "x".repeat(5000) }));
    const block = alertNotes(many);
    expect(block.elements).toHaveLength(10);
    expect(JSON.stringify(block.elements.at(-1))).toContain("and 5 more alerts");
    const rows = Array.from({ length: 24 }, (_, i) => makeAction("stop_service", "pending", { id: i + 1 }));
    const full = investigationMessage(
      { investigationId: "incident-7", messageKey: 1, actions: rows },
      { publicUrl: PUBLIC_URL },
    );
    const withNotes = withAlertNotes(full, many);
    expect(validateMessage(withNotes)).toEqual([]);
    expect(withNotes.blocks.length).toBeLessThanOrEqual(50);
  });
});

describe("defender.blocks.investigation", () => {
  it("announces a wait for approval in the portal: links, device, alert, timeout, and no button", () => {
    const message = investigationNotice({
      investigation: investigation(),
      alertTitle: "Suspicious PowerShell",
    });
    expect(validateMessage(message)).toEqual([]);
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toBe(
      "Waiting for approval in the Defender portal: automated investigation 63017 on desktop-gtrcon0 (decide it in the Defender Action center)",
    );
    const text = JSON.stringify(message.blocks);
    expect(text).toContain("Waiting in the Defender portal: investigation 63017");
    expect(text).toContain(
      "*Decide it in the Defender portal.* Microsoft offers no API to approve or reject these actions",
    );
    expect(text).toContain(
      "<https://security.microsoft.com/action-center/pending|Open the pending actions in the Defender Action center>",
    );
    expect(text).toContain(
      "<https://security.microsoft.com/machines/a69a22debe5f274d8765ea3c368d00762e057b30|desktop-gtrcon0>",
    );
    expect(text).toContain(
      "<https://security.microsoft.com/alerts/da637139166940871892_-598649278|Suspicious PowerShell>",
    );
    const deadline = (Date.parse("2024-05-01T03:00:00Z") + DEFENDER_PENDING_TIMEOUT_MS) / 1000;
    expect(text).toContain(`<!date^${deadline}^{date_short_pretty} {time} ({ago})|2024-05-08 03:00 UTC>`);
  });

  it("follows the investigation once it no longer waits", () => {
    const message = investigationNotice({
      investigation: investigation({
        state: "TerminatedByUser",
        endTime: new Date("2024-05-02T03:00:00Z"),
        cancelledBy: "secop@contoso.com",
        statusDetails: "Stopped by an analyst",
      }),
      alertTitle: null,
    });
    expect(validateMessage(message)).toEqual([]);
    expect(message.text).toBe(
      "Defender automated investigation 63017 on desktop-gtrcon0 is now terminated by user",
    );
    const text = JSON.stringify(message.blocks);
    expect(text).toContain("no longer waits for approval: it is *terminated by user*");
    expect(text).toContain("Cancelled by secop@contoso.com");
    expect(text).not.toContain("({ago})");
    expect(stateWords("SuccessfullyRemediated")).toBe("successfully remediated");
  });

  it("stays within Slack's limits and shows hostile values as text", () => {
    const message = investigationNotice({
      investigation: investigation({
        id: "9".repeat(200),
        computerDnsName: HOSTILE.repeat(20),
        statusDetails: HOSTILE.repeat(200),
        cancelledBy: HOSTILE,
        machineId: null,
        startTime: null,
      }),
      alertTitle: HOSTILE.repeat(100),
    });
    expect(validateMessage(message)).toEqual([]);
    for (const text of mrkdwnTexts(message.blocks)) {
      expect(text).not.toContain("<!channel>");
      expect(text).not.toContain("<https://evil.example");
    }
  });
});

describe("defender.blocks.home", () => {
  it("lists what was done in Defender on the Home tab, with who asked and how to undo it", () => {
    const done = [
      makeAction("isolate_device", "completed", {
        id: 7,
        source: "defender_machine_action",
        requestedBy: "analyst@contoso.com",
        decidedBy: "analyst@contoso.com",
      }),
      makeAction("restrict_code_execution", "failed", { id: 8, source: "defender_machine_action" }),
    ];
    const view = homeView({
      isApprover: true,
      approvers: "<@U1>",
      pending: { count: 0, oldest: null },
      decisions: [],
      doneInDefender: done,
      now: new Date("2024-05-01T05:00:00Z"),
    });
    expect(validateView(view)).toEqual([]);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain("Done in Defender lately");
    expect(text).toContain("*#7 Isolate device* on LAPTOP-7 · by analyst@contoso.com");
    expect(text).toContain("undo with `/action-center undo 7`");
    expect(text).not.toContain("/action-center undo 8");
    expect(doneInDefenderBlocks([])).toEqual([]);
  });
});
