import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/env.ts";
import { loadPolicy, PolicyError } from "../../src/config/policyFile.ts";
import {
  approvalsNeeded,
  approversFor,
  autoApprove,
  DEFAULT_POLICY,
  matchIdentity,
  mayDecide,
  needsStepUp,
  type Policy,
  parseDuration,
  parsePolicy,
  remindersFor,
  requesterUserId,
  ttlFor,
  undoApprovalsNeeded,
  usesStepUp,
} from "../../src/domain/policy.ts";
import { writePolicyFile } from "../support/policyFile.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function policy(document: Record<string, unknown>): Policy {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.policy;
}

function problem(document: unknown): string {
  const parsed = parsePolicy(document);
  if (parsed.ok) throw new Error("expected the policy to be refused");
  return parsed.message;
}

const manualIsolate = { type: "isolate_device", source: "manual" } as const;
const airQuarantine = { type: "quarantine_file", source: "automated_investigation" } as const;

describe("policy.defaults", () => {
  it("without a file: a week to decide, reminders, one approval, no auto-approval", () => {
    expect(ttlFor(DEFAULT_POLICY, airQuarantine)).toBe(7 * DAY);
    expect(remindersFor(DEFAULT_POLICY, airQuarantine)).toEqual([
      { kind: "remind", afterMs: 4 * HOUR, mention: undefined, channel: undefined },
    ]);
    expect(remindersFor(DEFAULT_POLICY, manualIsolate).map((s) => s.afterMs)).toEqual([15 * 60_000]);
    expect(approvalsNeeded(DEFAULT_POLICY, manualIsolate)).toBe(1);
    expect(autoApprove(DEFAULT_POLICY, { ...airQuarantine, entity: { sha256: "a".repeat(64) } })).toBeNull();
    expect(loadPolicy(undefined)).toBe(DEFAULT_POLICY);
    expect(loadConfig({}).policy).toBe(DEFAULT_POLICY);
  });

  it("an empty file is the defaults", () => {
    expect(policy({})).toEqual(DEFAULT_POLICY);
  });
});

describe("policy.durations", () => {
  it.each([
    [300, 300],
    ["300ms", 300],
    ["90s", 90_000],
    ["15m", 900_000],
    [" 4h ", 4 * HOUR],
    ["7d", 7 * DAY],
  ])("reads %j as %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([[0], [-5], [1.5], ["15"], ["15 minutes"], ["366d"], [null], [true]])("refuses %j", (input) => {
    expect(parseDuration(input)).toBeNull();
  });
});

describe("policy.precedence", () => {
  const layered = policy({
    ttl: "3d",
    reminder: { after: "2h" },
    sources: { antivirus: { ttl: "1d", reminder: { after: "1h" } } },
    types: { quarantine_file: { ttl: "12h" }, stop_service: { reminder: null } },
  });

  it("the type's setting beats the source's, which beats the policy-wide one", () => {
    expect(ttlFor(layered, { type: "quarantine_file", source: "antivirus" })).toBe(12 * HOUR);
    expect(ttlFor(layered, { type: "stop_process", source: "antivirus" })).toBe(DAY);
    expect(ttlFor(layered, { type: "stop_process", source: "manual" })).toBe(3 * DAY);
    expect(remindersFor(layered, { type: "quarantine_file", source: "antivirus" })[0]?.afterMs).toBe(HOUR);
    expect(remindersFor(layered, { type: "stop_process", source: "manual" })[0]?.afterMs).toBe(2 * HOUR);
  });

  it("null switches a reminder off where a broader rule would give one", () => {
    expect(remindersFor(layered, { type: "stop_service", source: "antivirus" })).toEqual([]);
  });

  it("a file laid over the defaults keeps the defaults it does not name", () => {
    const merged = policy({ types: { isolate_device: { approvers: ["S0TIER2"] } } });
    expect(merged.types.isolate_device).toEqual({ reminder: { after: 15 * 60_000 }, approvers: ["S0TIER2"] });
  });

  it("reminder, then escalation, and nothing due at or after expiry", () => {
    const timed = policy({
      ttl: 1000,
      reminder: { after: 300, mention: ["U0ONCALL1"] },
      escalation: { after: 600, channel: "C0ESCALATE", mention: ["S0LEADS01"] },
      types: { isolate_device: { reminder: { after: 1000 } } },
    });
    expect(remindersFor(timed, airQuarantine)).toEqual([
      { kind: "remind", afterMs: 300, mention: ["U0ONCALL1"], channel: undefined },
      { kind: "escalate", afterMs: 600, mention: ["S0LEADS01"], channel: "C0ESCALATE" },
    ]);
    expect(remindersFor(timed, manualIsolate).map((s) => s.kind)).toEqual(["escalate"]);
  });
});

