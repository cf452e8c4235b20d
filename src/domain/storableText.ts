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
