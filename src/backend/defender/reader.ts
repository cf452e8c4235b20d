// What the connector reads from Defender for Endpoint: alerts with their evidence, automated
// investigations and machine actions, a page at a time, and a file's other hashes. The same
// client as the worker's (client.ts), metered by the connector's share of the app's budgets.
// Answers are checked field by field: what Defender leaves out or reshapes becomes null.
import type { Redis } from "ioredis";
import { z } from "zod";
import type { DefenderConfig } from "../../config/env.ts";
import type { AlertFacts, EvidenceFacts } from "../../domain/connectorRules.ts";
import { BackendError } from "../types.ts";
import { defenderBudgets, meteredBy } from "./budget.ts";
import { createDefenderClient, DefenderApiError } from "./client.ts";
import { PERMISSIONS } from "./requests.ts";

/**
 * One page of a collection; `next` is the path of the following page, null on the last.
 * `unreadable` counts the items that lacked what every item has (an id), left out of `items`.
 */
export type Page<T> = { items: T[]; next: string | null; unreadable: number };

const text = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined || value === "" ? null : String(value)));
const time = z
  .string()
  .nullish()
  .transform((value) => {
    const date = value ? new Date(value) : null;
    return date && Number.isFinite(date.getTime()) ? date : null;
  });
const count = z
  .number()
  .int()
  .nullish()
  .transform((value) => value ?? null);

const evidenceSchema = z.object({
  entityType: z.string().catch("Unknown"),
  sha1: text,
  sha256: text,
  fileName: text,
  filePath: text,
  processId: count.catch(null),
  url: text,
  registryKey: text,
  registryHive: text,
  registryValueName: text,
  detectionStatus: text,
}) satisfies z.ZodType<EvidenceFacts, unknown>;

const alertSchema = z.object({
  id: z.string().min(1),
  incidentId: text,
  investigationId: text,
  title: z.string().catch("Untitled alert"),
  severity: z.string().catch("UnSpecified"),
  status: z.string().catch("Unknown"),
  category: text,
  detectionSource: text,
  machineId: text,
  computerDnsName: text,
  assignedTo: text,
  classification: text,
  determination: text,
  lastUpdateTime: time,
  resolvedTime: time,
  evidence: z
    .array(evidenceSchema)
    .nullish()
    .transform((value) => value ?? []),
});
export type DefenderAlert = z.output<typeof alertSchema> & AlertFacts;

const investigationSchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  state: z.string().catch("Unknown"),
  statusDetails: text,
  machineId: text,
  computerDnsName: text,
  triggeringAlertId: text,
  startTime: time,
  endTime: time,
  cancelledBy: text,
});
export type DefenderInvestigation = z.output<typeof investigationSchema>;

const machineActionSchema = z
  .object({
    id: z.string().min(1),
    type: z.string().catch("Unknown"),
    scope: text,
    requestor: text,
    requestSource: text,
    requestorComment: text,
    status: z.string().catch("Unknown"),
    machineId: text,
    computerDnsName: text,
    creationDateTimeUtc: time,
    // The list examples name it lastUpdateTimeUtc, the entity page lastUpdateDateTimeUtc.
    lastUpdateDateTimeUtc: time,
    lastUpdateTimeUtc: time,
    cancellationRequestor: text,
    cancellationComment: text,
    relatedFileInfo: z
      .object({ fileIdentifier: z.string(), fileIdentifierType: z.string() })
      .nullish()
      .catch(null)
      .transform((value) => value ?? null),
  })
  .transform(({ lastUpdateTimeUtc, ...action }) => ({
    ...action,
    lastUpdateDateTimeUtc: action.lastUpdateDateTimeUtc ?? lastUpdateTimeUtc,
  }));
export type DefenderMachineAction = z.output<typeof machineActionSchema>;

const fileSchema = z.object({ sha1: text, sha256: text });

/** An OData DateTimeOffset literal, as Defender's filters take it (unquoted). */
const odataTime = (date: Date) => date.toISOString();

