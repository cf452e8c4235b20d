// Text Postgres can store: no NUL (text and jsonb refuse U+0000) and well-formed UTF-16, as an
// unpaired surrogate has no UTF-8 form (jsonb refuses its escape; a text column would silently
// store U+FFFD in its place). Every piece of outside text is checked against this before it
// reaches a query, so bad input is a 400 naming the field, never a driver error and a 500.
import { z } from "zod";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const NOT_STORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const NOT_STORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates";

export function isStorableText(value: string): boolean {
  return !NOT_STORABLE.test(value);
}

/** A string that Postgres can store; every text field of outside input starts from this. */
export const storableString = () => z.string().refine(isStorableText, NOT_STORABLE_MESSAGE);

/**
 * The JSON path (`$.view.state…`) of the first key or string in `value` that Postgres could not
 * store, or null: for input stored whole (a Slack request in the inbox) before any schema reads it.
 */
export function unstorableTextPath(value: unknown, path = "$"): string | null {
  if (typeof value === "string") return isStorableText(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unstorableTextPath(item, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key)) return `${path}[key]`;
    const found = unstorableTextPath(item, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}
