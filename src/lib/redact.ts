// Removes known secret values from text that came from elsewhere (an upstream error, a device's
// script output) before it becomes a log line, a stored error or a page. An upstream may echo a
// secret in another spelling than ours, so each secret is looked for raw, URL-encoded (once and
// twice, as a form or a URI component), base64 (standard and URL-safe, at any byte alignment, as
// in an `Authorization: Basic` header), hexadecimal, JSON-escaped (as JavaScript and .NET escape
// it) and HTML-escaped; and as a last guard, text in which a decoding still reveals a secret is
// replaced whole.

export const REDACTED = "[redacted]";
const WITHHELD = "[withheld: the upstream message contained a secret]";
/** Shorter values are not secrets worth the false positives of looking for them in encodings. */
const MIN_ENCODED_LENGTH = 8;

export type Redactor = (text: string) => string;

/**
 * A redactor for the secrets `secrets()` returns at each call (so a token fetched later is
 * covered); the result is cut to `maxLength` characters after redaction.
 */
export function createRedactor(
  secrets: () => readonly (string | null | undefined)[],
  maxLength = 300,
): Redactor {
  return (text) => {
    const known = secrets().filter((s): s is string => typeof s === "string" && s.length > 0);
    let safe = text;
    for (const secret of known) safe = redactSecret(safe, secret);
    if (known.some((secret) => revealsSecret(safe, secret))) return WITHHELD;
    return safe.length > maxLength ? `${safe.slice(0, maxLength - 3)}...` : safe;
  };
}

function redactSecret(text: string, secret: string): string {
  let safe = text.replaceAll(secret, REDACTED);
  if (secret.length < MIN_ENCODED_LENGTH) return safe;
  for (const pattern of spellingPatterns(secret)) safe = safe.replace(pattern, REDACTED);
  return safe;
}

const patternCache = new Map<string, RegExp[]>();

/** The secret's other spellings, as case-insensitive patterns (hex digits come in either case). */
function spellingPatterns(secret: string): RegExp[] {
  const cached = patternCache.get(secret);
  if (cached) return cached;
  const spellings = new Set<string>([
    ...urlEncodings(secret),
    ...jsonEscapes(secret),
    htmlEscape(secret),
    Buffer.from(secret, "utf8").toString("hex"),
    ...base64Cores(secret),
  ]);
  spellings.delete(secret);
  spellings.delete("");
  const patterns = [...spellings]
    // Longest first, so a spelling is not half-replaced by a shorter one it contains.
    .sort((a, b) => b.length - a.length)
    .map((spelling) => new RegExp(escapeRegExp(spelling), spelling === secret ? "g" : caseFlags(spelling)));
  if (patternCache.size > 32) patternCache.clear();
  patternCache.set(secret, patterns);
  return patterns;
}

/** Base64 is case-sensitive; every other spelling here only differs in hex digits' case. */
function caseFlags(spelling: string): string {
  return /%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|&#x/i.test(spelling) || /^[0-9a-f]+$/.test(spelling) ? "gi" : "g";
}

function urlEncodings(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  // Characters encodeURIComponent leaves alone but stricter encoders (RFC 3986, .NET) encode.
  const strict = component.replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [
    component,
    form,
    strict,
    encodeURIComponent(component),
    encodeURIComponent(form),
    encodeURIComponent(strict),
  ];
}

function jsonEscapes(secret: string): string[] {
  const standard = JSON.stringify(secret).slice(1, -1);
  const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  return [
    standard,
    // Escaped twice: a JSON string carried inside another one.
    JSON.stringify(standard).slice(1, -1),
    standard.replaceAll("/", "\\/"),
    // .NET's default encoder: HTML-sensitive characters and everything outside ASCII as \uXXXX.
    [...secret]
      .map((c) =>
        /[A-Za-z0-9 \-_.~!#$%()*,/:;=?@[\]^{|}]/.test(c) ? c : c.split("").map(unicodeEscape).join(""),
      )
      .join(""),
    // Every character but letters and digits escaped.
    secret.replace(/[^A-Za-z0-9]/g, unicodeEscape),
  ];
}

function htmlEscape(secret: string): string {
  return secret.replace(/[&<>"']/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`);
}

/**
 * The part of the secret's base64 that stays the same wherever it sits in a longer encoded value:
 * for each of the three byte alignments, the characters made only of the secret's own bits.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const core = encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

/** Whether a decoding of `text` (URL, JSON, base64 words) still shows the secret. */
function revealsSecret(text: string, secret: string): boolean {
  const candidates = [text];
  let decoded = text;
  for (let round = 0; round < 3; round++) {
    const next = safeDecode(decoded.replaceAll("+", " "));
    if (next === decoded) break;
    candidates.push(next);
    decoded = next;
  }
  for (const word of text.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) {
    candidates.push(Buffer.from(word.replaceAll("-", "+").replaceAll("_", "/"), "base64").toString("utf8"));
  }
  let unescaped = text;
  for (let round = 0; round < 3; round++) {
    unescaped = jsonUnescape(unescaped);
    candidates.push(unescaped);
  }
  const lower = secret.toLowerCase();
  return candidates.some(
    (candidate) =>
      candidate.includes(secret) ||
      (secret.length >= MIN_ENCODED_LENGTH && candidate.toLowerCase().includes(lower)),
  );
}

function jsonUnescape(text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .replace(/\\(["\\/])/g, "$1");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // A stray % elsewhere in the text: decode the well-formed escapes only.
    return text.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
