// The ingest API's request budget per token: over it, 429 with Retry-After and nothing stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("rate_limit", { role: "web", env: { INGEST_RATE_LIMIT: "5" } });
});
afterAll(() => app?.close());

describe("ingest rate limit", () => {
  it("answers 429 with Retry-After past the budget, storing nothing, and counts only the right token", async () => {
    const post = (n: number) =>
      app.api("/api/v1/actions", { method: "POST", body: JSON.stringify(actionBody("stop_service", n)) });
    // Requests with a wrong token are refused before they count.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${app.url}/api/v1/actions`, {
        headers: { authorization: "Bearer not-the-token-at-all" },
      });
      expect(res.status).toBe(401);
    }
    // Start well inside a one-minute window, so that all eight requests fall in it.
    const intoWindow = (Date.now() / 1000) % 60;
    if (intoWindow > 50) await new Promise((r) => setTimeout(r, (61 - intoWindow) * 1000));
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