describe("policy.twoPersonRule", () => {
  it("defaults to isolation and code restriction, two approvers, once switched on", () => {
    const on = policy({ twoPersonRule: {} });
    expect(approvalsNeeded(on, { type: "isolate_device" })).toBe(2);
    expect(approvalsNeeded(on, { type: "restrict_code_execution" })).toBe(2);
    expect(approvalsNeeded(on, { type: "quarantine_file" })).toBe(1);
  });

  it("takes its own types and count", () => {
    const three = policy({ twoPersonRule: { types: ["block_url"], approvals: 3 } });
    expect(approvalsNeeded(three, { type: "block_url" })).toBe(3);
    expect(approvalsNeeded(three, { type: "isolate_device" })).toBe(1);
  });

  it("covers undo of its types unless it says undo: false", () => {
    const on = policy({ twoPersonRule: { approvals: 3 } });
    expect(undoApprovalsNeeded(on, { type: "isolate_device" })).toBe(3);
    expect(undoApprovalsNeeded(on, { type: "quarantine_file" })).toBe(1);
    const off = policy({ twoPersonRule: { undo: false } });
    expect(approvalsNeeded(off, { type: "isolate_device" })).toBe(2);
    expect(undoApprovalsNeeded(off, { type: "isolate_device" })).toBe(1);
    expect(undoApprovalsNeeded(DEFAULT_POLICY, { type: "isolate_device" })).toBe(1);
  });
});

describe("policy.mayDecide", () => {
  const approvers = { userIds: ["U0LEAD0001"], groupIds: ["S0SOC0001"] };
  const tiered = policy({ types: { isolate_device: { approvers: ["S0TIER2"] } } });
  const user = (id: string, ...groups: string[]) => ({ id, groups: new Set(groups) });

  it("any approver decides types without their own list", () => {
    expect(mayDecide(tiered, "quarantine_file", approvers, user("U0ANALYST", "S0SOC0001"))).toBe(true);
    expect(mayDecide(tiered, "quarantine_file", approvers, user("U0LEAD0001"))).toBe(true);
    expect(mayDecide(tiered, "quarantine_file", approvers, user("U0STRANGER"))).toBe(false);
  });

  it("a type's own list narrows APPROVERS: both are needed", () => {
    expect(mayDecide(tiered, "isolate_device", approvers, user("U0TIER2ONE", "S0SOC0001", "S0TIER2"))).toBe(
      true,
    );
    expect(mayDecide(tiered, "isolate_device", approvers, user("U0ANALYST", "S0SOC0001"))).toBe(false);
    // In the tier-2 group but not among APPROVERS at all.
    expect(mayDecide(tiered, "isolate_device", approvers, user("U0OUTSIDER", "S0TIER2"))).toBe(false);
  });

  it("names the type's list, else APPROVERS, as the ones to ask", () => {
    expect(approversFor(tiered, "isolate_device", approvers)).toEqual({ userIds: [], groupIds: ["S0TIER2"] });
    expect(approversFor(tiered, "stop_service", approvers)).toBe(approvers);
  });
});

