// `npm run demo`'s parts: the fleet it seeds and the feed it plays, against a running app and the real store.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { getDeviceView } from "../../src/db/queries/fleet.ts";
import { deviceFiles } from "../../src/db/schema.ts";
import { FeedError, playFeed, SCENES } from "../../src/demo/feed.ts";
import { deviceIdOf, FLEET, seedFleet } from "../../src/demo/fleet.ts";
import { decide } from "../../src/services/decide.ts";
import { waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_INGEST_TOKEN, type TestApp } from "../support/app.ts";

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
