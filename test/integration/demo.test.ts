// `npm run demo` and its parts: the fleet it seeds and the feed it plays, against a running app and
// the real store; and the script itself, as a newcomer runs it beside the bot.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { getDeviceView } from "../../src/db/queries/fleet.ts";
import { deviceFiles } from "../../src/db/schema.ts";
import { checkBotSeesFleet, FeedError, playFeed, SCENES, waitForBot } from "../../src/demo/feed.ts";
import { deviceIdOf, FLEET, seedFleet } from "../../src/demo/fleet.ts";
import { decide } from "../../src/services/decide.ts";
import { waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_INGEST_TOKEN, type TestApp } from "../support/app.ts";
import { POSTGRES_BASE, uniqueName } from "../support/db.ts";
import { freePort, npmRunDemo } from "../support/process.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("demo");
});
afterAll(() => app?.close());

const play = (lines: string[] = [], token = TEST_INGEST_TOKEN) =>
  playFeed({ baseUrl: app.url, token, intervalMs: 0, print: (line) => lines.push(line) });

describe("demo", () => {
  it("seeds the fleet once; a second seeding changes nothing", async () => {
    const first = await seedFleet(app.ctx.db);
    expect(first.devices).toBe(FLEET.length);
    const second = await seedFleet(app.ctx.db);
    expect(second).toEqual(first);
    const device = await getDeviceView(app.ctx.db, deviceIdOf("LAPTOP-FIN-07"));
    expect(device).toMatchObject({ name: "LAPTOP-FIN-07", isolated: false, quarantinedFiles: [] });
    const files = await app.ctx.db
      .select()
      .from(deviceFiles)
      .where(eq(deviceFiles.deviceId, deviceIdOf("LAPTOP-FIN-07")));
    expect(files.map((f) => f.state)).toEqual(["present", "present", "present"]);
  });

  it("plays every scene through the ingest API, grouped per investigation, and a rerun adds new actions", async () => {
    const lines: string[] = [];
    const first = await play(lines);
    const expected = SCENES.reduce((sum, scene) => sum + scene.actions.length, 0);
    expect(first.batches).toBe(SCENES.length);
    expect(first.actions).toHaveLength(expected);
    expect(first.actions.every((a) => a.status === "pending")).toBe(true);
    expect(lines.join("\n")).toMatch(/Automated investigation \d+ on LAPTOP-FIN-07: 4 actions/);
    expect(lines.join("\n")).toMatch(/Manual request by alice\.nguyen@contoso\.com on SRV-SQL-02/);

    const stored = await Promise.all(first.actions.map((a) => getAction(app.ctx.db, Number(a.id))));
    const investigations = new Set(stored.map((a) => a!.investigationId).filter(Boolean));
    expect(investigations.size).toBe(SCENES.filter((s) => s.investigation).length);
    const manual = stored.filter((a) => a!.source === "manual");
    expect(manual.every((a) => a!.requestedBy?.endsWith("@contoso.com") && a!.comment)).toBe(true);

    const second = await play();
    expect(second.actions).toHaveLength(expected);
    const firstIds = new Set(first.actions.map((a) => a.id));
    expect(second.actions.some((a) => firstIds.has(a.id))).toBe(false);
  });

  it("runs on its fleet when approved: all complete but the service not installed, which fails with Retry", async () => {
    await seedFleet(app.ctx.db);
    const { actions } = await play();
    for (const action of actions) {
      await decide(app.ctx.db, { actionId: Number(action.id), decision: "approve", actor: APPROVER });
    }
    const ids = actions.map((a) => Number(a.id));
    await waitForStatuses(app.ctx.db, ids, ["completed", "failed"]);
    const stored = await Promise.all(ids.map((id) => getAction(app.ctx.db, id)));
    const failed = stored.filter((a) => a!.status === "failed");
    expect(failed.map((a) => [a!.type, a!.error])).toEqual([
      ["stop_service", "no service TeamViewer is installed on LAPTOP-DEV-12"],
    ]);
    // One file quarantined on three devices: what "Apply to N more instances" offers.
    const installer = stored.filter((a) => a!.type === "quarantine_file" && a!.comment?.includes("Zoom"));
    expect(new Set(installer.map((a) => a!.entity.sha256)).size).toBe(1);
    expect(installer.map((a) => a!.deviceName).sort()).toEqual([
      "LAPTOP-DEV-12",
      "LAPTOP-HR-03",
      "LAPTOP-SALES-22",
    ]);
    expect(installer.every((a) => a!.status === "completed")).toBe(true);
  });

  it("stops with a clear error when the bot refuses the token", async () => {
    await expect(play([], "wrong-token-0123456789")).rejects.toThrow(
      new FeedError("the bot refused the ingest token: set INGEST_TOKEN to the bot's"),
    );
  });
});

