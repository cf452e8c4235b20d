// What the Defender connector proposes for an alert: the `connector` section of the policy file
// (its rules, checked at start with the rest of the policy) and the mapping of an alert and its
// evidence to pending actions. Plain data and pure functions: the connector reads Defender, the
// ingest service stores what this returns.
import { z } from "zod";
import { type ActionType, ENTITY_SCHEMAS, type Entity } from "./actionTypes.ts";

/** The alert severities Defender documents (Alert resource type). */
export const ALERT_SEVERITIES = ["UnSpecified", "Informational", "Low", "Medium", "High"] as const;
/** The evidence the rules can act on; Defender also reports User and Ip evidence, which no action type takes. */
export const EVIDENCE_KINDS = ["File", "Process", "Url", "Registry"] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];
/** An evidence item's `detectionStatus`: `Detected` is not yet blocked or prevented on the device. */
export const DETECTION_STATUSES = ["Detected", "Blocked", "Prevented"] as const;

/** The action types that take their entity from one kind of evidence. */
const ENTITY_FROM: Partial<Record<ActionType, EvidenceKind>> = {
  quarantine_file: "File",
  stop_process: "Process",
  block_url: "Url",
  remove_registry_key: "Registry",
};
/** The action types that act on the alert's device as a whole. */
const DEVICE_TYPES = [
  "isolate_device",
  "restrict_code_execution",
  "run_antivirus_scan",
  "collect_investigation_package",
] as const satisfies ActionType[];
/** What a rule may propose: Defender's evidence names no services, drivers or scheduled tasks. */
export const PROPOSABLE_TYPES = [
  ...DEVICE_TYPES,
  ...(Object.keys(ENTITY_FROM) as (keyof typeof ENTITY_FROM)[]),
] as const;

const names = z.array(z.string().trim().min(1, "must not be empty")).min(1, "must name at least one");

const ruleSchema = z
  .object({
    propose: z.enum(
      PROPOSABLE_TYPES,
      `must be one of ${PROPOSABLE_TYPES.join(", ")} (Defender's alert evidence names no services, drivers or scheduled tasks)`,
    ),
    severity: z
      .array(z.enum(ALERT_SEVERITIES, `must be one of ${ALERT_SEVERITIES.join(", ")}`))
      .min(1)
      .optional(),
    category: names.optional(),
    detectionSource: names.optional(),
    /** The evidence the alert must carry; for a file, process, URL or registry action, what it acts on. */
    evidence: z.enum(EVIDENCE_KINDS, `must be one of ${EVIDENCE_KINDS.join(", ")}`).optional(),
    /** Only evidence in one of these states counts, e.g. ["Detected"]: not yet remediated. */
    detectionStatus: z
      .array(z.enum(DETECTION_STATUSES, `must be one of ${DETECTION_STATUSES.join(", ")}`))
      .min(1)
      .optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const from = ENTITY_FROM[rule.propose];
    if (from && rule.evidence !== undefined && rule.evidence !== from) {
      ctx.addIssue({
        code: "custom",
        path: ["evidence"],
        message: `must be ${from} for ${rule.propose} (or left out)`,
      });
    }
    if (rule.detectionStatus && !from && rule.evidence === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["detectionStatus"],
        message: "filters evidence, so the rule needs an evidence kind",
      });
    }
  });

export const connectorPolicySchema = z
  .object({
    /** Tried in order for every alert; each proposes at most one action per evidence item. */
    rules: z.array(ruleSchema).max(100, "must hold at most 100 rules"),
    /** Whether a pending proposal expires when its alert is resolved in Defender. */
    expirePendingWhenResolved: z.boolean("must be true or false"),
  })
  .strict();

export type ConnectorPolicy = z.output<typeof connectorPolicySchema>;
export type ConnectorRule = ConnectorPolicy["rules"][number];

/** The connector's defaults: Microsoft's own examples of what a SOC does about a severe alert. */
export const DEFAULT_CONNECTOR_POLICY_DOCUMENT = {
  rules: [
    { propose: "quarantine_file", severity: ["High"], evidence: "File", detectionStatus: ["Detected"] },
    { propose: "isolate_device", severity: ["High"] },
    { propose: "block_url", evidence: "Url" },
  ],
  expirePendingWhenResolved: false,
} as const;

/** An evidence item of an alert, as Defender reports it (`$expand=evidence`); nulls where absent. */
export type EvidenceFacts = {
  entityType: string;
  sha1: string | null;
  sha256: string | null;
  fileName: string | null;
  filePath: string | null;
  processId: number | null;
  url: string | null;
  registryKey: string | null;
  registryHive: string | null;
  /** Not on Microsoft's examples of the Defender for Endpoint entity; read when present. */
  registryValueName: string | null;
  detectionStatus: string | null;
};

/** What the rules read of an alert. */
export type AlertFacts = {
  id: string;
  title: string;
  severity: string;
  status: string;
  category: string | null;
  detectionSource: string | null;
  machineId: string | null;
  evidence: readonly EvidenceFacts[];
};

export type Proposal = {
  type: ActionType;
  entity: Entity;
  /** Names the evidence the action acts on (or the device), so that a proposal is made once. */
  evidenceKey: string;
  /** The rule that proposed it, counting from 1. */
  rule: number;
};

