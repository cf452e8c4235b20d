// Text Postgres cannot store (a NUL, an unpaired surrogate) in any text field of the ingest API's
// input, its query or a path is a 400 naming the field (or a 404 for a path), never a 5xx, and
// nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_TYPES, type ActionType, ENTITY_SCHEMAS } from "../../src/domain/actionTypes.ts";
import { statusOf } from "../support/actions.ts";
import { APPROVER, startTestApp, type TestApp } from "../support/app.ts";
import { actionBody, ENTITY_FOR } from "../support/fixtures.ts";
import { submitView } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("storable_input");
});
afterAll(() => app?.close());

const BAD_TEXT: [string, (valid: string) => string][] = [
  ["a NUL", (valid) => `${valid}\u0000`],
  ["a lone high surrogate", (valid) => `${valid}\ud800x`],
  ["a lone low surrogate", (valid) => `\udc00${valid}`],
  ["a high surrogate at the end", (valid) => `${valid}\udbff`],
];

/** Every text field of the action object, with the type whose action carries it. */
const TOP_LEVEL_FIELDS = ["externalId", "investigationId", "incidentId", "requestedBy", "comment"];
const DEVICE_FIELDS = ["id", "name"];
const ENTITY_FIELDS: [ActionType, string][] = [
  ["quarantine_file", "path"],
  ["remove_registry_key", "key"],
  ["remove_registry_key", "valueName"],
  ["stop_service", "name"],
  ["disable_driver", "name"],
  ["remove_scheduled_task", "path"],
  ["stop_process", "imagePath"],
  ["block_url", "url"],
];

type Case = { what: string; field: string; body: Record<string, unknown> };

function cases(): Case[] {
  const all: Case[] = [];
  for (const [what, spoil] of BAD_TEXT) {
    for (const field of TOP_LEVEL_FIELDS)
      all.push({
        what,
        field: `$.${field}`,
        body: actionBody("stop_service", 1, { [field]: spoil("text") }),
      });
    for (const field of DEVICE_FIELDS)
      all.push({
        what,
        field: `$.device.${field}`,
        body: actionBody("stop_service", 1, {
          device: { id: "dev-1", name: "LAPTOP-1", [field]: spoil("x") },
        }),
      });
    for (const [type, field] of ENTITY_FIELDS) {
      const entity = ENTITY_FOR[type](1);
      all.push({
        what,
        field: `$.entity.${field}`,
        body: actionBody(type, 1, { entity: { ...entity, [field]: spoil(String(entity[field] ?? "x")) } }),
      });
    }
  }
  return all;
}

const stored = async () => Number((await app.ctx.sql`select count(*)::int as n from actions`)[0]!.n);

describe("text Postgres cannot store", () => {
  it("the table names every text field of every entity", () => {
    const textFields = ACTION_TYPES.flatMap((type) =>
      Object.entries(
        (ENTITY_SCHEMAS[type] as unknown as { shape: Record<string, { unwrap?(): unknown }> }).shape,
      )
        .filter(([, schema]) => {
          const inner = (schema.unwrap ? schema.unwrap() : schema) as { def: { type: string } };
          return inner.def.type === "string" || inner.def.type === "pipe";
        })
        .filter(([field]) => !["sha256", "sha1"].includes(field))
        .map(([field]) => `${type}.${field}`),
    );
    expect(ENTITY_FIELDS.map(([type, field]) => `${type}.${field}`).sort()).toEqual(textFields.sort());
  });

  it.each(cases().map((c) => [c.what, c.field, c.body] as const))(
    "%s in %s gets 400 naming the field and stores nothing",
    async (_what, field, body) => {
      const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { issues: { path: string; message: string }[] };
      expect(answer.issues).toContainEqual({
        path: field,
        message: "must not contain NUL characters or unpaired surrogates",
      });
      expect(await stored()).toBe(0);
    },
  );

  it("names the item of a batch, storing none of it", async () => {
    const res = await app.api("/api/v1/actions", {
      method: "POST",
      body: JSON.stringify({
        actions: [actionBody("stop_service", 2), actionBody("stop_service", 3, { comment: "why\u0000" })],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      "$.actions[1].comment",
    ]);
    expect(await stored()).toBe(0);
  });

  // A query string is UTF-8 bytes: an unpaired surrogate cannot be spelt in one, a NUL can.
  it.each(["deviceId", "investigationId"])(
    "a query's %s with a NUL gets 400 naming it",
    async (parameter) => {
      const res = await app.api(`/api/v1/actions?${parameter}=x%00y`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
        `query.${parameter}`,
      ]);
    },
  );

  it.each([
    "/investigations/%00",
    "/investigations/inv%00x",
    "/investigations/%ED%A0%80",
    "/actions/%00",
    "/api/v1/actions/%00",
    "/api/v1/devices/%00",
    "/api/v1/devices/dev%ED%B0%80",
  ])("GET %s is not found, never a 5xx", async (path) => {
    const res = await app.api(path);
    expect([400, 404]).toContain(res.status);
  });

  it("still takes text with paired surrogates (emoji) and other control-free Unicode", async () => {
    const res = await app.api("/api/v1/actions", {
      method: "POST",
      body: JSON.stringify(
        actionBody("quarantine_file", 4, {
          comment: "seen on 🖥️ — ünïcödé",
          entity: { ...ENTITY_FOR.quarantine_file(4), path: "C:\\Users\\zoë\\😀.exe" },
        }),
      ),
    });
    expect(res.status).toBe(201);
  });

  it.each(BAD_TEXT)(
    "a signed Slack request (a reject reason) with %s gets 400 naming it, and the action stays pending",
    async (_what, spoil) => {
      const created = await app.api("/api/v1/actions", {
        method: "POST",
        body: JSON.stringify(actionBody("stop_service", 100 + BAD_TEXT.findIndex(([w]) => w === _what))),
      });
      const id = Number(((await created.json()) as { actions: { id: string }[] }).actions[0]!.id);
      const res = await submitView(app, APPROVER, "reject_action", String(id), {
        reason: { reason: { type: "plain_text_input", value: spoil("not malware") } },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: "invalid_request",
        issues: [
          {
            path: "$.view.state.values.reason.reason.value",
            message: "must not contain NUL characters or unpaired surrogates",
          },
        ],
      });
      expect(await statusOf(app.ctx.db, id)).toBe("pending");
    },
  );
});
