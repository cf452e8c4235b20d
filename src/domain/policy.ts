// The approval policy: how long a pending action waits for a decision, who is reminded and when,
// how many people must approve it, who may decide it, which decisions need a fresh sign-in
// (step-up), and what is approved without a person.
// Plain data and pure functions: the file is read in src/config/policyFile.ts, Slack group membership
// and the clock are handed in by the callers.

import { z } from "zod";
import { ACTION_TYPES, type ActionType, type Entity, SOURCES, type Source } from "./actionTypes.ts";
import { connectorPolicySchema, DEFAULT_CONNECTOR_POLICY_DOCUMENT } from "./connectorRules.ts";
import { type ApproverList, GROUP_ID, USER_ID } from "./permissions.ts";
import { requesterKey } from "./requester.ts";
import { type Result, refuse } from "./result.ts";
import { THREAT_KIND_NAMES } from "./threats.ts";
import {
  canonicalFilePath,
  canonicalPath,
  canonicalTaskPath,
  isWithin,
  type PathKind,
} from "./windowsPath.ts";
import { plainWords } from "./zodMessages.ts";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_DURATION_MS = 365 * UNIT_MS.d;

/** `300` (milliseconds), `"300ms"`, `"90s"`, `"15m"`, `"4h"`, `"7d"` → milliseconds; null if none of those. */
export function parseDuration(value: unknown): number | null {
  let ms: number | null = null;
  if (typeof value === "number" && Number.isInteger(value)) ms = value;
  if (typeof value === "string") {
    const match = /^(\d{1,12})\s*(ms|s|m|h|d)$/.exec(value.trim());
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return ms !== null && ms > 0 && ms <= MAX_DURATION_MS ? ms : null;
}

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({
      code: "custom",
      message: `must be a duration up to 365d: milliseconds (300) or "90s", "15m", "4h", "7d" (got ${JSON.stringify(value)})`,
    });
    return z.NEVER;
  }
  return ms;
});

const slackTarget = z
  .string()
  .refine(
    (id) => USER_ID.test(id) || GROUP_ID.test(id),
    "must be a Slack user ID (U…) or user-group ID (S…)",
  );
const targets = z.array(slackTarget).min(1, "must name at least one user or user group");
const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID such as C0123456789");
const actionType = z.enum(ACTION_TYPES, `must be one of ${ACTION_TYPES.join(", ")}`);
const source = z.enum(SOURCES, `must be one of ${SOURCES.join(", ")}`);

const reminder = z
  .object({
    after: duration,
    /** Who is mentioned; the action type's approvers when left out. */
    mention: targets.optional(),
  })
  .strict();

const escalation = z
  .object({
    after: duration,
    /** Where the escalation is posted; the action's own thread when left out. */
    channel: channelId.optional(),
    mention: targets.optional(),
  })
  .strict()
  .refine(
    (e) => e.channel !== undefined || e.mention !== undefined,
    "needs a channel, a mention list or both",
  );

// null switches a reminder or escalation off where a broader rule would give one.
const timing = {
  ttl: duration.optional(),
  reminder: reminder.nullable().optional(),
  escalation: escalation.nullable().optional(),
};

/** The decisions a person takes only after a fresh sign-in with the identity provider. */
export const STEP_UP_DECISIONS = ["approve", "undo"] as const;
export type StepUpDecision = (typeof STEP_UP_DECISIONS)[number];
// An empty list switches step-up off where the source's rule would ask for it.
const stepUp = z
  .array(z.enum(STEP_UP_DECISIONS, `must be ${STEP_UP_DECISIONS.join(" or ")}`))
  .transform((list) => [...new Set(list)]);

const typeRule = z
  .object({
    ...timing,
    /** Narrows APPROVERS for this type: a decider must also be one of these users or groups. */
    approvers: targets.optional(),
    stepUp: stepUp.optional(),
  })
  .strict();
const sourceRule = z.object({ ...timing, stepUp: stepUp.optional() }).strict();

