// The action object of the ingest contract, validated as one unit: a batch is all or nothing.
import { z } from "zod";
import { ACTION_TYPE_INFO, ACTION_TYPES, ENTITY_SCHEMAS, type Entity, SOURCES } from "./actionTypes.ts";
import { storableString } from "./storableText.ts";
import { safeParsePlainly } from "./zodMessages.ts";

export const MAX_BATCH = 1000;

const id = (max: number) =>
  storableString()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .regex(/^[^\u0000-\u001f]*$/, "must not contain control characters");

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) => (issue.input === undefined ? "is required" : `must be one of ${values.join(", ")}`),
  });

const baseAction = z
  .object({
    externalId: id(200),
    source: oneOf(SOURCES),
    type: oneOf(ACTION_TYPES),
    status: z.enum(["pending", "completed"], "must be pending or completed").default("pending"),
    investigationId: id(200).optional(),
    incidentId: id(200).optional(),
    device: z
      .object({ id: id(200), name: id(255) })
      .strict()
      .optional(),
    entity: z.record(z.string(), z.unknown()).default({}),
    requestedBy: id(320).optional(),
    comment: storableString().max(1000, "must be at most 1,000 characters").optional(),
  })
  .strict();

/**
 * Each type's entity schema compiled (`z.compile`): zod generates a parser for the schema that
 * validates input without its runtime's work per field, and hands input it refuses to the
 * runtime, so what fails is reported exactly as before. The API's batches are parsed on every
 * request, and most of their parse is here and in the action's own fields.
 */
const COMPILED_ENTITY_SCHEMAS = Object.fromEntries(
  Object.entries(ENTITY_SCHEMAS).map(([type, schema]) => [type, z.compile(schema)]),
) as typeof ENTITY_SCHEMAS;

export const actionInputSchema = baseAction.transform((action, ctx) => {
  const schema = COMPILED_ENTITY_SCHEMAS[action.type];
  const entity = safeParsePlainly(schema, action.entity);
  if (!entity.success) {
    for (const issue of entity.error.issues) {
      ctx.addIssue({ code: "custom", path: ["entity", ...issue.path], message: issue.message });
    }
    return z.NEVER;
  }
  if (ACTION_TYPE_INFO[action.type].needsDevice && action.device === undefined) {
    ctx.addIssue({ code: "custom", path: ["device"], message: `is required for ${action.type}` });
    return z.NEVER;
  }
  return { ...action, entity: entity.data as Entity };
});

export type ActionInput = z.output<typeof actionInputSchema>;

// Compiled as the entities are (above).
const actionListSchema = z.compile(z.array(actionInputSchema));

export type ValidationIssue = { path: string; message: string };

/** Validates a single action or a batch; returns every issue with a JSON-path-like location. */
export function parseIngestBody(
  body: unknown,
): { ok: true; actions: ActionInput[] } | { ok: false; issues: ValidationIssue[] } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, issues: [{ path: "$", message: "must be an action object or { actions: [...] }" }] };
  }
  const isBatch = "actions" in body;
  let items: unknown[] = [body];
  if (isBatch) {
    const list = (body as { actions: unknown }).actions;
    const extra = Object.keys(body).filter((key) => key !== "actions");
    const issues: ValidationIssue[] = extra.map((key) => ({ path: `$.${key}`, message: "is not allowed" }));
    if (!Array.isArray(list)) issues.push({ path: "$.actions", message: "must be an array" });
    else if (list.length === 0) issues.push({ path: "$.actions", message: "must hold at least one action" });
    else if (list.length > MAX_BATCH)
      issues.push({ path: "$.actions", message: `must hold at most ${MAX_BATCH} actions` });
    if (issues.length > 0) return { ok: false, issues };
    items = list as unknown[];
  }
  // One parse of the whole list: a parse per action cost half as much again.
  const parsed = safeParsePlainly(actionListSchema, items);
  if (parsed.success) return { ok: true, actions: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({
      path: isBatch ? formatPath("$.actions", issue.path) : formatPath("$", issue.path.slice(1)),
      message: issue.message,
    })),
  };
}

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === "number" ? `${out}[${key}]` : `${out}.${String(key)}`),
    prefix,
  );
}
