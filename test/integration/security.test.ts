// Bad input is refused without a 5xx or a state change; authority comes only from the verified
// user and the store; the audit trail cannot be rewritten; secrets never leak.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  BYSTANDER,
  startTestApp,
  TEST_BOT_TOKEN,
  TEST_INGEST_TOKEN,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { REDIS_URL } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { blockActionsPayload, postToSlackEndpoint, signSlackRequest } from "../support/slackRequests.ts";
import { click, ephemeralsFor, waitForMessage } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("security");
});
afterAll(() => app?.close());

const count = async () => Number((await app.ctx.sql`select count(*)::int as n from actions`)[0]!.n);
const statuses = async () =>
  (await app.ctx.sql`select id, status from actions order by id`).map((r) => `${r.id}:${r.status}`).join(",");

describe("slack endpoint: bad input", () => {
  it("a valid signature over a tampered body is refused with 401", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("stop_service", 1)]);
    const body = new URLSearchParams({
      payload: JSON.stringify(
        blockActionsPayload({
          userId: BYSTANDER,
          actionId: `approve:${id}`,
          value: String(id),
          channelId: "C0TESTCHAN1",
          messageTs: "1.1",
        }),
      ),
    }).toString();
    const headers = signSlackRequest(TEST_SIGNING_SECRET, body);
    const tampered = body.replace(BYSTANDER, APPROVER);
    const res = await fetch(`${app.url}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: tampered,
    });
    expect(res.status).toBe(401);
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
  });

  it.each([
    ["malformed payload JSON", "payload=%7Bnot-json"],
    ["a payload that is not an object", `payload=${encodeURIComponent("[1,2,3]")}`],
    ["an empty body", ""],
  ])("answers %s with a 4xx, never a 5xx, changing nothing", async (_what, body) => {
    const before = await statuses();
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
    expect(await statuses()).toBe(before);
  });

  it.each([
    ["an unknown action id", "self_destruct:1", "1"],
    ["a button naming an action that does not exist", "approve:999999999", "999999999"],
    ["a malformed verb id", "approve:abc", "abc"],
    ["an investigation group that does not exist", "approve_all:999999", "x"],
  ])("answers %s harmlessly", async (_what, actionId, value) => {
    const before = await statuses();
    const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "interactive",
      body: blockActionsPayload({
        userId: APPROVER,
        actionId,
        value,
        channelId: "C0TESTCHAN1",
        messageTs: "1.1",
      }),
    });
    // Known ids are acked with 200; ids no listener knows get Bolt's 404.
    expect([200, 404]).toContain(res.status);
    await new Promise((r) => setTimeout(r, 300));
    expect(await statuses()).toBe(before);
  });

  it("never trusts the button value: the action comes from the action_id and authority from the verified user", async () => {
    const [target, decoy] = await ingest(app.ctx.db, [
      actionBody("disable_driver", 2),
      actionBody("disable_driver", 3),
    ]);
    const posted = await waitForMessage(app, target!);
    // A bystander echoing an approver's id in the value changes nothing.
    const forged = {
      ...posted,
      blocks: JSON.parse(
        JSON.stringify(posted.blocks).replaceAll(`"value":"${target}"`, `"value":"${APPROVER}:${decoy}"`),
      ),
    };
    await click(app, BYSTANDER, forged, `approve:${target}`);
    await waitFor(
      async () => ephemeralsFor(app, BYSTANDER).some((t) => /not allowed/.test(t)),
      5000,
      "a refusal",
    );
    expect((await getAction(app.ctx.db, target!))!.status).toBe("pending");
    expect((await getAction(app.ctx.db, decoy!))!.status).toBe("pending");
  });
});

describe("audit integrity", () => {
  it("the audit trail refuses UPDATE, DELETE and TRUNCATE, even from the database owner", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 4)]);
    await expect(
      app.ctx.sql`update action_events set actor = 'someone-else' where action_id = ${id!}`,
    ).rejects.toThrow(/append-only/);
    await expect(app.ctx.sql`delete from action_events where action_id = ${id!}`).rejects.toThrow(
      /append-only/,
    );
    await expect(app.ctx.sql`truncate action_events cascade`).rejects.toThrow(/append-only/);
    expect(await getActionEvents(app.ctx.db, id!)).toHaveLength(1);
  });

  it("an audit event must name a stored action, also among others in one statement", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 6)]);
    const [row] = await app.ctx.sql<{ missing: string }[]>`select max(id) + 1000 as missing from actions`;
    const missing = row!.missing;
    await expect(
      app.ctx
        .sql`insert into action_events (action_id, kind, actor) values (${missing!}, 'approve', 'U0FORGER1')`,
    ).rejects.toThrow(new RegExp(`names action ${missing}, which does not exist`));
    await expect(
      app.ctx.sql`insert into action_events (action_id, kind, actor)
        values (${id!}, 'approve', 'U0FORGER1'), (${missing!}, 'approve', 'U0FORGER1')`,
    ).rejects.toMatchObject({ code: "23503" });
    expect((await getActionEvents(app.ctx.db, id!)).map((e) => e.kind)).toEqual(["received"]);
  });

  it("an action is never deleted nor given another id, as its audit trail names it", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 7)]);
    await expect(app.ctx.sql`delete from actions where id = ${id!}`).rejects.toThrow(/actions are kept/);
    await expect(app.ctx.sql`truncate actions cascade`).rejects.toThrow(/actions are kept/);
    await expect(app.ctx.sql`update actions set id = default where id = ${id!}`).rejects.toThrow(
      /actions are kept/,
    );
    expect((await getAction(app.ctx.db, id!))!.id).toBe(id);
    expect(await getActionEvents(app.ctx.db, id!)).toHaveLength(1);
  });

  it("an action must name a stored message, also among others in one statement, and a message that shows one is kept", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 8)]);
    const messageId = (await getAction(app.ctx.db, id!))!.slackMessageId!;
    expect(messageId).not.toBeNull();
    const [row] = await app.ctx.sql<
      { missing: string }[]
    >`select max(id) + 1000 as missing from slack_messages`;
    const missing = row!.missing;
    await expect(
      app.ctx.sql`insert into actions (external_id, source, type, status, slack_message_id)
        values ('forged-1', 'manual', 'isolate_device', 'pending', ${messageId}),
          ('forged-2', 'manual', 'isolate_device', 'pending', ${missing!})`,
    ).rejects.toThrow(new RegExp(`name message ${missing}, which does not exist`));
    await expect(
      app.ctx.sql`update actions set slack_message_id = ${missing!} where id = ${id!}`,
    ).rejects.toMatchObject({ code: "23503" });
    await expect(app.ctx.sql`delete from slack_messages where id = ${messageId}`).rejects.toThrow(
      new RegExp(`message ${messageId} shows actions, so it is kept`),
    );
    await expect(app.ctx.sql`truncate slack_messages cascade`).rejects.toThrow(/named by actions/);
    expect((await getAction(app.ctx.db, id!))!.slackMessageId).toBe(messageId);
    const [forged] = await app.ctx
      .sql`select count(*)::int as n from actions where external_id like 'forged-%'`;
    expect(forged!.n).toBe(0);
  });

  it("a message cannot be deleted while an action that names it is being stored", async () => {
    const [message] = await app.ctx.sql<{ id: string }[]>`
      insert into slack_messages (channel) values ('C0SECURITY1') returning id`;
    const storing = await app.ctx.sql.reserve();
    try {
      await storing`begin`;
      await storing`insert into actions (external_id, source, type, status, slack_message_id)
        values ('named-while-deleted', 'manual', 'isolate_device', 'pending', ${message!.id})`;
      // Its outcome taken at once: it fails as soon as the action's transaction commits.
      const deleting = app.ctx.sql`delete from slack_messages where id = ${message!.id}`.execute().then(
        () => "deleted",
        (error: Error) => error.message,
      );
      await waitFor(
        async () =>
          (
            await app.ctx.sql`select 1 from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and query like 'delete from slack_messages%'`
          ).length > 0,
        5000,
        "the delete waiting for the action's transaction",
      );
      await storing`commit`;
      expect(await deleting).toMatch(/shows actions, so it is kept/);
    } finally {
      storing.release();
    }
    const [kept] = await app.ctx.sql`select id from slack_messages where id = ${message!.id}`;
    expect(kept).toBeDefined();
  });

  it("every decision event carries the verified Slack user id, shown by GET /api/v1/actions/:id", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("block_url", 5)]);
    const posted = await waitForMessage(app, id!);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const shown = await (await app.api(`/api/v1/actions/${id}`)).json();
    expect(shown.events.map((e: { kind: string; actor: string }) => `${e.kind}:${e.actor}`)).toEqual([
      "received:api",
      `approve:${APPROVER}`,
      "start:system",
      "complete:system",
    ]);
  });
});

describe("ingest API fuzzing", () => {
  it("arbitrary JSON bodies get 201 or 400, never a 5xx, and a 400 stores nothing", async () => {
    const arbitraryAction = fc.record(
      {
        externalId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        source: fc.oneof(fc.constantFrom("automated_investigation", "antivirus", "manual"), fc.string()),
        type: fc.oneof(
          fc.constantFrom("quarantine_file", "isolate_device", "block_url", "stop_process"),
          fc.string(),
        ),
        status: fc.oneof(fc.constantFrom("pending", "completed"), fc.string()),
        device: fc.oneof(fc.record({ id: fc.string(), name: fc.string() }), fc.anything()),
        entity: fc.oneof(
          fc.record({ sha256: fc.stringMatching(/^[0-9a-f]{64}$/), url: fc.webUrl() }, { requiredKeys: [] }),
          fc.anything(),
        ),
        comment: fc.oneof(fc.string({ maxLength: 1200 }), fc.anything()),
        investigationId: fc.oneof(fc.string(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      arbitraryAction,
      fc.record({ actions: fc.array(arbitraryAction, { maxLength: 5 }) }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = await count();
        const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify(payload) });
        expect([201, 400]).toContain(res.status);
        const answer = await res.json();
        if (res.status === 400) {
          expect(answer.error).toBe("invalid_request");
          expect(answer.issues.length).toBeGreaterThan(0);
          expect(await count()).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("arbitrary bytes, content types and query strings never get a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.constantFrom(
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "application/json; charset=latin1",
        ),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), {
          maxKeys: 4,
        }),
        async (raw, contentType, query) => {
          const post = await app.api("/api/v1/actions", {
            method: "POST",
            body: raw,
            headers: { "content-type": contentType },
          });
          expect(post.status).toBeLessThan(500);
          await post.body?.cancel();
          const list = await app.api(`/api/v1/actions?${new URLSearchParams(query)}`);
          expect([200, 400]).toContain(list.status);
          await list.body?.cancel();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("arbitrary Authorization headers get 401 unless they carry the token", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .string({ maxLength: 80 })
          .filter((s) => !s.includes(TEST_INGEST_TOKEN) && /^[\x20-\x7e]*$/.test(s)),
        async (header) => {
          const res = await fetch(`${app.url}/api/v1/actions`, { headers: { authorization: header } });
          expect(res.status).toBe(401);
          await res.body?.cancel();
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("secrets", () => {
  it("no token or secret appears in the logs, the queued job data or the metrics", async () => {
    const [id] = await ingest(app.ctx.db, [actionBody("remove_scheduled_task", 6)]);
    const posted = await waitForMessage(app, id!);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    await app.api("/api/v1/actions", { method: "POST", body: "{}" });
    await fetch(`${app.url}/api/v1/actions`, { headers: { authorization: "Bearer wrong-token" } });
    const secrets = [TEST_BOT_TOKEN, TEST_SIGNING_SECRET, TEST_INGEST_TOKEN];
    const logs = app.logs.join("");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logs).not.toContain(secret);

    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${app.env.QUEUE_PREFIX}:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const type = await redis.type(key);
        const dump =
          type === "hash"
            ? JSON.stringify(await redis.hgetall(key))
            : type === "string"
              ? await redis.get(key)
              : "";
        for (const secret of secrets) expect(dump).not.toContain(secret);
      }
    } finally {
      redis.disconnect();
    }
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const secret of secrets) expect(metrics).not.toContain(secret);
  });
});