// A folder of the semi-automation rule: a drive-absolute file folder (C:\Windows\) or a Task
// Scheduler folder (\Microsoft\Windows\), in a form that can be canonicalised like the paths it
// is compared with.
const folder = z.string().superRefine((value, ctx) => {
  const file = canonicalFilePath(value);
  if (file.ok || canonicalTaskPath(value).ok) return;
  ctx.addIssue({ code: "custom", message: `must be a folder such as C:\\Windows\\: ${file.message}` });
});

const autoApproveRule = z
  .object({
    type: actionType.optional(),
    source: source.optional(),
    /** Semi-automation: an action on a path under one of these folders still waits for a person. */
    pathPrefixesRequiringApproval: z.array(folder).optional(),
  })
  .strict()
  .refine((r) => r.type !== undefined || r.source !== undefined, "needs a type, a source or both");

const keyed = <K extends string, S extends z.ZodType>(keys: readonly K[], schema: S) =>
  z
    .object(Object.fromEntries(keys.map((key) => [key, schema.optional()])) as Record<K, z.ZodOptional<S>>)
    .strict();

const UNKNOWN_REQUESTER = ["second_approver", "refuse", "allow"] as const;

const policySchema = z
  .object({
    ttl: duration,
    reminder: reminder.nullable(),
    escalation: escalation.nullable(),
    types: keyed(ACTION_TYPES, typeRule),
    sources: keyed(SOURCES, sourceRule),
    twoPersonRule: z
      .object({
        types: z
          .array(actionType)
          .min(1, "must name at least one action type")
          .default(["isolate_device", "restrict_code_execution"]),
        approvals: z
          .number()
          .int("must be a whole number")
          .min(2, "must be at least 2")
          .max(10, "must be at most 10")
          .default(2),
        /** Undoing an action of these types needs as many distinct approvers as approving it. */
        undo: z.boolean().default(true),
        /** The approval that completes the rule (the last one needed) needs a fresh sign-in. */
        stepUpLastApproval: z.boolean("must be true or false").default(false),
      })
      .strict()
      .nullable(),
    autoApprove: z.array(autoApproveRule),
    /** Threat grouping: pending actions on the same thing across devices shown as one message. */
    threats: z
      .object({
        /** Actions on one thing, arriving within `window`, that make a threat message. */
        minActions: z.number().int("must be a whole number").min(2, "must be at least 2").max(100_000),
        /** How close together they must arrive; a threat message takes in later ones this long. */
        window: duration,
        /** Which kinds of thing group; an empty list switches grouping off. */
        keys: z.array(z.enum(THREAT_KIND_NAMES, `must be one of ${THREAT_KIND_NAMES.join(", ")}`)),
      })
      .strict(),
    /** Who requested a manual action (its `requestedBy`) → their Slack user ID. */
    requesters: z
      .record(z.string(), z.string().regex(USER_ID, "must be a Slack user ID (U…)"))
      .superRefine((map, ctx) => {
        for (const key of Object.keys(map)) {
          if (requesterKey(key) !== null) continue;
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "must name a requester: an address or a user name",
          });
        }
      })
      // Keyed by the one spelling (domain/requester.ts), so `Alice@Example.com.` finds `alice@example.com`.
      .transform((map) => Object.fromEntries(Object.entries(map).map(([k, v]) => [requesterKey(k)!, v]))),
    /**
     * What a requester that cannot be put to a Slack user means for an approval: `second_approver`
     * (it counts, but nobody approves the action alone), `refuse` (nobody may approve it), `allow`
     * (as if the requester were somebody else).
     */
    unknownRequester: z.enum(UNKNOWN_REQUESTER, `must be one of ${UNKNOWN_REQUESTER.join(", ")}`),
    /** What the Defender connector proposes for Defender's alerts (domain/connectorRules.ts). */
    connector: connectorPolicySchema,
    /** How a step-up sign-in is done (which decisions need one: `stepUp` above). */
    signIn: z
      .object({
        /** The longest time since the person last entered their credentials (OIDC `max_age`). */
        maxAge: duration,
        /** How long the link given in Slack may be used, once. */
        linkValidFor: duration,
        /** Slack user ID → the identity provider's subject (`sub`) that is that person. */
        subjects: z.record(
          z.string().regex(USER_ID, "must be a Slack user ID (U…)"),
          z.string().min(1, "must not be empty"),
        ),
        /**
         * Claims besides a verified `email` (with `email_verified: true`) that the identity
         * provider only issues with an address it has verified, e.g. Entra ID's `upn`.
         */
        verifiedEmailClaims: z.array(z.string().regex(/^[A-Za-z_][\w.-]{0,63}$/, "must be a claim name")),
      })
      .strict(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    // Auto-approval would approve without anybody signing in: the two cannot both hold.
    policy.autoApprove.forEach((rule, index) => {
      const conflict = ACTION_TYPES.find(
        (type) =>
          (rule.type === undefined || rule.type === type) &&
          SOURCES.some(
            (src) =>
              (rule.source === undefined || rule.source === src) &&
              stepUpList(policy, { type, source: src }).includes("approve"),
          ),
      );
      if (conflict) {
        ctx.addIssue({
          code: "custom",
          path: ["autoApprove", index],
          message: `approves ${conflict} actions, which the policy's stepUp says need a fresh sign-in to approve`,
        });
      }
    });
  });

