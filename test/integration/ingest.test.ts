// The ingest API of the contract, driven over HTTP against the real store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_TYPES } from "../../src/domain/actionTypes.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("ingest", { role: "web" });
});
afterAll(() => app?.close());

const post = (body: unknown) => app.api("/api/v1/actions", { method: "POST", body: JSON.stringify(body) });
const count = async () => Number((await app.ctx.sql`select count(*)::int as n from actions`)[0]!.n);

describe("ingest.happy", () => {
  it("stores one action and shows every field it was sent with", async () => {
    const body: Record<string, unknown> = {
      ...actionBody("quarantine_file", 1, { incidentId: "inc-7", comment: "seen on 3 devices" }),
      source: "manual",
      requestedBy: "alice@example.com",
    };
    const res = await post(body);
    expect(res.status).toBe(201);
    const { actions } = (await res.json()) as {
      actions: { id: string; externalId: string; status: string }[];
    };
    expect(actions).toEqual([
      { id: expect.stringMatching(/^\d+$/), externalId: body.externalId, status: "pending" },
    ]);
    const shown = await (await app.api(`/api/v1/actions/${actions[0]!.id}`)).json();
    expect(shown).toMatchObject({
      ...body,
      id: actions[0]!.id,
      status: "pending",
      decidedBy: null,
      decidedAt: null,
      decisionComment: null,
      completedAt: null,
      error: null,
    });
    expect(Date.parse(shown.createdAt)).not.toBeNaN();
    expect(shown.events).toEqual([
      {
        at: expect.any(String),
        kind: "received",
        actor: "api",
        detail: { source: "manual", externalId: body.externalId },
      },
    ]);
    const device = await (await app.api("/api/v1/devices/dev-1")).json();
    expect(device).toMatchObject({ id: "dev-1", name: "LAPTOP-1", isolated: false, quarantinedFiles: [] });
  });

  it("accepts every action type, in a batch, answering in request order", async () => {
    const batch = ACTION_TYPES.map((type, i) => actionBody(type, 100 + i));
    const res = await post({ actions: batch });
    expect(res.status).toBe(201);
    const { actions } = (await res.json()) as { actions: { externalId: string }[] };
    expect(actions.map((a) => a.externalId)).toEqual(batch.map((a) => a.externalId));
  });

  it("accepts a batch of 1,000", async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => actionBody("stop_service", 10_000 + i));
    const res = await post({ actions: batch });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { actions: unknown[] }).actions).toHaveLength(1000);
  });

  it("records an already-taken action straight into history, with the fleet to match", async () => {
    const body = actionBody("quarantine_file", 2, {
      status: "completed",
      source: "antivirus",
      device: { id: "dev-h", name: "PC-H" },
    });
    const res = await post(body);
    const { actions } = (await res.json()) as { actions: { id: string; status: string }[] };
    expect(actions[0]!.status).toBe("completed");
    const shown = await (await app.api(`/api/v1/actions/${actions[0]!.id}`)).json();
    expect(shown.completedAt).not.toBeNull();
    expect(shown.events.map((e: { kind: string }) => e.kind)).toEqual(["recorded_completed"]);
    const device = await (await app.api("/api/v1/devices/dev-h")).json();
    expect(device.quarantinedFiles).toEqual([sha256Of(2)]);
  });
});