/** A rule that matched but could not make an action of the evidence (no SHA-256, a bad URL…). */
export type Unusable = { rule: number; reason: string };

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** `c:\temp` and `evil.exe` → `c:\temp\evil.exe`; Defender reports a file's folder and name apart. */
function joinPath(folder: string | null, name: string | null): string | undefined {
  if (!name) return folder ?? undefined;
  if (!folder) return name;
  return `${folder.replace(/[\\/]+$/, "")}\\${name}`;
}

/** The entity an action of `kind` takes from the evidence, with the key that names it; or why not. */
function entityOf(
  kind: EvidenceKind,
  evidence: EvidenceFacts,
): { entity: Entity; key: string } | { reason: string } {
  switch (kind) {
    case "File": {
      if (!evidence.sha256) return { reason: `file ${evidence.fileName ?? "evidence"} has no SHA-256` };
      const entity: Entity = {
        sha256: evidence.sha256.toLowerCase(),
        ...(evidence.sha1 && { sha1: evidence.sha1.toLowerCase() }),
      };
      const path = joinPath(evidence.filePath, evidence.fileName);
      if (path) entity.path = path;
      return { entity, key: `file:${entity.sha256}` };
    }
    case "Process": {
      const imagePath = joinPath(evidence.filePath, evidence.fileName);
      const entity: Entity = {
        ...(evidence.processId !== null && { pid: evidence.processId }),
        ...(imagePath && { imagePath }),
      };
      return { entity, key: `process:${evidence.processId ?? ""}:${imagePath ?? ""}` };
    }
    case "Url":
      if (!evidence.url) return { reason: "URL evidence has no url" };
      return { entity: { url: evidence.url }, key: `url:${evidence.url}` };
    case "Registry": {
      const { registryKey, registryHive } = evidence;
      if (!registryKey) return { reason: "registry evidence has no key" };
      const key =
        registryHive && !registryKey.toLowerCase().startsWith(registryHive.toLowerCase())
          ? `${registryHive}\\${registryKey}`
          : registryKey;
      const entity: Entity = {
        key,
        ...(evidence.registryValueName && { valueName: evidence.registryValueName }),
      };
      return { entity, key: `registry:${key}\\${entity.valueName ?? ""}` };
    }
  }
}

function alertMatches(rule: ConnectorRule, alert: AlertFacts): boolean {
  const among = (allowed: readonly string[] | undefined, value: string | null) =>
    allowed === undefined || (value !== null && allowed.some((name) => sameName(name, value)));
  return (
    among(rule.severity, alert.severity) &&
    among(rule.category, alert.category) &&
    among(rule.detectionSource, alert.detectionSource)
  );
}

function evidenceMatches(rule: ConnectorRule, kind: EvidenceKind, evidence: EvidenceFacts): boolean {
  if (!sameName(evidence.entityType, kind)) return false;
  const status = evidence.detectionStatus;
  return (
    rule.detectionStatus === undefined ||
    (status !== null && rule.detectionStatus.some((allowed) => sameName(allowed, status)))
  );
}

/**
 * The pending actions the rules propose for an alert, in rule order, each once (the first rule
 * to propose an action on the same evidence wins). A resolved alert proposes nothing.
 */
export function proposeActions(
  policy: ConnectorPolicy,
  alert: AlertFacts,
): { proposals: Proposal[]; unusable: Unusable[] } {
  const proposals: Proposal[] = [];
  const unusable: Unusable[] = [];
  if (sameName(alert.status, "Resolved")) return { proposals, unusable };
  const seen = new Set<string>();
  const add = (proposal: Proposal) => {
    const id = `${proposal.type}\u0000${proposal.evidenceKey}`;
    if (seen.has(id)) return;
    const checked = ENTITY_SCHEMAS[proposal.type].safeParse(proposal.entity);
    if (!checked.success) {
      unusable.push({ rule: proposal.rule, reason: `${proposal.type}: ${checked.error.issues[0]!.message}` });
      return;
    }
    seen.add(id);
    proposals.push({ ...proposal, entity: checked.data as Entity });
  };
  policy.rules.forEach((rule, index) => {
    if (!alertMatches(rule, alert)) return;
    const number = index + 1;
    const onDevice = rule.propose !== "block_url";
    if (onDevice && !alert.machineId) {
      unusable.push({ rule: number, reason: "the alert names no device" });
      return;
    }
    const from = ENTITY_FROM[rule.propose];
    const kind = from ?? rule.evidence;
    const evidence = kind ? alert.evidence.filter((item) => evidenceMatches(rule, kind, item)) : [];
    if (!from) {
      if (kind && evidence.length === 0) return;
      add({ type: rule.propose, entity: {}, evidenceKey: `device:${alert.machineId}`, rule: number });
      return;
    }
    for (const item of evidence) {
      const made = entityOf(from, item);
      if ("reason" in made) unusable.push({ rule: number, reason: made.reason });
      else add({ type: rule.propose, entity: made.entity, evidenceKey: made.key, rule: number });
    }
  });
  return { proposals, unusable };
}

/**
 * "resolved in Defender by secop@contoso.com (TruePositive, Malware)". Defender's alert names no
 * resolver: its owner (`assignedTo`) is who the SOC holds to it.
 */
export function resolutionWords(alert: {
  assignedTo: string | null;
  classification: string | null;
  determination: string | null;
}): string {
  const by = alert.assignedTo ? ` by ${alert.assignedTo}` : "";
  const verdict = [alert.classification, alert.determination].filter(Boolean).join(", ");
  return `resolved in Defender${by}${verdict ? ` (${verdict})` : ""}`;
}