describe("policy.autoApprove", () => {
  const semi = policy({
    autoApprove: [
      {
        type: "quarantine_file",
        source: "antivirus",
        pathPrefixesRequiringApproval: ["C:\\Windows\\", "C:\\Program Files\\"],
      },
      { source: "automated_investigation", type: "block_url" },
    ],
    twoPersonRule: {},
  });
  const antivirusFile = (path?: string) => ({
    type: "quarantine_file" as const,
    source: "antivirus" as const,
    entity: { sha256: "b".repeat(64), ...(path && { path }) },
  });

  it("semi-automation: approves outside the listed folders only", () => {
    expect(autoApprove(semi, antivirusFile("C:\\Users\\kim\\Downloads\\evil.exe"))).toEqual({ rule: 0 });
    expect(autoApprove(semi, antivirusFile("C:\\Windows\\System32\\evil.dll"))).toBeNull();
    // Windows paths: no case, either slash.
    expect(autoApprove(semi, antivirusFile("c:/program files/Vendor/evil.exe"))).toBeNull();
    // Without a path nobody can tell which folder: a person decides.
    expect(autoApprove(semi, antivirusFile())).toBeNull();
  });

  it("matches type and source; the two-person rule always wins", () => {
    expect(autoApprove(semi, { ...antivirusFile("C:\\x.exe"), source: "manual" })).toBeNull();
    const url = { type: "block_url" as const, entity: { url: "https://evil.example.com" } };
    expect(autoApprove(semi, { ...url, source: "automated_investigation" })).toEqual({ rule: 1 });
    expect(autoApprove(semi, { ...url, source: "antivirus" })).toBeNull();
    const everything = policy({ autoApprove: [{ source: "manual" }], twoPersonRule: {} });
    expect(
      autoApprove(everything, { type: "stop_service", source: "manual", entity: { name: "x" } }),
    ).toEqual({
      rule: 0,
    });
    expect(autoApprove(everything, { ...manualIsolate, entity: {} })).toBeNull();
  });
});