describe("ingest idempotency", () => {
  it("returns the stored action for a repeated (source, externalId) and creates nothing", async () => {
    const body = actionBody("isolate_device", 3);
    const first = await (await post(body)).json();
    const before = await count();
    const again = await post({ ...body, comment: "sent again" });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual(first);
    expect(await count()).toBe(before);
  });

  it("keeps one row for 20 concurrent identical posts", async () => {
    const body = actionBody("disable_driver", 4);
    const results = await Promise.all(Array.from({ length: 20 }, () => post(body)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = new Set(
      await Promise.all(
        results.map(async (r) => ((await r.json()) as { actions: { id: string }[] }).actions[0]!.id),
      ),
    );
    expect(ids.size).toBe(1);
    const rows = await app.ctx
      .sql`select count(*)::int as n from actions where external_id = ${body.externalId as string}`;
    expect(rows[0]!.n).toBe(1);
    // Its message is made once: the posts that lost the race leave no message of their own.
    const messages = await app.ctx.sql`select count(*)::int as n from slack_messages m
      where not exists (select 1 from actions a where a.slack_message_id = m.id)
        and m.investigation_id = ${body.investigationId as string}`;
    expect(messages[0]!.n).toBe(0);
  });

  it("the same externalId from another source is another action", async () => {
    const body = actionBody("block_url", 5);
    const a = await (await post(body)).json();
    const b = await (await post({ ...body, source: "manual" })).json();
    expect(a.actions[0].id).not.toBe(b.actions[0].id);
  });
});

describe("ingest.error", () => {
  const valid = actionBody("quarantine_file", 6);
  it.each([
    ["a missing source", { ...valid, source: undefined }, "$.source", /required/],
    ["an unknown type", { ...valid, type: "format_disk" }, "$.type", /must be one of/],
    ["an unknown source", { ...valid, source: "edr" }, "$.source", /must be one of/],
    ["a short sha256", { ...valid, entity: { sha256: "abc" } }, "$.entity.sha256", /64 hexadecimal/],
    ["a missing sha256", { ...valid, entity: { path: "C:\\x" } }, "$.entity.sha256", /required/],
    [
      "an unknown entity field",
      { ...valid, entity: { sha256: sha256Of(1), color: "red" } },
      "$.entity",
      /unknown field/,
    ],
    ["a missing device", { ...valid, device: undefined }, "$.device", /required for quarantine_file/],
    ["a device without a name", { ...valid, device: { id: "d" } }, "$.device.name", /required/],
    ["an empty externalId", { ...valid, externalId: " " }, "$.externalId", /empty/],
    ["a long comment", { ...valid, comment: "x".repeat(1001) }, "$.comment", /1,000/],
    ["a bad status", { ...valid, status: "approved" }, "$.status", /pending or completed/],
    ["an unknown top-level field", { ...valid, priority: 1 }, "$", /unknown field/],
    [
      "a non-http URL",
      { ...actionBody("block_url", 1), entity: { url: "javascript:alert(1)" } },
      "$.entity.url",
      /./,
    ],
    [
      "a process with neither pid nor image",
      { ...actionBody("stop_process", 1), entity: {} },
      "$.entity",
      /pid or imagePath/,
    ],
  ])("refuses %s, naming the path", async (_what, body, path, message) => {
    const before = await count();
    const res = await post(body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; issues: { path: string; message: string }[] };
    expect(answer.error).toBe("invalid_request");
    expect(answer.issues).toContainEqual({ path, message: expect.stringMatching(message) });
    expect(await count()).toBe(before);
  });

  it("stores nothing of a batch with one bad item, and names its index", async () => {
    const before = await count();
    const batch = [
      actionBody("stop_service", 7),
      actionBody("stop_service", 8),
      { ...actionBody("stop_service", 9), entity: {} },
    ];
    const res = await post({ actions: batch });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: unknown[] }).issues).toEqual([
      { path: "$.actions[2].entity.name", message: "is required" },
    ]);
    expect(await count()).toBe(before);
  });

  it.each([
    ["an empty batch", { actions: [] }],
    [
      "a batch over 1,000",
      { actions: Array.from({ length: 1001 }, (_, i) => actionBody("stop_service", i)) },
    ],
    ["a non-array batch", { actions: "all" }],
    ["an array body", [actionBody("stop_service", 1)]],
    ["a string body", "hello"],
    ["null", null],
  ])("refuses %s", async (_what, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
  });

  it("refuses malformed JSON with 400", async () => {
    const res = await app.api("/api/v1/actions", { method: "POST", body: '{"externalId": ' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_request",
      issues: [{ path: "$", message: "the body is not valid JSON" }],
    });
  });

  it("answers 413 to a body over 1 MiB, storing nothing", async () => {
    const before = await count();
    const res = await post({ ...valid, comment: "x".repeat(1024 * 1024) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe("payload_too_large");
    expect(await count()).toBe(before);
  });

  it("answers 404 for an unknown action id", async () => {
    expect((await app.api("/api/v1/actions/999999999")).status).toBe(404);
    expect((await app.api("/api/v1/actions/abc")).status).toBe(404);
  });
});

describe("ingest.security", () => {
  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", "Bearer wrong-token-wrong-token"],
    ["the right token with another scheme", `Basic test-ingest-token-0123456789`],
    ["an empty bearer", "Bearer "],
  ])("answers 401 with %s and stores nothing", async (_what, authorization) => {
    const before = await count();
    for (const [method, path] of [
      ["POST", "/api/v1/actions"],
      ["GET", "/api/v1/actions"],
      ["GET", "/api/v1/actions/1"],
      ["GET", "/api/v1/devices/dev-1"],
    ] as const) {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(authorization && { authorization }) },
        ...(method === "POST" && { body: JSON.stringify(actionBody("stop_service", 77)) }),
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe("unauthorized");
    }
    expect(await count()).toBe(before);
  });
});