export type Policy = z.output<typeof policySchema>;
export type UnknownRequester = Policy["unknownRequester"];

/**
 * The policy when no file is given; a file is laid over it (objects merge key by key, anything
 * else replaces). Today's behaviour except that pending actions expire and remind.
 */
const DEFAULT_POLICY_DOCUMENT = {
  // Defender's own pending actions time out after a week.
  ttl: "7d",
  reminder: { after: "4h" },
  escalation: null,
  // Isolation is the most disruptive action and the most urgent.
  types: { isolate_device: { reminder: { after: "15m" } } },
  sources: {},
  twoPersonRule: null,
  autoApprove: [],
  // Three devices with the same file within an hour is an outbreak, not a coincidence.
  threats: {
    minActions: 3,
    window: "1h",
    keys: ["file", "url", "registry_value", "service", "driver", "scheduled_task", "process_image"],
  },
  requesters: {},
  // A requester nobody can name in Slack might be the approver: one more person has to look.
  unknownRequester: "second_approver",
  connector: DEFAULT_CONNECTOR_POLICY_DOCUMENT,
  // Microsoft's own re-authentication prompts use minutes, not hours, for sensitive operations.
  signIn: { maxAge: "5m", linkValidFor: "10m", subjects: {}, verifiedEmailClaims: [] },
} as const;

export type PolicyParse = Result<{ policy: Policy }, "invalid_policy">;

/** Validates a policy document laid over the defaults; a refusal is one line naming the problem. */
export function parsePolicy(document: unknown): PolicyParse {
  if (!isPlainObject(document)) return refuse("invalid_policy", "must be a JSON object");
  const parsed = policySchema.safeParse(mergeOver(DEFAULT_POLICY_DOCUMENT, document), { error: plainWords });
  if (parsed.success) return { ok: true, policy: parsed.data };
  const issue = parsed.error.issues[0]!;
  const where = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return refuse("invalid_policy", `${where || "the policy"} has ${issue.message}`);
  }
  return refuse("invalid_policy", where ? `${where} ${issue.message}` : issue.message);
}

const defaults = parsePolicy({});
if (!defaults.ok) throw new Error(`the built-in policy is invalid: ${defaults.message}`);
export const DEFAULT_POLICY: Policy = defaults.policy;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mergeOver(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = mergeOver(base[key], value);
  return merged;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : `${out}.${String(key)}`), "")
    .replace(/^\./, "");
}

// --- Decisions the policy makes -----------------------------------------------------------

export type PolicyAction = { type: ActionType; source: Source };

/** The most specific setting: the action type's, else the source's, else the policy-wide one. */
function setting<K extends keyof typeof timing>(policy: Policy, action: PolicyAction, key: K): Policy[K] {
  const byType = policy.types[action.type]?.[key];
  if (byType !== undefined) return byType as Policy[K];
  const bySource = policy.sources[action.source]?.[key];
  if (bySource !== undefined) return bySource as Policy[K];
  return policy[key];
}

/** How long a pending action waits for a decision before it expires, in milliseconds. */
export function ttlFor(policy: Policy, action: PolicyAction): number {
  return setting(policy, action, "ttl");
}