export type DefenderReader = ReturnType<typeof createDefenderReader>;

export function createDefenderReader(config: DefenderConfig, deps: { redis: Redis; queuePrefix: string }) {
  const budgets = defenderBudgets(deps.queuePrefix, config);
  const client = createDefenderClient(config, { beforeCall: meteredBy(deps.redis, budgets.connector) });
  const apiOrigin = new URL(config.apiUrl).origin;
  const basePath = new URL(config.apiUrl).pathname.replace(/\/+$/, "");
  const top = `$top=${config.connector.pageSize}`;

  /**
   * The path of Defender's next-page link under our API base. The link carries no credential, but
   * our bearer token goes wherever it points: a link to any other host is refused.
   */
  function nextPath(link: unknown): string | null {
    if (typeof link !== "string" || link === "") return null;
    const url = URL.canParse(link) ? new URL(link) : null;
    if (!url || url.origin !== apiOrigin || !url.pathname.startsWith(`${basePath}/api/`)) {
      throw new BackendError(
        `Defender's next-page link does not point under DEFENDER_API_URL (${apiOrigin}${basePath}): ${client.redact(link).slice(0, 200)}`,
        false,
      );
    }
    return `${url.pathname.slice(basePath.length)}${url.search}`;
  }

  async function page<T>(path: string, schema: z.ZodType<T>, permission: string): Promise<Page<T>> {
    const body = await client.call<{ value?: unknown; "@odata.nextLink"?: unknown }>({
      method: "GET",
      path,
      permission,
      notFound: `Defender has no collection at ${path.split("?")[0]}`,
    });
    if (!Array.isArray(body?.value)) {
      throw new BackendError(`Defender answered ${path.split("?")[0]} without a list of values`, true);
    }
    const items: T[] = [];
    let unreadable = 0;
    for (const value of body.value) {
      const parsed = schema.safeParse(value);
      // One unreadable item must not hide the rest of the page; the caller logs the count.
      if (parsed.success) items.push(parsed.data);
      else unreadable += 1;
    }
    return { items, next: nextPath(body["@odata.nextLink"]), unreadable };
  }

  async function one<T>(path: string, schema: z.ZodType<T>, permission: string): Promise<T | null> {
    try {
      const body = await client.call<unknown>({ method: "GET", path, permission, notFound: "not found" });
      const parsed = schema.safeParse(body);
      return parsed.success ? parsed.data : null;
    } catch (error) {
      if (error instanceof DefenderApiError && error.status === 404) return null;
      throw error;
    }
  }

  const filtered = (collection: string, filter: string, extra = "") =>
    `/api/${collection}?$filter=${encodeURIComponent(filter)}${extra}&${top}`;

  return {
    /** Alerts updated since `since`, with their evidence. */
    alertsSince: (since: Date) =>
      filtered("alerts", `lastUpdateTime ge ${odataTime(since)}`, "&$expand=evidence"),
    /** Machine actions created since `since`. */
    machineActionsSince: (since: Date) =>
      filtered("machineactions", `creationDateTimeUtc ge ${odataTime(since)}`),
    /** Automated investigations waiting for approval in the portal. */
    pendingInvestigations: () => filtered("investigations", "state eq 'PendingApproval'"),
    readAlerts: (path: string) => page(path, alertSchema, PERMISSIONS.alerts) as Promise<Page<DefenderAlert>>,
    readInvestigations: (path: string) => page(path, investigationSchema, PERMISSIONS.alerts),
    readMachineActions: (path: string) => page(path, machineActionSchema, PERMISSIONS.read),
    investigation: (id: string) =>
      one(`/api/investigations/${encodeURIComponent(id)}`, investigationSchema, PERMISSIONS.alerts),
    /** A file's SHA-1 and SHA-256, by either; null when Defender does not know the file. */
    file: (hash: string) => one(`/api/files/${encodeURIComponent(hash)}`, fileSchema, PERMISSIONS.files),
  };
}
