// One connector at a time, and a crash loses nothing: `npm start -- connector` is killed (SIGKILL)
// while it waits for a page of alerts; a second connector waits out the dead one's lease, takes
// over and resumes at that very page. Every alert ends up with its proposal once.
import { like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { readCursor } from "../../src/db/queries/connector.ts";
import { actions, connectorLeases } from "../../src/db/schema.ts";
import {
  startTestApp,
  TEST_BOT_TOKEN,
  TEST_CHANNEL,
  TEST_INGEST_TOKEN,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../support/db.ts";
import { defenderEnv, type FakeDefender, startFakeDefender } from "../support/fakeDefender.ts";
import { sha1Of } from "../support/fixtures.ts";
import { freePort, npmStart, type StartedProcess } from "../support/process.ts";

const CONNECTOR_ENV = {
  DEFENDER_CONNECTOR_POLL_INTERVAL_MS: "100",
  DEFENDER_CONNECTOR_PAGE_SIZE: "2",
  DEFENDER_CONNECTOR_LEASE_MS: "2000",
  DEFENDER_CONNECTOR_CALLS_PER_MINUTE: "50000",
  DEFENDER_CONNECTOR_CALLS_PER_HOUR: "500000",
};

let fake: FakeDefender;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let first: StartedProcess | undefined;
let second: TestApp | undefined;
const prefix = uniqueName("takeover");

beforeAll(async () => {
  fake = await startFakeDefender();
  database = await createTestDatabase("connector_takeover");
});
afterAll(async () => {
  await first?.stop("SIGKILL");
  await second?.close();
  await fake?.close();
  await obliterateQueues(prefix);
  await database?.drop();
});

describe("connector.reliability", () => {
  it("killed mid-page, the connector's successor takes over its lease and resumes at that page: no duplicate, no gap", async () => {
    const alerts = Array.from({ length: 7 }, (_, i) => {
      const id = sha1Of(80_000 + i);
      fake.addMachine(id, `laptop-${i}`);
      return fake.addAlert(id, { severity: "High", title: `Alert ${i}` });
    });
    const port = await freePort();
    let killedAt = 0;
    fake.beforeAnswer = ({ path, query }) => {
      // Pages 1 and 2 (alerts 1–4) are stored; the connector dies while it asks for page 3.
      if (killedAt === 0 && path === "/api/alerts" && query.$skip === "4") {
        killedAt = Date.now();
        process.kill(-first!.child.pid!, "SIGKILL");
      }
    };
    first = npmStart(
      {
        ...defenderEnv(fake, CONNECTOR_ENV),
        DATABASE_URL: database.url,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        PORT: String(port),
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_CHANNEL: TEST_CHANNEL,
        SLACK_API_URL: "http://127.0.0.1:9/api/",
        INGEST_TOKEN: TEST_INGEST_TOKEN,
        LOG_LEVEL: "warn",
      },
      ["connector"],
    );
    await first.exited;
    expect(killedAt).toBeGreaterThan(0);

    const db = createDb(database.url, { max: 2 });
    try {
      const stored = await db.db.select().from(actions).where(like(actions.externalId, "%/isolate_device/%"));
      expect(stored.map((a) => a.deviceName).sort()).toEqual([
        "laptop-0",
        "laptop-1",
        "laptop-2",
        "laptop-3",
      ]);
      const cursor = await readCursor(db.db, "alerts");
      expect(cursor!.next).toMatch(/%24skip=4$/);
      // The dead process still holds the lease until it runs out.
      const [lease] = await db.db.select().from(connectorLeases);
      expect(lease!.expiresAt.getTime()).toBeGreaterThan(killedAt);

      second = await startTestApp("takeover_second", {
        role: "connector",
        databaseUrl: database.url,
        env: defenderEnv(fake, CONNECTOR_ENV),
      });
      await waitFor(
        async () =>
          (await db.db.select().from(actions).where(like(actions.externalId, "%/isolate_device/%")))
            .length === 7,
        20_000,
        "all 7 proposals",
      );
      const afterKill = fake.calls.filter((c) => c.path === "/api/alerts" && c.at > killedAt + 100);
      expect(afterKill[0]!.query.$skip).toBe("4");
      // It waited for the lease to run out rather than running beside the other one.
      expect(afterKill[0]!.at).toBeGreaterThanOrEqual(lease!.expiresAt.getTime() - 50);
      expect(second.connector!.lease.held()).toBe(true);

      const all = await db.db.select().from(actions);
      expect(all).toHaveLength(7);
      expect(new Set(all.map((a) => a.deviceId))).toEqual(new Set(alerts.map((a) => a.machineId)));
    } finally {
      await db.client.end();
    }
  });
});