const SAME_SETTINGS =
  "start the bot first (npm start), and run the demo with the same PORT (or DEMO_URL) and DATABASE_URL as the bot";

describe("npm run demo", () => {
  it("--help says it needs the bot running, with the same PORT and DATABASE_URL", async () => {
    const { code, out } = await npmRunDemo({}, ["--help"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: npm run demo/);
    expect(out).toContain("Start the bot first (npm start, in another terminal)");
    expect(out).toMatch(/PORT or DEMO_URL +where the bot listens/);
    expect(out).toMatch(/DATABASE_URL +the bot's Postgres, where the fleet is seeded/);
    expect(out).toContain("--interval <seconds>");
  });

  it("stops at once with what to do when nothing listens where the bot should be", async () => {
    const port = await freePort();
    const at = Date.now();
    const { code, err } = await npmRunDemo({ PORT: String(port) });
    expect(code).toBe(1);
    expect(err.trim()).toBe(
      `demo: nothing answers at http://localhost:${port} (ECONNREFUSED): ${SAME_SETTINGS}`,
    );
    // Not a minute of silence: it does not wait for a bot that is not there (the bound is generous).
    expect(Date.now() - at).toBeLessThan(20_000);
  });

  it("says so when its DATABASE_URL is not the bot's", async () => {
    const missing = uniqueName("demo_elsewhere");
    const { code, err } = await npmRunDemo({
      DEMO_URL: app.url,
      INGEST_TOKEN: TEST_INGEST_TOKEN,
      DATABASE_URL: `${POSTGRES_BASE}/${missing}`,
    });
    expect(code).toBe(1);
    expect(err.trim()).toBe(
      `demo: the database ${new URL(POSTGRES_BASE).host}/${missing} does not exist: run the demo with the bot's DATABASE_URL`,
    );
  });

  it("with the bot's settings, seeds its fleet and plays every batch into it", async () => {
    const { code, out, err } = await npmRunDemo(
      { DEMO_URL: app.url, INGEST_TOKEN: TEST_INGEST_TOKEN, DATABASE_URL: app.databaseUrl },
      ["--interval", "0"],
    );
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain(
      `Simulated fleet in ${new URL(app.databaseUrl).host}${new URL(app.databaseUrl).pathname}`,
    );
    const sent = SCENES.reduce((sum, scene) => sum + scene.actions.length, 0);
    expect(out).toContain(`Sent ${sent} actions in ${SCENES.length} batches.`);
  });
});

describe("the demo's checks of the bot", () => {
  /** A stand-in answering /readyz with each of `answers` in turn (the last one from then on). */
  async function readyz(
    answers: { status: number; body: unknown }[],
  ): Promise<{ url: string; server: Server }> {
    let calls = 0;
    const server = createServer((_req, res) => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  it("waits for a bot that answers but is not ready yet, saying for what", async () => {
    const notReady = {
      status: 503,
      body: { status: "not_ready", checks: { postgres: "ok", redis: "connect ECONNREFUSED" } },
    };
    const { url, server } = await readyz([notReady, notReady, { status: 200, body: { status: "ready" } }]);
    const lines: string[] = [];
    await waitForBot(url, 10_000, { print: (line) => lines.push(line) });
    server.close();
    expect(lines).toEqual([
      `The bot at ${url} is not ready yet (redis: connect ECONNREFUSED); waiting up to 10 s`,
    ]);
  });

  it("refuses something else listening on the bot's port", async () => {
    const { url, server } = await readyz([{ status: 404, body: {} }]);
    await expect(waitForBot(url, 10_000, { print: () => {} })).rejects.toThrow(
      new FeedError(`${url}/readyz answered HTTP 404, not the bot: ${SAME_SETTINGS}`),
    );
    server.close();
  });

  it("refuses a bot that does not see the fleet the demo seeded", async () => {
    await checkBotSeesFleet(app.url, TEST_INGEST_TOKEN, deviceIdOf("LAPTOP-FIN-07"), "here");
    await expect(
      checkBotSeesFleet(app.url, TEST_INGEST_TOKEN, "no-such-device", "elsewhere/db"),
    ).rejects.toThrow(
      new FeedError(
        "the bot does not see the fleet just seeded into elsewhere/db: run the demo with the bot's DATABASE_URL",
      ),
    );
  });
});
