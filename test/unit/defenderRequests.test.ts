// What each action type asks of Defender (endpoint, body, permission), the comment, the safe quoting
// of live response arguments, and the portal links in the Slack message.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defenderPortalLinks } from "../../src/backend/defender/links.ts";
import {
  defenderComment,
  isOwnSubmission,
  planRequest,
  psQuote,
} from "../../src/backend/defender/requests.ts";
import { BackendError } from "../../src/backend/types.ts";
import { LIVE_RESPONSE_SCRIPT_DEFAULTS } from "../../src/config/liveResponseScripts.ts";
import type { ActionRow } from "../../src/db/schema.ts";
import { ACTION_TYPES, type ActionType, isUndoable } from "../../src/domain/actionTypes.ts";
import { huntQuery } from "../../src/hunting/kql.ts";
import { validateMessage } from "../../src/slack/blockLimits.ts";
import { actionMessage } from "../../src/slack/blocks/actionMessage.ts";
import { ENTITY_FOR } from "../support/fixtures.ts";
import { queryOfHuntingUrl } from "./blockFixtures.ts";

const DEVICE = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
const INSTALLATION = "9f2c4e1a7b3d5e60";
const SETTINGS = {
  isolationType: "Full" as const,
  scripts: { ...LIVE_RESPONSE_SCRIPT_DEFAULTS },
  installationId: INSTALLATION,
};

function action(type: ActionType, overrides: Partial<ActionRow> = {}): ActionRow {
  return {
    id: 42,
    externalId: "x",
    source: "automated_investigation",
    type,
    status: "running",
    investigationId: null,
    incidentId: null,
    deviceId: type === "block_url" ? null : DEVICE,
    deviceName: type === "block_url" ? null : "LAPTOP-7",
    entity: ENTITY_FOR[type](7),
    sha256: null,
    requestedBy: null,
    comment: "Seen beaconing",
    createdAt: new Date(),
    updatedAt: new Date(),
    decidedBy: "U0APPROVER1",
    decidedAt: new Date(),
    decisionComment: null,
    completedAt: null,
    error: null,
    undoData: null,
    backendState: null,
    attempt: 1,
    undoAttempt: 1,
    slackMessageId: null,
    ...overrides,
  } as ActionRow;
}

const machine = `/api/machines/${DEVICE}`;
const script = (name: string, args: string) => ({
  Commands: [
    {
      type: "RunScript",
      params: [
        { key: "ScriptName", value: name },
        { key: "Args", value: args },
      ],
    },
  ],
});

