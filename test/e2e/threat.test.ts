// A whole threat approved from the phone layout, in a real headless Chromium on the sandbox page:
// the same file on four devices across investigations is one threat message; Approve all asks
// for confirmation, and the message then counts every action completed. Review decides one device's
// action alone, through the row's overflow menu.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
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

/** One file quarantined on `count` devices (`<name>-PC-<i>`): one threat message; its actions and message. */
async function ingestThreat(
  count: number,
  firstAlert: number,
  name: string,
  investigation: (i: number) => string,
  entity: { sha256: string; path: string },
) {
  const bodies = Array.from({ length: count }, (_, i) =>
    actionBody("quarantine_file", firstAlert + i, {
      investigationId: investigation(i),
      device: { id: `dev-${name.toLowerCase()}-${i}`, name: `${name}-PC-${i}` },
      entity,
    }),
  );
  const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify({ actions: bodies }) });
  expect(res.status).toBe(201);
  const ids = ((await res.json()) as { actions: { id: string }[] }).actions.map((a) => Number(a.id));
  return { ids, messageKey: (await getAction(app.ctx.db, ids[0]!))!.slackMessageId! };
}

describe.skipIf(browserMissing)("a threat on the phone", () => {
  it("approves every device's quarantine of one file with one confirmed Approve all", async () => {
    const { ids, messageKey } = await ingestThreat(4, 500, "PHONE", (i) => `inv-phone-${i % 2}`, {
      sha256: sha256Of(4242),
      path: "C:\\Users\\Public\\worm.exe",
    });

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

  it("Review → one device's … → Approve (or Reject… and a reason) decides that action alone; the others wait", async () => {
    const { ids, messageKey } = await ingestThreat(3, 600, "REVIEW", () => "inv-phone-review", {
      sha256: sha256Of(4343),
      path: "C:\\Users\\Public\\dropper.exe",
    });
    const [others, chosen] = [[ids[0]!, ids[2]!], ids[1]!];

    const message = await sandboxMessage(page, `review:${messageKey}`);
    await message.locator(`[data-action-id="review:${messageKey}"]`).click();
    const modal = page.locator("#modal-layer .modal");
    await modal.getByText("REVIEW-PC-1").waitFor();
    const rowOf = (id: number) =>
      modal.locator(".b-section", { has: page.locator(`[data-action-id="review_decide:${id}"]`) });
    const row = rowOf(chosen);
    expect(await row.textContent()).toContain("REVIEW-PC-1");
    const toggle = row.locator("[data-overflow-toggle]");
    const menu = row.getByRole("menu");
    expect(await menu.isHidden()).toBe(true);
    await toggle.click();
    await menu.waitFor();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    // Touch targets on the phone: the … and each option.
    for (const target of [toggle, ...(await menu.getByRole("menuitem").all())]) {
      expect((await target.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    }
    await menu.getByRole("menuitem", { name: "Approve" }).click();

    // No confirmation opens: the modal stays, re-rendered with what was done, the row decided.
    await waitForStatuses(app.ctx.db, [chosen], ["completed"]);
    await modal.locator(`[data-action-id="review_decide:${chosen}"]`).waitFor({ state: "detached" });
    for (const id of others) expect((await getAction(app.ctx.db, id))!.status).toBe("pending");
    for (const id of others)
      await modal.locator(`[data-action-id="review_decide:${id}"]`).waitFor({ state: "attached" });
    expect(await getAction(app.ctx.db, chosen)).toMatchObject({ decidedBy: SANDBOX_USER.id });
    await message.getByText(/1 completed/).waitFor();
    expect(await message.textContent()).toContain("Approve all 2");

    // Reject… pushes the reason modal over the review; its submission rejects that action alone.
    const [rejected, untouched] = others as [number, number];
    await rowOf(rejected).locator("[data-overflow-toggle]").click();
    await rowOf(rejected).getByRole("menuitem", { name: "Reject…" }).click();
    await modal.locator("textarea").fill("a pentest box");
    await modal.locator("button[type=submit]").click();
    await waitForStatuses(app.ctx.db, [rejected], ["rejected"]);
    expect(await getAction(app.ctx.db, rejected)).toMatchObject({ decisionComment: "a pentest box" });
    expect((await getAction(app.ctx.db, untouched))!.status).toBe("pending");
    await modal.getByText("Review", { exact: true }).waitFor();
    await modal.locator("[data-close]").first().click();
    await modal.waitFor({ state: "detached" });
  });
});
