// The one shape of an answer that may be "no": a person's request refused, an input rejected, a
// step not allowed. `code` is stable (logs, metrics, tests); `message` is words for the person.
// What is not a "no" but a fault (a bug, the store down) is thrown, not returned.

export type Refusal<Code extends string = string> = { ok: false; code: Code; message: string };

/** `T`: what a success carries besides `ok`; `Extra`: what a refusal carries besides its words. */
export type Result<T extends object = object, Code extends string = string, Extra extends object = object> =
  | ({ ok: true } & T)
  | (Refusal<Code> & Extra);

export function refuse<Code extends string>(code: Code, message: string): Refusal<Code> {
  return { ok: false, code, message };
}
