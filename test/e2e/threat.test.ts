// A whole threat approved from the phone layout, in a real headless Chromium on the sandbox page:
// the same file on four devices across investigations is one threat message; Approve all asks
// for confirmation, and the message then counts every action completed.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
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
import { actionBody, sha256Of } from "../support/fixtures.ts";

let app: TestApp;
let chromium: Chromium;
let page: Page;

const browserMissing = chromiumMissing();

beforeAll(async () => {
  if (browserMissing) return;
  [app, chromium] = await Promise.all([startTestApp("e2e_threat", { sandbox: true }), launchChromium()]);
  page = await openSandboxOnPhone(chromium, app.url);
});
afterAll(async () => {
  await chromium?.close();
  await app?.close();
});

describe.skipIf(browserMissing)("a threat on the phone", () => {
  it("approves every device's quarantine of one file with one confirmed Approve all", async () => {
    const bodies = Array.from({ length: 4 }, (_, i) =>
      actionBody("quarantine_file", 500 + i, {
        investigationId: `inv-phone-${i % 2}`,
        device: { id: `dev-phone-${i}`, name: `PHONE-PC-${i}` },
        entity: { sha256: sha256Of(4242), path: "C:\\Users\\Public\\worm.exe" },
      }),
    );
    const res = await app.api("/api/v1/actions", {
      method: "POST",
      body: JSON.stringify({ actions: bodies }),
    });
    expect(res.status).toBe(201);
    const ids = ((await res.json()) as { actions: { id: string }[] }).actions.map((a) => Number(a.id));
    const messageKey = (await getAction(app.ctx.db, ids[0]!))!.slackMessageId!;

    const message = await sandboxMessage(page, `approve_all:${messageKey}`);
    const shown = await message.textContent();
    expect(shown).toContain("Threat: File worm.exe");
    expect(shown).toContain("4 devices · 2 investigations");
    expect(shown).toContain("PHONE-PC-0");

    const asked = await clickAndConfirm(page, message, `approve_all:${messageKey}`);
    expect(asked).toContain("Approve 4 actions?");
    await waitForStatuses(app.ctx.db, ids, ["completed"]);
    await message.getByText(/4 completed/).waitFor();
    expect(await message.locator(`[data-action-id="approve_all:${messageKey}"]`).count()).toBe(0);
  });
});
