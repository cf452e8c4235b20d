// The README's first five minutes, as a newcomer takes them, in Chromium on a phone: `npm start`
// with no Slack settings, `npm run demo` beside it with the bot's PORT and DATABASE_URL, the
// sandbox page from the address the log prints; then `npm start` again, and the channel is as it
// was, its pending actions still a click away.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { waitFor } from "../support/app.ts";
import {
  type Chromium,
  chromiumMissing,
  clickAndConfirm,
  launchChromium,
  sandboxMessage,
} from "../support/browser.ts";
import { createTestDatabase, obliterateQueues, REDIS_URL, uniqueName } from "../support/db.ts";
import { freePort, logLine, npmRunDemo, npmStart, type StartedProcess } from "../support/process.ts";

const browserMissing = chromiumMissing();

let database: { url: string; drop(): Promise<void> };
let chromium: Chromium;
let bot: StartedProcess | undefined;
let store: ReturnType<typeof createDb>;
const queuePrefix = uniqueName("e2e_newcomer");

beforeAll(async () => {
  if (browserMissing) return;
  database = await createTestDatabase("e2e_newcomer");
  store = createDb(database.url, { max: 1 });
  chromium = await launchChromium();
});
afterAll(async () => {
  await bot?.stop();
  await chromium?.close();
  await store?.client.end();
  await obliterateQueues(queuePrefix);
  await database?.drop();
});

/** `npm start` as the README says, plus what keeps this test apart from others on the machine. */
async function npmStartSandbox(port: number): Promise<{ process: StartedProcess; page: string }> {
  const started = npmStart({
    DATABASE_URL: database.url,
    REDIS_URL,
    PORT: String(port),
    QUEUE_PREFIX: queuePrefix,
  });
  const page = await waitFor(
    async () => {
      try {
        return String(logLine(started.output(), "local Slack sandbox: open this page to use the bot").url);
      } catch {
        return undefined;
      }
    },
    60_000,
    `the sandbox's address in the log:\n${started.output()}`,
  );
  return { process: started, page };
}

describe.skipIf(browserMissing)("the README's newcomer path", () => {
  it("npm start, npm run demo, the sandbox page; npm start again and the channel is intact", async () => {
    const port = await freePort();
    let started = await npmStartSandbox(port);
    bot = started.process;
    const demo = await npmRunDemo({ PORT: String(port), DATABASE_URL: database.url }, ["--interval", "0"]);
    expect(demo.err).toBe("");

    let page = await chromium.newPage(390);
    page.setDefaultTimeout(30_000);
    await page.goto(started.page);
    let messages = page.locator("#timeline-channel .item > .msg");
    await page.getByText("LAPTOP-FIN-07").first().waitFor();
    // Every message the store has is posted (Slack takes one a second per channel), and shown.
    const count = await waitFor(
      async () => {
        const [row] = await store.client<{ posted: number; unposted: number }[]>`
          select count(ts)::int as posted, (count(*) - count(ts))::int as unposted from slack_messages`;
        const shown = await messages.count();
        return row!.unposted === 0 && row!.posted > 0 && shown === row!.posted && shown;
      },
      90_000,
      "every demo message posted and shown",
    );
    const approve = await page
      .locator("#timeline-channel [data-action-id^='approve:']")
      .first()
      .getAttribute("data-action-id");
    const decided = Number(approve!.split(":")[1]);
    const message = await sandboxMessage(page, approve!);
    await clickAndConfirm(page, message, approve!);
    await message.getByText(/approved by @you/).waitFor();
    const pending = await page.locator("#timeline-channel [data-action-id^='approve:']").count();
    expect(pending).toBeGreaterThan(0);
    await page.close();

    expect(await bot.stop("SIGTERM")).toBe(0);
    started = await npmStartSandbox(port);
    bot = started.process;
    page = await chromium.newPage(390);
    page.setDefaultTimeout(30_000);
    await page.goto(started.page);
    await page.getByText("LAPTOP-FIN-07").first().waitFor();
    messages = page.locator("#timeline-channel .item > .msg");
    expect(await messages.count()).toBe(count);
    expect(await page.locator("#timeline-channel [data-action-id^='approve:']").count()).toBe(pending);
    expect(await page.locator(`[data-action-id="approve:${decided}"]`).count()).toBe(0);
    expect(await page.getByText(/approved by @you/).count()).toBeGreaterThan(0);
    // A pending action from before the restart, approved now, in the same message.
    const next = await page
      .locator("#timeline-channel [data-action-id^='approve:']")
      .first()
      .getAttribute("data-action-id");
    const nextMessage = await sandboxMessage(page, next!);
    await clickAndConfirm(page, nextMessage, next!);
    await nextMessage.getByText(/approved by @you/).waitFor();
    expect(await messages.count()).toBe(count);
    await page.close();
  });
});