describe("policy.autoApprove: the folder rule cannot be walked around by spelling", () => {
  const semi = policy({
    autoApprove: [
      { type: "quarantine_file", source: "antivirus", pathPrefixesRequiringApproval: ["C:\\Windows\\"] },
      { type: "stop_process", source: "antivirus", pathPrefixesRequiringApproval: ["C:\\Windows\\"] },
      {
        type: "remove_scheduled_task",
        source: "antivirus",
        pathPrefixesRequiringApproval: ["\\Microsoft\\Windows\\"],
      },
    ],
  });
  const file = (path: string) => ({
    type: "quarantine_file" as const,
    source: "antivirus" as const,
    entity: { sha256: "b".repeat(64), path },
  });

  // Each of these names a file in C:\Windows, or cannot be told not to: a person decides.
  it.each([
    ["dot-dot out of another folder", "C:\\Temp\\..\\Windows\\System32\\evil.dll"],
    ["dot-dot from the root", "C:\\..\\Windows\\evil.dll"],
    ["a dot component", "C:\\.\\Windows\\evil.dll"],
    ["doubled separators", "C:\\\\Windows\\\\System32\\evil.dll"],
    ["forward slashes", "C:/Windows/System32/evil.dll"],
    ["mixed slashes, doubled", "C:/\\Windows//System32\\evil.dll"],
    ["a trailing dot on the folder", "C:\\Windows.\\System32\\evil.dll"],
    ["a trailing space on the folder", "C:\\Windows \\System32\\evil.dll"],
    ["trailing dots and spaces", "C:\\Windows. . .\\evil.dll"],
    ["another case", "c:\\wINDOWS\\system32\\EVIL.DLL"],
    ["a Win32 device prefix", "\\\\?\\C:\\Windows\\System32\\evil.dll"],
    ["a Win32 device prefix, dot form", "\\\\.\\C:\\Windows\\evil.dll"],
    ["an NT object path", "\\??\\C:\\Windows\\evil.dll"],
    ["a forward-slash device prefix", "//?/C:/Windows/evil.dll"],
    ["an administrative share", "\\\\localhost\\C$\\Windows\\evil.dll"],
    ["a share by address", "\\\\127.0.0.1\\c$\\Windows\\evil.dll"],
    ["a device prefix naming a share", "\\\\?\\UNC\\localhost\\C$\\Windows\\evil.dll"],
    ["a volume GUID", "\\\\?\\Volume{5e3f1b2a-0000-0000-0000-100000000000}\\Windows\\evil.dll"],
    ["a drive-relative path", "C:Windows\\System32\\evil.dll"],
    ["a path relative to the current drive", "\\Windows\\System32\\evil.dll"],
    ["an NT device path", "\\Device\\HarddiskVolume3\\Windows\\evil.dll"],
    ["a relative path", "Windows\\System32\\evil.dll"],
    ["an 8.3 short name", "C:\\WINDOW~1\\evil.dll"],
    ["an 8.3 short name of another folder", "C:\\PROGRA~1\\..\\Windows\\evil.dll"],
    ["an environment variable", "%SystemRoot%\\System32\\evil.dll"],
    ["an environment variable inside", "C:\\Users\\%USERNAME%\\..\\..\\Windows\\evil.dll"],
    ["a PowerShell variable", "$env:windir\\System32\\evil.dll"],
    ["an alternate data stream on the folder", "C:\\Windows:stream\\evil.dll"],
    ["a device name", "C:\\Temp\\NUL"],
    ["a component of three dots", "C:\\Temp\\...\\evil.dll"],
    ["a fullwidth backslash", "C:\\Temp\\..\uff3cWindows\\evil.dll"],
    ["a yen sign (backslash in code page 932)", "C:\\Temp\\..\u00a5Windows\\evil.dll"],
    ["a wildcard", "C:\\Win*\\evil.dll"],
    ["a NUL character", "C:\\Temp\\\u0000\\..\\Windows\\evil.dll"],
    ["a lone surrogate", "C:\\Temp\\\ud800\\evil.dll"],
    ["empty", " "],
  ])("%s: %j waits for a person", (_what, path) => {
    expect(autoApprove(semi, file(path))).toBeNull();
    expect(
      autoApprove(semi, { type: "stop_process", source: "antivirus", entity: { imagePath: path } }),
    ).toBeNull();
  });

  it.each([
    ["C:\\Users\\kim\\Downloads\\evil.exe"],
    ["C:\\Windows\\..\\Temp\\evil.exe"],
    ["C:/Temp//evil.exe"],
    ["C:\\WindowsApps\\evil.exe"],
    ["C:\\Windows2\\evil.exe"],
    ["D:\\Windows\\evil.exe"],
    ["C:\\Users\\José\\100%.exe"],
    ["C:\\Temp\\x.\\..\\evil.exe"],
  ])("%j is outside C:\\Windows and approved by the rule", (path) => {
    expect(autoApprove(semi, file(path))).toEqual({ rule: 0 });
  });

  it("a scheduled task's path is compared in the task library, not as a file", () => {
    const task = (path: string) => ({
      type: "remove_scheduled_task" as const,
      source: "antivirus" as const,
      entity: { path },
    });
    expect(autoApprove(semi, task("\\Microsoft\\Windows\\Defrag\\ScheduledDefrag"))).toBeNull();
    expect(autoApprove(semi, task("/microsoft//WINDOWS./Defrag"))).toBeNull();
    expect(autoApprove(semi, task("\\Vendor\\..\\Microsoft\\Windows\\X"))).toBeNull();
    expect(autoApprove(semi, task("\\Updater"))).toEqual({ rule: 2 });
    expect(autoApprove(semi, task("\\Microsoft\\WindowsUpdateHelper"))).toEqual({ rule: 2 });
  });

  it("a folder that cannot be put in canonical form is a policy error", () => {
    expect(
      problem({ autoApprove: [{ source: "antivirus", pathPrefixesRequiringApproval: ["%SystemRoot%"] }] }),
    ).toMatch(
      /^autoApprove\[0\]\.pathPrefixesRequiringApproval\[0\] must be a folder such as C:\\Windows\\: .*environment variable/,
    );
  });
});