export type ReminderStep = {
  kind: "remind" | "escalate";
  afterMs: number;
  /** Who to mention; the type's approvers when undefined. */
  mention: string[] | undefined;
  /** Where to post; the action's own thread when undefined. */
  channel: string | undefined;
};

/** The reminder and escalation a still-pending action gets, earliest first; none at or after expiry. */
export function remindersFor(policy: Policy, action: PolicyAction): ReminderStep[] {
  const remind = setting(policy, action, "reminder");
  const escalate = setting(policy, action, "escalation");
  const steps: ReminderStep[] = [];
  if (remind)
    steps.push({ kind: "remind", afterMs: remind.after, mention: remind.mention, channel: undefined });
  if (escalate)
    steps.push({
      kind: "escalate",
      afterMs: escalate.after,
      mention: escalate.mention,
      channel: escalate.channel,
    });
  const ttl = ttlFor(policy, action);
  return steps.filter((step) => step.afterMs < ttl).sort((a, b) => a.afterMs - b.afterMs);
}

/** How many distinct approvers must approve before the action runs. */
export function approvalsNeeded(policy: Policy, action: Pick<PolicyAction, "type">): number {
  const rule = policy.twoPersonRule;
  return rule?.types.includes(action.type) ? rule.approvals : 1;
}

/** How many distinct approvers must ask for the action's undo before it is undone. */
export function undoApprovalsNeeded(policy: Policy, action: Pick<PolicyAction, "type">): number {
  return policy.twoPersonRule?.undo === false ? 1 : approvalsNeeded(policy, action);
}

export function toApproverList(ids: readonly string[]): ApproverList {
  return { userIds: ids.filter((id) => USER_ID.test(id)), groupIds: ids.filter((id) => GROUP_ID.test(id)) };
}

/** Who may decide actions of `type`: the type's own list when it has one, else APPROVERS. */
export function approversFor(policy: Policy, type: ActionType, approvers: ApproverList): ApproverList {
  const own = policy.types[type]?.approvers;
  return own ? toApproverList(own) : approvers;
}

/**
 * Whether a person may decide (approve, reject, retry, undo) an action of `type`: they must be
 * among APPROVERS and, where the type has its own approver list, on that list too.
 * `user.groups` holds the user groups the person belongs to, as last resolved.
 */
export function mayDecide(
  policy: Policy,
  type: ActionType,
  approvers: ApproverList,
  user: { id: string; groups: ReadonlySet<string> },
): boolean {
  const listed = (list: ApproverList) =>
    list.userIds.includes(user.id) || list.groupIds.some((group) => user.groups.has(group));
  const own = policy.types[type]?.approvers;
  return listed(approvers) && (own === undefined || listed(toApproverList(own)));
}

/** What the action acts on as a path, and in which namespace: a task's path is not a file's. */
function actionPath(action: PolicyAction & { entity: Entity }): { raw: string; kind: PathKind } | undefined {
  if (action.type === "remove_scheduled_task") {
    return action.entity.path === undefined ? undefined : { raw: action.entity.path, kind: "task" };
  }
  const raw = action.entity.path ?? action.entity.imagePath;
  return raw === undefined ? undefined : { raw, kind: "file" };
}

/**
 * Whether the action's path is under one of the folders. Both are compared in canonical form
 * (windowsPath.ts); a path that has none is treated as under every folder, so a person decides.
 * A folder of the other namespace (a file folder for a task) does not apply.
 */
function underAny(path: { raw: string; kind: PathKind }, folders: readonly string[]): boolean {
  const canonical = canonicalPath(path.raw, path.kind);
  if (!canonical.ok) return true;
  return folders.some((folder) => {
    const prefix = canonicalPath(folder, path.kind);
    return prefix.ok && isWithin(canonical.path, prefix.path);
  });
}

/**
 * The auto-approval rule that approves the action (its index in `autoApprove`), or null when a
 * person must decide. Actions under the two-person rule always wait for people.
 */
