// `npm run screenshots`: docs/screenshots/*.png of the sandbox page and an investigation page, at phone
// (390 px) and desktop (1280 px) widths. Starts the app in sandbox mode on a database and queue prefix of
// its own (dropped afterwards), plays the demo feed, decides on a few actions by clicking, then shoots.
// Needs Postgres, Redis and Debian's chromium, as the tests do; emoji need fonts-noto-color-emoji.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { getAction } from "../src/db/queries/actions.ts";
import { playFeed, SCENES } from "../src/demo/feed.ts";
import { seedFleet } from "../src/demo/fleet.ts";
import { startTestApp, TEST_INGEST_TOKEN, type TestApp } from "../test/support/app.ts";
import {
  type Chromium,
  clickAndConfirm,
  launchChromium,
  rejectWithReason,
  sandboxMessage,
} from "../test/support/browser.ts";
import { actionBody, sha256Of } from "../test/support/fixtures.ts";

const OUT = join(import.meta.dirname, "..", "docs", "screenshots");
const PHONE = 390;
const DESKTOP = 1280;

async function shoot(page: Page, name: string, fullPage = false) {
  const path = join(OUT, `${name}.png`);
  // No hover highlight where the last click was.
  await page.mouse.move(0, 0);
  // The highlight that marks an updated message is a passing animation: shot as it ends.
  await page.screenshot({ path, fullPage, animations: "disabled" });
  console.log(`wrote ${path}`);
}

async function openSandbox(chromium: Chromium, app: TestApp, width: number): Promise<Page> {
  const page = await chromium.newPage(width);
  page.setDefaultTimeout(30_000);
  await page.goto(`${app.url}/sandbox`);
  // Every batch is posted (about one a second, Slack's pace) before the page is shot.
  await page.waitForFunction(
    (count) => document.querySelectorAll("#timeline-channel > .item").length >= count,
    SCENES.length,
  );
  return page;
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const [app, chromium] = await Promise.all([
    startTestApp("screenshots", { sandbox: true }),
    launchChromium(),
  ]);
  try {
    await seedFleet(app.ctx.db);
    const feed = await playFeed({
      baseUrl: app.url,
      token: TEST_INGEST_TOKEN,
      intervalMs: 0,
      print: () => {},
    });
    const ids = feed.actions.map((a) => Number(a.id));
    // The last scenes are what the channel shows first: an investigation on LAPTOP-SALES-22 and a kiosk.
    const [quarantine, , , isolate] = ids.slice(-4);
    const restrict = ids.at(-5)!;

    const desktop = await openSandbox(chromium, app, DESKTOP);
    const kiosk = await sandboxMessage(desktop, `approve:${restrict}`);
    await clickAndConfirm(desktop, kiosk, `approve:${restrict}`);
    await kiosk.locator(`[data-action-id="undo:${restrict}"]`).waitFor();
    const investigation = await sandboxMessage(desktop, `approve:${quarantine}`);
    await clickAndConfirm(desktop, investigation, `approve:${quarantine}`);
    await investigation.locator(`[data-action-id="undo:${quarantine}"]`).waitFor();
    const modal = await rejectWithReason(
      desktop,
      investigation,
      `reject:${isolate}`,
      "Sales laptop is with a customer today; quarantine and the task removal are enough.",
    );
    await modal.waitFor({ state: "detached" });
    await investigation.getByText(/Rejected by @you/).waitFor();
    await shoot(desktop, "sandbox-desktop");

    const phone = await openSandbox(chromium, app, PHONE);
    await shoot(phone, "sandbox-phone");
    const pending = await sandboxMessage(phone, `reject:${ids.at(-7)!}`);
    await pending.locator(`[data-action-id="reject:${ids.at(-7)!}"]`).click();
    await phone.locator("#modal-layer .modal textarea").fill("Expected: the web team's log rotation script.");
    await shoot(phone, "sandbox-reject-modal-phone");

    const investigationId = (await getAction(app.ctx.db, quarantine!))!.investigationId;
    // The desktop shot shows the whole page; the phone one what a phone shows first.
    for (const [width, name, fullPage] of [
      [DESKTOP, "investigation-desktop", true],
      [PHONE, "investigation-phone", false],
    ] as const) {
      const page = await chromium.newPage(width);
      await page.goto(`${app.url}/investigations/${encodeURIComponent(investigationId!)}`);
      await shoot(page, name, fullPage);
    }

    // An outbreak: the same file on twelve devices across five investigations, one threat message.
    const threat = await app.api("/api/v1/actions", {
      method: "POST",
      body: JSON.stringify({
        actions: Array.from({ length: 12 }, (_, i) =>
          actionBody("quarantine_file", 700 + i, {
            investigationId: `inv-outbreak-${i % 5}`,
            device: { id: `dev-outbreak-${i}`, name: `FIN-LAPTOP-${String(i + 1).padStart(2, "0")}` },
            entity: { sha256: sha256Of(0xbad), path: "C:\\Users\\Public\\Documents\\invoice-update.exe" },
          }),
        ),
      }),
    });
    const [first] = ((await threat.json()) as { actions: { id: string }[] }).actions;
    const threatKey = (await getAction(app.ctx.db, Number(first!.id)))!.slackMessageId!;
    const outbreakPhone = await chromium.newPage(PHONE);
    outbreakPhone.setDefaultTimeout(30_000);
    await outbreakPhone.goto(`${app.url}/sandbox`);
    // The reject modal of the shot before is still open for the sandbox user: cancelled first.
    await outbreakPhone.locator("#modal-layer .modal button", { hasText: "Cancel" }).click();
    const threatMessage = await sandboxMessage(outbreakPhone, `approve_all:${threatKey}`);
    await threatMessage.scrollIntoViewIfNeeded();
    await shoot(outbreakPhone, "threat-phone");
  } finally {
    await chromium.close();
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error("screenshots:", error);
  process.exit(1);
});
