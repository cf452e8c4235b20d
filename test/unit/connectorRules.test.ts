import { describe, expect, it } from "vitest";
import {
  type AlertFacts,
  type ConnectorPolicy,
  type EvidenceFacts,
  proposeActions,
  resolutionWords,
} from "../../src/domain/connectorRules.ts";
import { DEFAULT_POLICY, parsePolicy } from "../../src/domain/policy.ts";
import { sha1Of, sha256Of } from "../support/fixtures.ts";

const MACHINE = sha1Of(1);

function evidence(entityType: string, fields: Partial<EvidenceFacts> = {}): EvidenceFacts {
  return {
    entityType,
    sha1: null,
    sha256: null,
    fileName: null,
    filePath: null,
    processId: null,
    url: null,
    registryKey: null,
    registryHive: null,
    registryValueName: null,
    detectionStatus: null,
    ...fields,
  };
}

const file = (n: number, detectionStatus = "Detected") =>
  evidence("File", {
    sha1: sha1Of(n).toUpperCase(),
    sha256: sha256Of(n),
    fileName: "evil.exe",
    filePath: "C:\\Users\\bob\\Downloads\\",
    detectionStatus,
  });

function alert(fields: Partial<AlertFacts> = {}): AlertFacts {
  return {
    id: "da637472900382838869_1364969609",
    title: "Suspicious behavior",
    severity: "High",
    status: "New",
    category: "Execution",
    detectionSource: "WindowsDefenderAtp",
    machineId: MACHINE,
    evidence: [],
    ...fields,
  };
}

function policyWith(connector: unknown): ConnectorPolicy {
  const parsed = parsePolicy({ connector });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.policy.connector;
}

const proposed = (policy: ConnectorPolicy, facts: AlertFacts) =>
  proposeActions(policy, facts).proposals.map((p) => [p.type, p.evidenceKey, p.rule]);

describe("connector.rules.happy", () => {
  const defaults = DEFAULT_POLICY.connector;

  it("by default: a High alert's undetected file is quarantined and its device isolated", () => {
    const { proposals, unusable } = proposeActions(
      defaults,
      alert({ evidence: [evidence("User"), file(1), file(2, "Blocked")] }),
    );
    expect(unusable).toEqual([]);
    expect(proposals).toEqual([
      {
        type: "quarantine_file",
        entity: { sha256: sha256Of(1), sha1: sha1Of(1), path: "C:\\Users\\bob\\Downloads\\evil.exe" },
        evidenceKey: `file:${sha256Of(1)}`,
        rule: 1,
      },
      { type: "isolate_device", entity: {}, evidenceKey: `device:${MACHINE}`, rule: 2 },
    ]);
  });

  it("by default: URL evidence is blocked whatever the severity, a Medium alert isolates nothing", () => {
    const facts = alert({
      severity: "Medium",
      evidence: [evidence("Url", { url: "https://evil.example.com/payload" }), file(3)],
    });
    expect(proposeActions(defaults, facts).proposals).toEqual([
      {
        type: "block_url",
        entity: { url: "https://evil.example.com/payload" },
        evidenceKey: "url:https://evil.example.com/payload",
        rule: 3,
      },
    ]);
  });

  it("a resolved alert proposes nothing", () => {
    expect(proposed(defaults, alert({ status: "Resolved", evidence: [file(1)] }))).toEqual([]);
  });

  it("matches severity, category and detection source without case, and evidence kinds by name", () => {
    const policy = policyWith({
      rules: [
        { propose: "run_antivirus_scan", category: ["execution"], detectionSource: ["windowsdefenderatp"] },
        { propose: "collect_investigation_package", severity: ["Low"] },
        { propose: "restrict_code_execution", evidence: "Process" },
      ],
    });
    expect(proposed(policy, alert({ severity: "high" }))).toEqual([
      ["run_antivirus_scan", `device:${MACHINE}`, 1],
    ]);
    expect(
      proposed(
        policy,
        alert({ category: "Exfiltration", evidence: [evidence("process", { processId: 7 })] }),
      ),
    ).toEqual([["restrict_code_execution", `device:${MACHINE}`, 3]]);
  });

  it("maps process and registry evidence, and proposes the same action on the same evidence once", () => {
    const policy = policyWith({
      rules: [
        { propose: "stop_process", evidence: "Process", detectionStatus: ["Detected"] },
        { propose: "stop_process" },
        { propose: "remove_registry_key" },
      ],
    });
    const { proposals } = proposeActions(
      policy,
      alert({
        evidence: [
          evidence("Process", {
            processId: 3276,
            fileName: "rundll32.exe",
            filePath: "C:\\Windows\\SysWOW64",
            detectionStatus: "Detected",
          }),
          evidence("Registry", {
            registryHive: "HKEY_LOCAL_MACHINE",
            registryKey: "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
            registryValueName: "updater",
          }),
        ],
      }),
    );
    expect(proposals.map((p) => [p.type, p.entity, p.rule])).toEqual([
      ["stop_process", { pid: 3276, imagePath: "C:\\Windows\\SysWOW64\\rundll32.exe" }, 1],
      [
        "remove_registry_key",
        {
          key: "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
          valueName: "updater",
        },
        3,
      ],
    ]);
  });

  it("says why a matching rule made nothing: no SHA-256, no device, a URL that is not one", () => {
    const policy = policyWith({
      rules: [{ propose: "quarantine_file" }, { propose: "block_url" }, { propose: "isolate_device" }],
    });
    const noHash = evidence("File", { sha1: sha1Of(9), fileName: "a.exe" });
    expect(proposeActions(policy, alert({ evidence: [noHash] })).unusable).toEqual([
      { rule: 1, reason: "file a.exe has no SHA-256" },
    ]);
    const noDevice = proposeActions(
      policy,
      alert({ machineId: null, evidence: [evidence("Url", { url: "ftp://x" })] }),
    );
    expect(noDevice.proposals).toEqual([]);
    expect(noDevice.unusable).toEqual([
      { rule: 1, reason: "the alert names no device" },
      { rule: 2, reason: expect.stringMatching(/^block_url: /) },
      { rule: 3, reason: "the alert names no device" },
    ]);
  });

  it("words a resolution with the owner and the verdict Defender gives", () => {
    expect(
      resolutionWords({
        assignedTo: "secop@contoso.com",
        classification: "TruePositive",
        determination: "Malware",
      }),
    ).toBe("resolved in Defender by secop@contoso.com (TruePositive, Malware)");
    expect(resolutionWords({ assignedTo: null, classification: null, determination: null })).toBe(
      "resolved in Defender",
    );
  });
});

