// The ingest API's request budget per token: over it, 429 with Retry-After and nothing stored;
// with Redis unreachable the same budget holds in each process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { type OwnRedis, ownRedis } from "../support/redisServer.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("rate_limit", { role: "web", env: { INGEST_RATE_LIMIT: "5" } });
});
afterAll(() => app?.close());

describe("ingest rate limit", () => {
  it("answers 429 with Retry-After past the budget, storing nothing, and counts only the right token", async () => {
    const post = (n: number) => postAction(app, n);
    // Requests with a wrong token are refused before they count.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${app.url}/api/v1/actions`, {
        headers: { authorization: "Bearer not-the-token-at-all" },
      });
      expect(res.status).toBe(401);
    }
    await intoOneWindow();
    const answers = [];
    for (let n = 0; n < 8; n++) answers.push(await post(n));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await limited[0]!.json()).toMatchObject({ error: "rate_limited" });
    const stored = await app.ctx.sql`select count(*)::int as n from actions`;
    expect(stored[0]!.n).toBe(answers.filter((r) => r.status === 201).length);
  });
});

describe("ingest rate limit without Redis", () => {
  let redis: OwnRedis;
  let alone: TestApp;
  beforeAll(async () => {
    redis = await ownRedis();
    alone = await startTestApp("rate_limit_no_redis", {
      role: "web",
      env: { INGEST_RATE_LIMIT: "5", REDIS_URL: redis.url },
    });
  });
  afterAll(async () => {
    await redis?.start();
    await alone?.close();
    await redis?.stop();
  });

  it("keeps the budget in the process while Redis is unreachable, and stores what it lets through", async () => {
    await redis.stop();
    await intoOneWindow();
    const answers = [];
    for (let n = 0; n < 8; n++) answers.push(await postAction(alone, n));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    expect(Number(answers[5]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const stored = await alone.ctx.sql`select count(*)::int as n from actions`;
    expect(stored[0]!.n).toBe(5);
    expect(alone.logs.join("")).toContain("Redis unavailable; counting in this process");
  });
});

function postAction(target: TestApp, n: number): Promise<Response> {
  return target.api("/api/v1/actions", {
    method: "POST",
    body: JSON.stringify(actionBody("stop_service", n)),
  });
}

/** Waits, if need be, so that the next few requests all fall in one one-minute window. */
async function intoOneWindow(): Promise<void> {
  const intoWindow = (Date.now() / 1000) % 60;
  if (intoWindow > 50) await new Promise((r) => setTimeout(r, (61 - intoWindow) * 1000));
}
