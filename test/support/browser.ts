// A real headless Chromium (Debian's, driven by playwright-core) and a person's gestures in the sandbox
// page: shared by the end-to-end tests and `npm run screenshots`.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether this machine has no Chromium. CI installs Debian's (.ci/run) and must run the browser
 * tests, so there a missing one stops the file; a developer's machine skips them, saying so,
 * rather than failing `npm test`.
 */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM_PATH)) return false;
  if (process.env.CI) throw new Error(`Chromium is required in CI: ${CHROMIUM_PATH} is missing`);
  console.warn(`skipping browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  return true;
}

export type Chromium = {
  context: BrowserContext;
  newPage(width?: number): Promise<Page>;
  close(): Promise<void>;
};

/** Chromium on a new, empty profile, with nothing running in the background that could reach the network. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await mkdtemp(join(tmpdir(), "ac-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async newPage(width = 1280) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The sandbox page of the app at `appUrl`, at a phone's width. */
export async function openSandboxOnPhone(chromium: Chromium, appUrl: string): Promise<Page> {
  const page = await chromium.newPage(390);
  page.setDefaultTimeout(20_000);
  await page.goto(`${appUrl}/sandbox`);
  return page;
}

/** The top-level message in the sandbox page that has (or had) the button `actionId`; follows its updates. */
export async function sandboxMessage(page: Page, actionId: string): Promise<Locator> {
  const button = page.locator(`.item > .msg [data-action-id="${actionId}"]`);
  await button.waitFor();
  const ts = await button.evaluate((element) => element.closest(".msg")?.getAttribute("data-ts"));
  return page.locator(`.item > .msg[data-ts="${ts}"]`);
}

/**
 * Clicks a decision's button and confirms in the modal the bot opens for an approver (the server
 * checks the person first, so there is no client-side dialog); returns the modal's text.
 */
export async function clickAndConfirm(page: Page, message: Locator, actionId: string): Promise<string> {
  await message.locator(`[data-action-id="${actionId}"]`).click();
  const modal = page.locator("#modal-layer .modal");
  await modal.waitFor();
  const text = (await modal.textContent()) ?? "";
  await modal.locator("button[type=submit]").click();
  await modal.waitFor({ state: "detached" });
  return text;
}

/** Reject → the modal → a reason → Reject. */
export async function rejectWithReason(page: Page, message: Locator, actionId: string, reason: string) {
  await message.locator(`[data-action-id="${actionId}"]`).click();
  const modal = page.locator("#modal-layer .modal");
  await modal.waitFor();
  await modal.locator("textarea").fill(reason);
  await modal.locator("button[type=submit]").click();
  return modal;
}
