// Known secrets are removed from upstream text in every spelling an upstream could echo them in.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRedactor, REDACTED } from "../../src/lib/redact.ts";

// An Entra ID client secret's alphabet (~ . _ -) and worse: characters every encoding treats apart.
const SECRET = `Xk8Q~r.Ab_9+/z=w"q\\u&<p>'(é)*!€ end`;
const redact = createRedactor(() => [SECRET, undefined, ""], 10_000);

const doubled = (s: string) => encodeURIComponent(encodeURIComponent(s));
const ENCODINGS: [string, (secret: string) => string][] = [
  ["raw", (s) => s],
  ["URL-encoded", encodeURIComponent],
  [
    "URL-encoded, lower-case hex",
    (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  ],
  ["form-encoded", (s) => new URLSearchParams({ s }).toString().slice(2)],
  ["double URL-encoded", doubled],
  ["double form-encoded", (s) => encodeURIComponent(new URLSearchParams({ s }).toString().slice(2))],
  ["base64", (s) => Buffer.from(s).toString("base64")],
  ["base64url", (s) => Buffer.from(s).toString("base64url")],
  ["base64 of client_id:secret (Basic auth)", (s) => Buffer.from(`app-id:${s}`).toString("base64")],
  ["base64 of x:secret", (s) => Buffer.from(`xy:${s}`).toString("base64")],
  ["hex", (s) => Buffer.from(s).toString("hex")],
  ["hex, upper case", (s) => Buffer.from(s).toString("hex").toUpperCase()],
  ["JSON-escaped", (s) => JSON.stringify(s).slice(1, -1)],
  ["JSON-escaped twice", (s) => JSON.stringify(JSON.stringify(s)).slice(1, -1)],
  ["JSON with escaped slashes", (s) => JSON.stringify(s).slice(1, -1).replaceAll("/", "\\/")],
  [
    ".NET JSON (\\u002B…)",
    (s) =>
      s.replace(/[^A-Za-z0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`),
  ],
  ["HTML-escaped", (s) => s.replace(/[&<>"']/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`)],
];

describe("redact", () => {
  it.each(ENCODINGS)("removes the secret %s, wherever it sits in the text", (_what, encode) => {
    const spelled = encode(SECRET);
    for (const text of [
      spelled,
      `AADSTS7000215: Invalid client secret provided: '${spelled}'.`,
      `x=${spelled}&y=1`,
    ]) {
      const safe = redact(text);
      expect(safe).not.toContain(spelled);
      expect(safe.includes(REDACTED) || safe.startsWith("[withheld")).toBe(true);
      // Nothing of the secret's distinctive middle is left in any spelling.
      for (const [, again] of ENCODINGS) expect(safe).not.toContain(again(SECRET).slice(4, -4));
    }
  });

  it("keeps text that holds no secret, cut to the length asked", () => {
    const short = createRedactor(() => [SECRET], 40);
    const cut = short("Defender rejected the request (400 InvalidInput): the body is not valid");
    expect(cut).toHaveLength(40);
    expect(cut.endsWith("...")).toBe(true);
    expect(redact("400 InvalidInput: Invalid input Block.")).toBe("400 InvalidInput: Invalid input Block.");
  });

  it("covers secrets added later (a token fetched after the redactor was made)", () => {
    let token: string | undefined;
    const late = createRedactor(() => [SECRET, token]);
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOi.late-token-value";
    expect(late(`bearer ${encodeURIComponent(token)} refused`)).toBe(`bearer ${REDACTED} refused`);
  });

  it("removes any secret in any of the encodings, amid any text (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 60 }).filter((s) => s.trim().length >= 8),
        fc.constantFrom(...ENCODINGS),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        (secret, [, encode], before, after) => {
          const safe = createRedactor(() => [secret], 100_000)(`${before}${encode(secret)}${after}`);
          expect(safe.includes(encode(secret))).toBe(false);
          expect(safe.includes(secret)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
