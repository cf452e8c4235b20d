// Plain words for the commonest issues, passed to every parse of outside input (the API's
// actions, the policy file, the environment), so a person reads "is required", not zod's jargon.
import type { z } from "zod";

export const plainWords: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type" && issue.input === undefined) return "is required";
  if (issue.code === "invalid_type")
    return `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}`;
  if (issue.code === "unrecognized_keys") return `unknown field(s): ${issue.keys.join(", ")}`;
  return undefined;
};

/**
 * `schema.safeParse(value)` with `plainWords`' messages, for input parsed on a hot path (the
 * ingest API's batches): zod parses slower with an error map, so the map is used only in a second
 * parse of input that fails, for its messages.
 */
export function safeParsePlainly<T extends z.ZodType>(
  schema: T,
  value: unknown,
): z.ZodSafeParseResult<z.output<T>> {
  const result = schema.safeParse(value);
  return result.success ? result : schema.safeParse(value, { error: plainWords });
}