describe("policy.stepUp", () => {
  const isolation = { type: "isolate_device", source: "manual" } as const;
  const scan = { type: "run_antivirus_scan", source: "manual" } as const;

  it("asks for no sign-in by default", () => {
    expect(usesStepUp(DEFAULT_POLICY)).toBe(false);
    expect(needsStepUp(DEFAULT_POLICY, isolation, "approve", true)).toBe(false);
    expect(DEFAULT_POLICY.signIn).toEqual({
      maxAge: 300_000,
      linkValidFor: 600_000,
      subjects: {},
      verifiedEmailClaims: [],
    });
  });

  it("takes the type's list over the source's; an empty list switches it off", () => {
    const p = policy({
      sources: { manual: { stepUp: ["approve"] } },
      types: { isolate_device: { stepUp: ["approve", "undo"] }, run_antivirus_scan: { stepUp: [] } },
    });
    expect(usesStepUp(p)).toBe(true);
    expect(needsStepUp(p, isolation, "undo", true)).toBe(true);
    expect(needsStepUp(p, scan, "approve", true)).toBe(false);
    expect(needsStepUp(p, { type: "stop_service", source: "manual" }, "approve", true)).toBe(true);
    expect(needsStepUp(p, { type: "stop_service", source: "manual" }, "undo", true)).toBe(false);
    expect(needsStepUp(p, { type: "stop_service", source: "antivirus" }, "approve", true)).toBe(false);
  });

  it("on the two-person rule: only the approval that completes it", () => {
    const p = policy({
      twoPersonRule: { types: ["isolate_device"], approvals: 2, stepUpLastApproval: true },
    });
    expect(usesStepUp(p)).toBe(true);
    expect(needsStepUp(p, isolation, "approve", false)).toBe(false);
    expect(needsStepUp(p, isolation, "approve", true)).toBe(true);
    expect(needsStepUp(p, isolation, "undo", true)).toBe(false);
    expect(needsStepUp(p, scan, "approve", true)).toBe(false);
  });

  it("refuses a policy that would auto-approve what needs a sign-in, and a decision it does not know", () => {
    expect(
      problem({ types: { isolate_device: { stepUp: ["approve"] } }, autoApprove: [{ source: "manual" }] }),
    ).toBe(
      "autoApprove[0] approves isolate_device actions, which the policy's stepUp says need a fresh sign-in to approve",
    );
    expect(problem({ types: { isolate_device: { stepUp: ["reject"] } } })).toBe(
      "types.isolate_device.stepUp[0] must be approve or undo",
    );
  });

  it("matches the person by the policy's subject when it names one, else by a verified address", () => {
    const p = policy({ signIn: { subjects: { U0ANN: "oid-ann" }, verifiedEmailClaims: ["upn"] } });
    const ann = { userId: "U0ANN", email: "ann@example.com" };
    expect(matchIdentity(p, ann, { sub: "oid-ann" })).toEqual({ ok: true, by: "subject" });
    // The mapping is the only proof for a mapped user: the right address does not do instead.
    expect(matchIdentity(p, ann, { sub: "oid-bob", email: "ann@example.com", email_verified: true }).ok).toBe(
      false,
    );
    const bob = { userId: "U0BOB", email: "Bob@Example.com" };
    expect(matchIdentity(p, bob, { sub: "x", email: "bob@example.com", email_verified: true })).toMatchObject(
      { ok: true, by: "email" },
    );
    expect(matchIdentity(p, bob, { sub: "x", upn: "BOB@example.com" })).toMatchObject({
      ok: true,
      by: "email",
    });
    expect(matchIdentity(p, bob, { sub: "x", email: "bob@example.com" })).toMatchObject({
      ok: false,
      message: "the identity provider gave no verified email address",
    });
    expect(matchIdentity(p, bob, { sub: "x", preferred_username: "bob@example.com" }).ok).toBe(false);
    expect(matchIdentity(p, { userId: "U0BOB", email: null }, { sub: "x", upn: "bob@example.com" }).ok).toBe(
      false,
    );
  });
});