describe("connector.rules.error", () => {
  it.each([
    [
      { rules: [{ propose: "stop_service" }] },
      /^connector\.rules\[0\]\.propose must be one of .*no services, drivers or scheduled tasks\)$/,
    ],
    [
      { rules: [{ propose: "quarantine_file", evidence: "Url" }] },
      /^connector\.rules\[0\]\.evidence must be File for quarantine_file \(or left out\)$/,
    ],
    [
      { rules: [{ propose: "isolate_device", detectionStatus: ["Detected"] }] },
      /^connector\.rules\[0\]\.detectionStatus filters evidence, so the rule needs an evidence kind$/,
    ],
    [
      { rules: [{}, { propose: "isolate_device", severity: ["Critical"] }] },
      /^connector\.rules\[0\]\.propose /,
    ],
    [
      { rules: [{ propose: "isolate_device", severity: ["Critical"] }] },
      /^connector\.rules\[0\]\.severity\[0\] must be one of UnSpecified, Informational, Low, Medium, High$/,
    ],
    [
      { rules: [{ propose: "isolate_device", when: "always" }] },
      /^connector\.rules\[0\] has unknown field\(s\): when$/,
    ],
    [{ expirePendingWhenResolved: "yes" }, /^connector\.expirePendingWhenResolved must be true or false$/],
    [
      { rules: [{ propose: "isolate_device", category: [""] }] },
      /^connector\.rules\[0\]\.category\[0\] must not be empty$/,
    ],
  ])("%o is refused in one line", (connector, message) => {
    const parsed = parsePolicy({ connector });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toMatch(message);
    expect(parsed.message).not.toContain("\n");
  });

  it("a policy file's rules replace the defaults; its switch alone keeps them", () => {
    expect(policyWith({ rules: [] }).rules).toEqual([]);
    const switched = policyWith({ expirePendingWhenResolved: true });
    expect(switched.expirePendingWhenResolved).toBe(true);
    expect(switched.rules).toEqual(DEFAULT_POLICY.connector.rules);
  });
});