export function autoApprove(
  policy: Policy,
  action: PolicyAction & { entity: Entity },
): { rule: number } | null {
  if (approvalsNeeded(policy, action) > 1) return null;
  const path = actionPath(action);
  const rule = policy.autoApprove.findIndex((r) => {
    if (r.type !== undefined && r.type !== action.type) return false;
    if (r.source !== undefined && r.source !== action.source) return false;
    const prefixes = r.pathPrefixesRequiringApproval;
    if (prefixes === undefined) return true;
    // Semi-automation cannot tell where an action without a path acts: a person decides.
    if (path === undefined) return false;
    return !underAny(path, prefixes);
  });
  return rule === -1 ? null : { rule };
}

/** The Slack user the policy names for a requester (`requestedBy`, in any spelling), if it names one. */
export function requesterUserId(policy: Policy, requestedBy: string): string | undefined {
  const key = requesterKey(requestedBy);
  return key === null ? undefined : policy.requesters[key];
}

// --- Step-up sign-in ------------------------------------------------------------------------

type StepUpRules = {
  types: Partial<Record<ActionType, { stepUp?: StepUpDecision[] | undefined } | undefined>>;
  sources: Partial<Record<Source, { stepUp?: StepUpDecision[] | undefined } | undefined>>;
};

/** The decisions on the action that need a fresh sign-in: the type's list, else the source's. */
function stepUpList(policy: StepUpRules, action: PolicyAction): StepUpDecision[] {
  return policy.types[action.type]?.stepUp ?? policy.sources[action.source]?.stepUp ?? [];
}

/**
 * Whether a person's decision needs a fresh sign-in before it commits. `lastApproval`: this
 * approval would complete the two-person rule (the last one it needs).
 */
export function needsStepUp(
  policy: Policy,
  action: PolicyAction,
  decision: StepUpDecision,
  lastApproval: boolean,
): boolean {
  if (stepUpList(policy, action).includes(decision)) return true;
  const rule = policy.twoPersonRule;
  if (decision !== "approve" || !lastApproval || !rule?.stepUpLastApproval) return false;
  return rule.types.includes(action.type);
}

/** Whether any decision under the policy needs a fresh sign-in (then an identity provider is needed). */
export function usesStepUp(policy: Policy): boolean {
  const lists = [...Object.values(policy.types), ...Object.values(policy.sources)].map(
    (rule) => rule?.stepUp ?? [],
  );
  return lists.some((list) => list.length > 0) || policy.twoPersonRule?.stepUpLastApproval === true;
}

/** What the identity provider said of the person who signed in (the ID token's claims). */
export type SignedInClaims = Record<string, unknown> & { sub: string };

export type IdentityMatch = Result<{ by: "subject" | "email"; email?: string }, "identity_mismatch">;

/**
 * Whether the person who signed in is the Slack user who clicked: the policy's subject for that
 * user when it names one (then nothing else counts), else an address the provider has verified
 * equal to the Slack user's address.
 */
export function matchIdentity(
  policy: Policy,
  slackUser: { userId: string; email: string | null },
  claims: SignedInClaims,
): IdentityMatch {
  const subject = policy.signIn.subjects[slackUser.userId];
  if (subject !== undefined) {
    return claims.sub === subject
      ? { ok: true, by: "subject" }
      : refuse(
          "identity_mismatch",
          `signed in as subject ${claims.sub}, not the one the policy names for this Slack user`,
        );
  }
  const verified = verifiedEmails(policy, claims);
  if (slackUser.email === null) {
    return refuse(
      "identity_mismatch",
      "Slack has no email address for this user, and the policy maps no subject to them",
    );
  }
  const wanted = slackUser.email.toLowerCase();
  if (verified.includes(wanted)) return { ok: true, by: "email", email: wanted };
  return refuse(
    "identity_mismatch",
    verified.length > 0
      ? `signed in as ${verified.join(", ")}, not the Slack user's ${wanted}`
      : "the identity provider gave no verified email address",
  );
}

function verifiedEmails(policy: Policy, claims: SignedInClaims): string[] {
  const found: unknown[] = claims.email_verified === true ? [claims.email] : [];
  for (const name of policy.signIn.verifiedEmailClaims) found.push(claims[name]);
  return [
    ...new Set(
      found.filter((v): v is string => typeof v === "string" && v.includes("@")).map((v) => v.toLowerCase()),
    ),
  ];
}
