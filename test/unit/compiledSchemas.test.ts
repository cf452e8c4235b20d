// The ingest contract is parsed by zod's compiled parsers (`z.compile`), which take over from its
// runtime on input they accept and hand it back what they refuse. A compiled parser's success is
// returned as it is, unchecked, so here it is held to the runtime's answer on arbitrary input:
// the same verdict, the same output, the same issues.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { actionInputSchema, parseIngestBody } from "../../src/domain/actionInput.ts";
import { ACTION_TYPES, ENTITY_SCHEMAS } from "../../src/domain/actionTypes.ts";
import { safeParsePlainly } from "../../src/domain/zodMessages.ts";

const text = fc.oneof(
  fc.string(),
  fc.constantFrom("", "  padded  ", "a\u0000b", "\ud800", "line\nbreak", "x".repeat(300)),
);
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`));
const entity = fc.oneof(
  fc.record(
    {
      sha256: fc.oneof(hex(64), text),
      sha1: fc.oneof(hex(40), text),
      path: text,
      key: text,
      valueName: text,
      name: text,
      pid: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 33)),
      imagePath: text,
      url: fc.oneof(fc.webUrl(), fc.constantFrom("ftp://x.example/", "https://"), text),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const action = fc.record(
  {
    externalId: fc.oneof(text, fc.integer()),
    source: fc.oneof(fc.constantFrom("automated_investigation", "antivirus", "manual"), text),
    type: fc.oneof(fc.constantFrom(...ACTION_TYPES), text),
    status: fc.oneof(fc.constantFrom("pending", "completed"), text),
    investigationId: text,
    incidentId: text,
    device: fc.oneof(fc.record({ id: text, name: text }, { requiredKeys: [] }), fc.anything()),
    entity,
    requestedBy: text,
    comment: fc.oneof(text, fc.string({ minLength: 990, maxLength: 1010 })),
    unknown: fc.anything(),
  },
  { requiredKeys: ["externalId", "source", "type"] },
);

// Mostly valid actions, so that the compiled parsers' successes, which are not checked, are met
// often: padded ids (trimmed), optional fields present or not, hashes in either case.
const validText = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,30}$/),
  fc.constant("  padded  "),
);
const none = fc.constant({});
const VALID_ENTITY: Record<(typeof ACTION_TYPES)[number], fc.Arbitrary<Record<string, unknown>>> = {
  isolate_device: none,
  restrict_code_execution: none,
  run_antivirus_scan: none,
  collect_investigation_package: none,
  quarantine_file: fc.record(
    { sha256: hex(64), sha1: hex(40), path: validText },
    { requiredKeys: ["sha256"] },
  ),
  remove_registry_key: fc.record({ key: validText, valueName: validText }, { requiredKeys: ["key"] }),
  stop_service: fc.record({ name: validText }),
  disable_driver: fc.record({ name: validText }),
  remove_scheduled_task: fc.record({ path: validText }),
  stop_process: fc.record(
    { pid: fc.integer({ min: 1, max: 99_999 }), imagePath: validText },
    { requiredKeys: [] },
  ),
  block_url: fc.record({ url: fc.webUrl() }),
};
const validAction = fc.oneof(
  ...ACTION_TYPES.map((type) =>
    fc.record(
      {
        externalId: validText,
        source: fc.constantFrom("automated_investigation", "antivirus", "manual"),
        type: fc.constant(type),
        status: fc.constantFrom("pending", "completed"),
        investigationId: validText,
        incidentId: validText,
        device: fc.record({ id: validText, name: validText }),
        entity: VALID_ENTITY[type],
        requestedBy: validText,
        comment: fc.string({ maxLength: 50 }),
      },
      { requiredKeys: ["externalId", "source", "type", "device"] },
    ),
  ),
);

const issuesOf = (result: z.ZodSafeParseResult<unknown>) =>
  result.success ? null : result.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));

describe("compiled ingest schemas", () => {
  it("a batch parses as zod's runtime parses it: verdict, output and issues", () => {
    const runtime = z.array(actionInputSchema);
    let succeeded = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(validAction, action), { minLength: 1, maxLength: 3 }), (actions) => {
        const compiled = parseIngestBody({ actions });
        const expected = safeParsePlainly(runtime, actions);
        expect(compiled.ok).toBe(expected.success);
        if (compiled.ok) {
          succeeded += 1;
          expect(compiled.actions).toEqual(expected.data);
        } else
          expect(compiled.issues.map((issue) => issue.message)).toEqual(
            issuesOf(expected)!.map((issue) => issue.message),
          );
      }),
      { numRuns: 1000 },
    );
    // The successes must be many, or the property says little of them.
    expect(succeeded).toBeGreaterThan(100);
  });

  it("each type's entity parses as zod's runtime parses it", () => {
    for (const [type, schema] of Object.entries(ENTITY_SCHEMAS)) {
      const compiled = z.compile(schema);
      fc.assert(
        fc.property(
          fc.oneof(
            entity,
            validAction.map((a) => a.entity),
          ),
          (value) => {
            const fast = safeParsePlainly(compiled, value);
            const slow = safeParsePlainly(schema, value);
            expect({ type, success: fast.success, data: fast.data, issues: issuesOf(fast) }).toEqual({
              type,
              success: slow.success,
              data: slow.data,
              issues: issuesOf(slow),
            });
          },
        ),
        { numRuns: 300 },
      );
    }
  });
});