describe("policy.requesters", () => {
  it("maps requesters to Slack users without regard to case", () => {
    const mapped = policy({ requesters: { "Alice@Example.com": "U0ALICE01" } });
    expect(requesterUserId(mapped, "alice@example.COM")).toBe("U0ALICE01");
    expect(requesterUserId(mapped, "bob@example.com")).toBeUndefined();
  });
});

describe("policy.errors", () => {
  it.each([
    [[], "must be a JSON object"],
    [{ ttll: "7d" }, "the policy has unknown field(s): ttll"],
    [
      { ttl: "a week" },
      'ttl must be a duration up to 365d: milliseconds (300) or "90s", "15m", "4h", "7d" (got "a week")',
    ],
    [{ types: { isolate: { ttl: "1d" } } }, "types has unknown field(s): isolate"],
    [
      { types: { isolate_device: { approvers: ["tier2"] } } },
      "types.isolate_device.approvers[0] must be a Slack user ID (U…) or user-group ID (S…)",
    ],
    [{ twoPersonRule: { approvals: 1 } }, "twoPersonRule.approvals must be at least 2"],
    [{ twoPersonRule: { types: ["isolate"] } }, "twoPersonRule.types[0] must be one of"],
    [{ escalation: { after: "8h" } }, "escalation needs a channel, a mention list or both"],
    [{ escalation: { after: "8h", channel: "#soc-leads" } }, "escalation.channel must be a channel ID"],
    [
      { reminder: { after: "1h", mention: [] } },
      "reminder.mention must name at least one user or user group",
    ],
    [
      { autoApprove: [{ pathPrefixesRequiringApproval: ["C:\\"] }] },
      "autoApprove[0] needs a type, a source or both",
    ],
    [{ autoApprove: [{ type: "quarantine_file", typo: 1 }] }, "autoApprove[0] has unknown field(s): typo"],
    [
      { requesters: { "alice@example.com": "alice" } },
      "requesters.alice@example.com must be a Slack user ID (U…)",
    ],
  ])("%j → %s", (document, expected) => {
    expect(problem(document)).toContain(expected);
  });
});

describe("policy.file", () => {
  it("reads a JSON file laid over the defaults", () => {
    const path = writePolicyFile({ twoPersonRule: {}, ttl: "2d" });
    const loaded = loadPolicy(path);
    expect(ttlFor(loaded, airQuarantine)).toBe(2 * DAY);
    expect(approvalsNeeded(loaded, manualIsolate)).toBe(2);
  });

  it.each([
    [
      "missing",
      () => join(dirname(writePolicyFile({})), "nope.json"),
      /nope\.json: cannot be read \(no such file\)$/,
    ],
    ["not JSON", () => writePolicyFile("{ ttl: 7d }"), /policy\.json: is not valid JSON \(/],
    [
      "invalid",
      () => writePolicyFile({ twoPersonRule: { approvals: 1 } }),
      /policy\.json: twoPersonRule\.approvals must be at least 2$/,
    ],
  ])("a %s file stops the start with one line naming the problem", (_what, path, message) => {
    const at = path();
    expect(() => loadPolicy(at)).toThrow(PolicyError);
    expect(() => loadPolicy(at)).toThrow(message);
    let error: unknown;
    try {
      loadConfig({ POLICY_FILE: at });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe("POLICY_FILE");
    expect((error as ConfigError).message).toMatch(new RegExp(`^POLICY_FILE ${at.replace(/[.]/g, "\\.")}: `));
    expect((error as ConfigError).message).not.toContain("\n");
  });
});
