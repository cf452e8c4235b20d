// The sandbox keeps its channel across a restart (issue 18 item 3): `npm start` again, on the same
// database, shows the same messages at the same place, and their buttons still work, since the
// store's messages point at them. In Chromium at phone width.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { getMessage } from "../../src/db/queries/messages.ts";
import { waitForStatuses } from "../support/actions.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import {
  type Chromium,
  chromiumMissing,
  clickAndConfirm,
  launchChromium,
  openSandboxOnPhone,
  sandboxMessage,
} from "../support/browser.ts";
import { createTestDatabase } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";

const browserMissing = chromiumMissing();

let database: { url: string; drop(): Promise<void> };
let app: TestApp | undefined;
let chromium: Chromium;

beforeAll(async () => {
  if (browserMissing) return;
  database = await createTestDatabase("e2e_restart");
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
  await app?.close();
  await database?.drop();
});

async function ingest(body: Record<string, unknown>): Promise<number> {
  const res = await app!.api("/api/v1/actions", { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return Number(((await res.json()) as { actions: { id: string }[] }).actions[0]!.id);
}

describe.skipIf(browserMissing)("sandbox restart", () => {
  it("after npm start again the channel is as it was, and its pending action is approved by a click", async () => {
    app = await startTestApp("e2e_restart", { sandbox: true, databaseUrl: database.url });
    const decided = await ingest(actionBody("quarantine_file", 1, { investigationId: undefined }));
    const pending = await ingest(actionBody("stop_service", 2, { investigationId: undefined }));
    let page = await openSandboxOnPhone(chromium, app.url);
    const first = await sandboxMessage(page, `approve:${decided}`);
    await clickAndConfirm(page, first, `approve:${decided}`);
    await first.locator(`[data-action-id="undo:${decided}"]`).waitFor();
    await sandboxMessage(page, `approve:${pending}`);
    const before = await page.locator(".timeline:not([hidden]) .item > .msg").count();
    await page.close();
    await app.close();
    app = undefined;

    app = await startTestApp("e2e_restart", { sandbox: true, databaseUrl: database.url });
    page = await openSandboxOnPhone(chromium, app.url);
    const again = await sandboxMessage(page, `approve:${pending}`);
    const done = await sandboxMessage(page, `undo:${decided}`);
    expect(await done.textContent()).toMatch(/Completed.*approved by @you/);
    expect(await page.locator(".timeline:not([hidden]) .item > .msg").count()).toBe(before);
    // The thread of the decided action came along.
    await done.locator("..").locator("[data-thread-toggle]").click();
    await done
      .locator("..")
      .locator(".thread")
      .getByText(/Approved.*by @you/)
      .waitFor();

    // The message the store points at is the one on the page, updated in place by the new process.
    const ts = await again.getAttribute("data-ts");
    const row = await getAction(app.ctx.db, pending);
    expect((await getMessage(app.ctx.db, row!.slackMessageId!))?.ts).toBe(ts);
    await clickAndConfirm(page, again, `approve:${pending}`);
    await waitForStatuses(app.ctx.db, [pending], ["completed"]);
    await page.locator(`.item > .msg[data-ts="${ts}"] [data-action-id="undo:${pending}"]`).waitFor();
    expect(await page.locator(".timeline:not([hidden]) .item > .msg").count()).toBe(before);
  });
});