/** The documented call for each type and operation: path, body without Comment, permission. */
const EXPECTED: Record<ActionType, { apply: unknown; undo: unknown }> = {
  isolate_device: {
    apply: { path: `${machine}/isolate`, body: { IsolationType: "Full" }, permission: "Machine.Isolate" },
    undo: { path: `${machine}/unisolate`, body: {}, permission: "Machine.Isolate" },
  },
  restrict_code_execution: {
    apply: { path: `${machine}/restrictCodeExecution`, body: {}, permission: "Machine.RestrictExecution" },
    undo: { path: `${machine}/unrestrictCodeExecution`, body: {}, permission: "Machine.RestrictExecution" },
  },
  quarantine_file: {
    apply: {
      path: `${machine}/StopAndQuarantineFile`,
      body: { Sha1: ENTITY_FOR.quarantine_file(7).sha1 },
      permission: "Machine.StopAndQuarantine",
    },
    undo: {
      path: `${machine}/runliveresponse`,
      body: script(
        "ac-restore-file.ps1",
        `-Sha256 '${ENTITY_FOR.quarantine_file(7).sha256}' -Sha1 '${ENTITY_FOR.quarantine_file(7).sha1}' -Path 'C:\\Users\\kim\\Downloads\\invoice-7.exe' -ActionId 42`,
      ),
      permission: "Machine.LiveResponse",
    },
  },
  remove_registry_key: {
    apply: {
      path: `${machine}/runliveresponse`,
      body: script(
        "ac-remove-registry-key.ps1",
        "-Key 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run' -ValueName 'updater7' -ActionId 42",
      ),
      permission: "Machine.LiveResponse",
    },
    undo: {
      path: `${machine}/runliveresponse`,
      body: script(
        "ac-restore-registry-key.ps1",
        "-Key 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run' -ValueName 'updater7' -ActionId 42",
      ),
      permission: "Machine.LiveResponse",
    },
  },
  stop_service: {
    apply: {
      path: `${machine}/runliveresponse`,
      body: script("ac-stop-service.ps1", "-Name 'EvilSvc7' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
    undo: {
      path: `${machine}/runliveresponse`,
      body: script("ac-start-service.ps1", "-Name 'EvilSvc7' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
  },
  disable_driver: {
    apply: {
      path: `${machine}/runliveresponse`,
      body: script("ac-disable-driver.ps1", "-Name 'rootkit7.sys' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
    undo: {
      path: `${machine}/runliveresponse`,
      body: script("ac-enable-driver.ps1", "-Name 'rootkit7.sys' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
  },
  remove_scheduled_task: {
    apply: {
      path: `${machine}/runliveresponse`,
      body: script("ac-remove-scheduled-task.ps1", "-TaskPath '\\Microsoft\\Windows\\Updater7' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
    undo: {
      path: `${machine}/runliveresponse`,
      body: script(
        "ac-restore-scheduled-task.ps1",
        "-TaskPath '\\Microsoft\\Windows\\Updater7' -ActionId 42",
      ),
      permission: "Machine.LiveResponse",
    },
  },
  stop_process: {
    apply: {
      path: `${machine}/runliveresponse`,
      body: script("ac-stop-process.ps1", "-ProcessId 4007 -ImagePath 'C:\\Temp\\miner7.exe' -ActionId 42"),
      permission: "Machine.LiveResponse",
    },
    undo: null,
  },
  block_url: { apply: null, undo: null },
  run_antivirus_scan: {
    apply: { path: `${machine}/runAntiVirusScan`, body: { ScanType: "Quick" }, permission: "Machine.Scan" },
    undo: null,
  },
  collect_investigation_package: {
    apply: {
      path: `${machine}/collectInvestigationPackage`,
      body: {},
      permission: "Machine.CollectForensics",
    },
    undo: null,
  },
};

describe("defender.requests", () => {
  it.each(ACTION_TYPES.filter((t) => t !== "block_url"))(
    "%s: apply and undo call the documented endpoint with its body and permission",
    (type) => {
      for (const operation of ["apply", "undo"] as const) {
        const expected = EXPECTED[type][operation];
        if (expected === null) {
          expect(isUndoable(type)).toBe(false);
          expect(() => planRequest(action(type), operation, SETTINGS)).toThrow(/cannot be undone/);
          continue;
        }
        const request = planRequest(action(type), operation, SETTINGS);
        if (request.kind !== "machine_action") throw new Error(`expected a machine action for ${type}`);
        const { Comment, ...body } = request.body;
        expect({ path: request.path, body, permission: request.permission }).toEqual(expected);
        expect(Comment).toBe(defenderComment(action(type), operation, INSTALLATION));
      }
    },
  );

  it("blocks a URL with a Url/Block indicator whose title and description carry the action", () => {
    const request = planRequest(action("block_url"), "apply", SETTINGS);
    expect(request).toEqual({
      kind: "block_url",
      url: "https://evil7.example.com/payload",
      body: {
        indicatorValue: "https://evil7.example.com/payload",
        indicatorType: "Url",
        action: "Block",
        title: "Action Center for Slack #42@9f2c4e1a7b3d5e60: block URL",
        description:
          "Block URL (Action Center for Slack #42@9f2c4e1a7b3d5e60, apply attempt 1, approved in Slack by U0APPROVER1): Seen beaconing",
      },
    });
    expect(planRequest(action("block_url"), "undo", SETTINGS)).toEqual({ kind: "unblock_url" });
  });

  it("names the approver, the run of this installation and the source's comment in Defender's comment", () => {
    expect(defenderComment(action("isolate_device", { attempt: 2 }), "apply", INSTALLATION)).toBe(
      "Isolate device (Action Center for Slack #42@9f2c4e1a7b3d5e60, apply attempt 2, approved in Slack by U0APPROVER1): Seen beaconing",
    );
    expect(
      defenderComment(action("isolate_device", { comment: null, undoAttempt: 3 }), "undo", INSTALLATION),
    ).toBe("Release from isolation (Action Center for Slack #42@9f2c4e1a7b3d5e60, undo attempt 3)");
    // Another installation's #42 is another run.
    expect(defenderComment(action("isolate_device"), "apply", "0123456789abcdef")).not.toContain(
      INSTALLATION,
    );
  });

  it("recognises its own submissions by the app as requestor and the run marker in the comment", () => {
    const app = { clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", installationId: "0123456789abcdef" };
    const ours = (operation: "apply" | "undo") =>
      defenderComment(action("isolate_device", { undoAttempt: 1 }), operation, app.installationId);
    expect(isOwnSubmission({ requestor: app.clientId, requestorComment: ours("apply") }, app)).toBe(true);
    expect(
      isOwnSubmission({ requestor: app.clientId.toUpperCase(), requestorComment: ours("undo") }, app),
    ).toBe(true);
    // The same comment pasted by a person in the portal, another tool of the same tenant, or our app
    // without a run marker (a person using its credentials elsewhere) are someone else's.
    expect(isOwnSubmission({ requestor: "analyst@contoso.com", requestorComment: ours("apply") }, app)).toBe(
      false,
    );
    expect(
      isOwnSubmission({ requestor: app.clientId, requestorComment: "Isolate for alert 1234" }, app),
    ).toBe(false);
    expect(
      isOwnSubmission({ requestor: app.clientId, requestorComment: "(Action Center for Slack #42)" }, app),
    ).toBe(false);
    expect(isOwnSubmission({ requestor: null, requestorComment: null }, app)).toBe(false);
    // Another installation of the app on the same tenant (staging beside production) is not us.
    expect(
      isOwnSubmission(
        { requestor: app.clientId, requestorComment: ours("apply") },
        { ...app, installationId: "fedcba9876543210" },
      ),
    ).toBe(false);
  });

  it("uses the configured isolation type and script names", () => {
    const settings = {
      ...SETTINGS,
      isolationType: "Selective" as const,
      scripts: { ...LIVE_RESPONSE_SCRIPT_DEFAULTS, stop_service: "contoso-stop.ps1" },
    };
    expect(planRequest(action("isolate_device"), "apply", settings)).toMatchObject({
      body: { IsolationType: "Selective" },
    });
    expect(planRequest(action("stop_service"), "apply", settings)).toMatchObject({
      script: "contoso-stop.ps1",
      body: script("contoso-stop.ps1", "-Name 'EvilSvc7' -ActionId 42"),
    });
  });

  it("refuses a quarantine without a SHA-1 permanently, saying why", () => {
    const noSha1 = action("quarantine_file", { entity: { sha256: "a".repeat(64) } });
    const attempt = () => planRequest(noSha1, "apply", SETTINGS);
    expect(attempt).toThrow(BackendError);
    expect(attempt).toThrow(/SHA-1/);
    try {
      attempt();
    } catch (error) {
      expect((error as BackendError).retryable).toBe(false);
    }
  });
});

/** Reads a PowerShell single-quoted literal the way PowerShell's tokenizer does. */
function readPsLiteral(literal: string): string {
  const quote = /['\u2018\u2019\u201a\u201b]/;
  expect(literal[0]).toBe("'");
  let value = "";
  for (let i = 1; i < literal.length; i++) {
    const char = literal[i]!;
    if (!quote.test(char)) {
      value += char;
      continue;
    }
    if (i + 1 < literal.length && quote.test(literal[i + 1]!)) {
      value += char;
      i++;
      continue;
    }
    expect(i).toBe(literal.length - 1); // a lone quote may only close the literal
    return value;
  }
  throw new Error(`unterminated literal ${literal}`);
}

describe("defender.security", () => {
  it("quotes any argument so that PowerShell reads back exactly the value (property)", () => {
    const tricky = fc.constantFrom(
      "'",
      "\u2018",
      "\u2019",
      "\u201a",
      "\u201b",
      "$",
      "`",
      ";",
      '"',
      " ",
      "(",
      "|",
    );
    const text = fc.array(fc.oneof(tricky, fc.string({ unit: "grapheme", maxLength: 3 })), { maxLength: 20 });
    fc.assert(
      fc.property(text, (parts) => {
        const value = parts.join("").replace(/\p{Cc}/gu, "");
        expect(readPsLiteral(psQuote(value))).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it("a quote in a service name cannot end the argument and run a command", () => {
    const request = planRequest(
      action("stop_service", { entity: { name: "Evil'; Remove-Item C:\\ -Recurse; '" } }),
      "apply",
      SETTINGS,
    );
    expect(request).toMatchObject({
      body: script("ac-stop-service.ps1", "-Name 'Evil''; Remove-Item C:\\ -Recurse; ''' -ActionId 42"),
    });
  });

  it("refuses control characters, which would end the script's command line", () => {
    expect(() => psQuote("Evil\r\nRemove-Item C:\\")).toThrow(/control characters/);
    expect(() =>
      planRequest(
        action("remove_scheduled_task", { entity: { path: "\\Tasks\\x\u0000" } }),
        "apply",
        SETTINGS,
      ),
    ).toThrow(BackendError);
  });
});

describe("defender.links", () => {
  it("links the device page, the file page (SHA-1 first) and advanced hunting", () => {
    expect(defenderPortalLinks(action("quarantine_file"))).toEqual({
      pages: [
        { label: "Device in Defender", url: `https://security.microsoft.com/machines/${DEVICE}` },
        {
          label: "File in Defender",
          url: `https://security.microsoft.com/file/${ENTITY_FOR.quarantine_file(7).sha1}`,
        },
      ],
      hunting: "https://security.microsoft.com/v2/advanced-hunting",
    });
    const sha256Only = action("quarantine_file", { entity: { sha256: "b".repeat(64) } });
    expect(defenderPortalLinks(sha256Only).pages[1]!.url).toBe(
      `https://security.microsoft.com/file/${"b".repeat(64)}`,
    );
    expect(defenderPortalLinks(action("block_url")).pages).toEqual([]);
  });

  it("the message shows the portal pages and Go hunt opens advanced hunting; Slack accepts it", () => {
    const pending = { ...action("quarantine_file"), status: "pending" as const };
    const message = actionMessage(pending, {
      publicUrl: "https://ac.example.com",
      portalLinks: defenderPortalLinks,
    });
    expect(validateMessage(message)).toEqual([]);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain(`<https://security.microsoft.com/machines/${DEVICE}|Device in Defender>`);
    const goHunt = message.blocks
      .flatMap((b) => (b.type === "actions" ? b.elements : []))
      .find((e) => "action_id" in e && e.action_id === "go_hunt:42");
    expect(goHunt).toMatchObject({
      url: expect.stringMatching(/^https:\/\/security\.microsoft\.com\/v2\/advanced-hunting\?query=/),
    });
    expect(queryOfHuntingUrl((goHunt as { url: string }).url)).toBe(huntQuery(pending));
    // Without the option, nothing of Defender's shows: the simulated backend's messages are unchanged.
    const plain = JSON.stringify(actionMessage(pending, { publicUrl: "https://ac.example.com" }).blocks);
    expect(plain).not.toContain("security.microsoft.com/machines");
  });
});
