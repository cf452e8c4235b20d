// The connector's rules of the store and of the budget, against the real Postgres and Redis:
// what the policy does with proposals (auto-approval, expiry on resolution), and how the shared
// call budget keeps the worker's share whatever the connector does.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defenderBudgets, takeFromBudgets } from "../../src/backend/defender/budget.ts";
import type { DefenderAlert } from "../../src/backend/defender/reader.ts";
import { loadConfig } from "../../src/config/env.ts";
import { createDb } from "../../src/db/client.ts";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { actions, outbox } from "../../src/db/schema.ts";
import type { EvidenceFacts } from "../../src/domain/connectorRules.ts";
import { type Policy, parsePolicy } from "../../src/domain/policy.ts";
import { createRedis } from "../../src/lib/redis.ts";
import { storeAlertPage } from "../../src/services/defenderAlerts.ts";
import { TEST_CHANNEL } from "../support/app.ts";
import { createTestDatabase, REDIS_URL, uniqueName } from "../support/db.ts";
import { sha1Of } from "../support/fixtures.ts";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let store: ReturnType<typeof createDb>;
beforeAll(async () => {
  database = await createTestDatabase("connector_services");
  store = createDb(database.url, { max: 4 });
});
afterAll(async () => {
  await store?.client.end();
  await database?.drop();
});

let sequence = 0;
function alert(fields: Partial<DefenderAlert> = {}): DefenderAlert {
  sequence += 1;
  return {
    id: `da6374${sequence}_1`,
    incidentId: String(9000 + sequence),
    investigationId: null,
    title: "Suspicious behavior",
    severity: "High",
    status: "New",
    category: "Execution",
    detectionSource: "WindowsDefenderAtp",
    machineId: sha1Of(sequence),
    computerDnsName: `host-${sequence}`,
    assignedTo: null,
    classification: null,
    determination: null,
    lastUpdateTime: new Date(),
    resolvedTime: null,
    evidence: [],
    ...fields,
  };
}

function policy(document: unknown): Policy {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.policy;
}

const storePage = (alerts: DefenderAlert[], withPolicy: Policy) =>
  store.db.transaction((tx) => storeAlertPage(tx, alerts, { policy: withPolicy, channel: TEST_CHANNEL }));

const actionsOf = (incidentId: string) =>
  store.db.select().from(actions).where(eq(actions.incidentId, incidentId));

describe("connector.store", () => {
  it("with expirePendingWhenResolved on, a resolved alert expires its pending proposals once, saying why", async () => {
    const expiring = policy({ connector: { expirePendingWhenResolved: true } });
    const raised = alert();
    expect(await storePage([raised], expiring)).toMatchObject({ proposed: 1, resolved: 0 });
    expect(await storePage([raised], expiring)).toMatchObject({ proposed: 0 });
    const resolved = {
      ...raised,
      status: "Resolved",
      assignedTo: "secop@contoso.com",
      classification: "TruePositive",
    };
    expect(await storePage([resolved], expiring)).toMatchObject({ proposed: 0, resolved: 1, expired: 1 });
    expect(await storePage([resolved], expiring)).toMatchObject({ resolved: 0, expired: 0 });
    const [action] = await actionsOf(raised.incidentId!);
    expect(action!.status).toBe("expired");
    const events = await getActionEvents(store.db, action!.id);
    expect(events.map((e) => [e.kind, e.actor])).toEqual([
      ["received", "defender-connector"],
      ["expire", "system"],
    ]);
    expect(events[1]!.detail.reason).toBe(
      `alert ${raised.id} resolved in Defender by secop@contoso.com (TruePositive)`,
    );
  });

  it("proposals go through the approval policy: an auto-approval rule for the source approves them at once", async () => {
    const automatic = policy({ autoApprove: [{ source: "defender_alert", type: "block_url" }] });
    const url: EvidenceFacts = {
      entityType: "Url",
      url: "https://evil.example.com/c2",
      sha1: null,
      sha256: null,
      fileName: null,
      filePath: null,
      processId: null,
      registryKey: null,
      registryHive: null,
      registryValueName: null,
      detectionStatus: null,
    };
    const raised = alert({ severity: "Low", evidence: [url] });
    await storePage([raised], automatic);
    const [blocked] = await actionsOf(raised.incidentId!);
    expect(blocked).toMatchObject({
      type: "block_url",
      status: "approved",
      decidedBy: "policy",
      deviceId: null,
    });
    const queued = await store.db.select().from(outbox);
    expect(queued.some((row) => row.topic === "execute" && row.payload.actionId === blocked!.id)).toBe(true);
  });
});

describe("connector.budget", () => {
  it("the connector takes only its share of each window; refused takes cost nothing and the worker keeps the rest", async () => {
    const config = loadConfig({
      BACKEND: "defender",
      DEFENDER_TENANT_ID: "11111111-2222-3333-4444-555555555555",
      DEFENDER_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      DEFENDER_CLIENT_SECRET: "secret-value-for-the-test",
      DEFENDER_CALLS_PER_MINUTE: "5",
      DEFENDER_CONNECTOR_CALLS_PER_MINUTE: "2",
    }).defender!;
    const prefix = uniqueName("budget");
    const budgets = defenderBudgets(prefix, config);
    const redis = createRedis(REDIS_URL, "queue");
    try {
      const connector = async () => (await takeFromBudgets(redis, budgets.connector)).spent?.spent ?? "taken";
      const worker = async () => (await takeFromBudgets(redis, budgets.worker)).spent?.spent ?? "taken";
      const taken: string[] = [];
      for (let i = 0; i < 12; i++) taken.push(await connector());
      expect(taken.slice(0, 2)).toEqual(["taken", "taken"]);
      expect(new Set(taken.slice(2))).toEqual(
        new Set(["the connector has made its share of 2 Defender calls of this minute"]),
      );
      // A connector held back at its share never spent the worker's three.
      expect([await worker(), await worker(), await worker(), await worker()]).toEqual([
        "taken",
        "taken",
        "taken",
        "the app has made its 5 Defender calls of this minute",
      ]);
      const refused = await takeFromBudgets(redis, budgets.worker);
      expect(refused.wait).toBeGreaterThan(0);
      expect(refused.wait).toBeLessThanOrEqual(60_000);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
