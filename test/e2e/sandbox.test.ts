// The local Slack sandbox end to end, in a real headless Chromium: the app runs as `npm start` does without
// Slack credentials, and a responder works only by clicking in the sandbox page. Each click reaches the bot
// as a request signed like Slack's, so Bolt's signature check is on the path of every step.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { privateReplies } from "../../src/db/schema.ts";
import { playFeed } from "../../src/demo/feed.ts";
import { seedFleet } from "../../src/demo/fleet.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
import { decide } from "../../src/services/decide.ts";
import { waitForStatuses } from "../support/actions.ts";
import { startTestApp, TEST_INGEST_TOKEN, type TestApp } from "../support/app.ts";
import {
  type Chromium,
  chromiumMissing,
  clickAndConfirm,
  launchChromium,
  openSandboxOnPhone,
  rejectWithReason,
  sandboxMessage,
} from "../support/browser.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import { seedFleetFor } from "../support/fleet.ts";

let app: TestApp;
let chromium: Chromium;
let page: Page;

const browserMissing = chromiumMissing();

beforeAll(async () => {
  if (browserMissing) return;
  [app, chromium] = await Promise.all([startTestApp("e2e_sandbox", { sandbox: true }), launchChromium()]);
  page = await openSandboxOnPhone(chromium, app.url);
});
afterAll(async () => {
  await chromium?.close();
  await app?.close();
});

async function ingest(body: Record<string, unknown>): Promise<number> {
  const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return Number(((await res.json()) as { actions: { id: string }[] }).actions[0]!.id);
}

describe.skipIf(browserMissing)("sandbox page", () => {
  it("runs as npm start does: its own fake Slack, the sandbox user an approver, the page address logged", () => {
    expect(app.sandbox).not.toBeNull();
    expect(app.slack.approvers.userIds).toEqual([SANDBOX_USER.id]);
    expect(app.logs.join("")).toContain(`${app.url}/sandbox`);
  });

  it("pending → Approve (confirmed) → completed → Undo (confirmed) → undone, all by clicking", async () => {
    const id = await ingest(
      actionBody("quarantine_file", 1, {
        investigationId: undefined,
        device: { id: "dev-1", name: "LAPTOP-FIN-07" },
      }),
    );
    const message = await sandboxMessage(page, `approve:${id}`);
    expect(await message.textContent()).toMatch(/Waiting for approval/);
    expect(await message.textContent()).toContain("LAPTOP-FIN-07");

    const asked = await clickAndConfirm(page, message, `approve:${id}`);
    expect(asked).toContain("Approve this action?");
    await message.locator(`[data-action-id="undo:${id}"]`).waitFor();
    expect(await message.textContent()).toMatch(/Completed.*approved by @you/);
    expect(await getAction(app.ctx.db, id)).toMatchObject({
      status: "completed",
      decidedBy: SANDBOX_USER.id,
    });

    const undoAsked = await clickAndConfirm(page, message, `undo:${id}`);
    expect(undoAsked).toContain("Restore file");
    await message.getByText(/Undone/).waitFor();
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    // Who asked for the undo, and when, as Slack shows a person and a date.
    expect(await message.textContent()).toMatch(/Undone .*Restore file ran · requested by @you \S/);
    expect(await message.locator(`[data-action-id="undo:${id}"]`).count()).toBe(0);

    // The thread under the message keeps the audit trail; it opens on a click.
    const item = message.locator("..");
    await item.locator("[data-thread-toggle]").click();
    await item
      .locator(".thread")
      .getByText(/Approved.*by @you/)
      .waitFor();
    const kinds = (await getActionEvents(app.ctx.db, id)).map((e) => e.kind);
    expect(kinds.filter((k) => k === "approve" || k === "request_undo")).toEqual(["approve", "request_undo"]);
  });

  it("Reject asks for a reason in a modal; a blank one is refused there, a real one is recorded", async () => {
    const hostile = "Known admin tool <script>window.pwned = 1</script> *not* malware";
    const id = await ingest(actionBody("stop_service", 2, { investigationId: undefined }));
    const message = await sandboxMessage(page, `reject:${id}`);

    const modal = await rejectWithReason(page, message, `reject:${id}`, "   ");
    await modal
      .locator(".input-error")
      .getByText(/Say why/)
      .waitFor();
    expect((await getAction(app.ctx.db, id))!.status).toBe("pending");

    await modal.locator("textarea").fill(hostile);
    await modal.locator("button[type=submit]").click();
    await modal.waitFor({ state: "detached" });
    await message.getByText(/Rejected by @you/).waitFor();
    expect(await message.textContent()).toContain("<script>window.pwned = 1</script>");
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await getAction(app.ctx.db, id)).toMatchObject({
      status: "rejected",
      decidedBy: SANDBOX_USER.id,
      decisionComment: hostile,
    });
  });

  it("a Reject modal abandoned in one browser does not show in another; it stays in its own", async () => {
    const id = await ingest(actionBody("stop_service", 4, { investigationId: undefined }));
    const message = await sandboxMessage(page, `reject:${id}`);
    await message.locator(`[data-action-id="reject:${id}"]`).click();
    await page.locator("#modal-layer .modal").waitFor();

    const elsewhere = await launchChromium();
    try {
      const other = await elsewhere.newPage(390);
      await other.goto(`${app.url}/sandbox`);
      await (await sandboxMessage(other, `reject:${id}`)).waitFor();
      expect(await other.locator("#modal-layer .modal").count()).toBe(0);
      expect(await other.locator("#modal-layer").isHidden()).toBe(true);
    } finally {
      await elsewhere.close();
    }
    await page.reload();
    const mine = page.locator("#modal-layer .modal");
    await mine.waitFor();
    await mine.locator("[data-close]").first().click();
    await mine.waitFor({ state: "detached" });
  });

  it("Go hunt opens a modal with the query, and Open investigation links to the action's page", async () => {
    const id = await ingest(actionBody("quarantine_file", 3, { investigationId: undefined }));
    const message = await sandboxMessage(page, `go_hunt:${id}`);
    await message.locator(`[data-action-id="go_hunt:${id}"]`).click();
    const modal = page.locator("#modal-layer .modal");
    await modal.locator("pre").getByText(sha256Of(3)).waitFor();
    await modal.locator("[data-close]").first().click();
    await modal.waitFor({ state: "detached" });

    const href = await message.locator(`[data-action-id="open_investigation:${id}"]`).getAttribute("href");
    const investigation = await chromium.newPage(390);
    await investigation.goto(`${app.url}${new URL(href!).pathname}`);
    expect(await investigation.locator("h1").textContent()).toContain(`#${id}`);
    expect(await investigation.locator("body").textContent()).toContain("pending approval");
    await investigation.close();
  });

  it("an action's page names you as Slack does and follows the action without a reload", async () => {
    const id = await ingest(actionBody("isolate_device", 6, { investigationId: undefined }));
    const own = await chromium.newPage(390);
    try {
      await own.goto(`${app.url}/actions/${id}`);
      await own.locator(".badge").getByText("pending approval").waitFor();
      await own.evaluate(() => {
        (window as { notReloaded?: boolean }).notReloaded = true;
      });
      await decide(app.ctx.db, { actionId: id, decision: "approve", actor: SANDBOX_USER.id });
      await own.locator(".badge").getByText("completed").waitFor();
      const text = (await own.locator("main").textContent()) ?? "";
      expect(text).toContain("Approved by @you");
      expect(text).not.toContain(SANDBOX_USER.id);
      expect(await own.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    } finally {
      await own.close();
    }
  });

  it("a slash command typed in the composer reaches the bot and its answer shows to you alone", async () => {
    await page.locator("#composer-input").fill("/action-center help");
    await page.locator("#composer button[type=submit]").click();
    const answer = page.locator(".msg.ephemeral").last();
    await answer.getByText("Only visible to you").waitFor();
    expect(await answer.textContent()).toContain("/action-center");
    expect(await page.locator("#composer-input").inputValue()).toBe("");
  });

  it("refuses what Slack would refuse: other commands, and calls that are not the page's own JSON", async () => {
    await page.locator("#composer-input").fill("/weather Oslo");
    await page.locator("#composer button[type=submit]").click();
    await page.locator("#notice").getByText("/weather is not a valid command").waitFor();

    const form = await fetch(`${app.url}/sandbox/api/click`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "container=message&actionId=approve:1",
    });
    expect(form.status).toBe(415);
    const stale = await fetch(`${app.url}/sandbox/response/0123456789abcdef0123456789abcdef`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "hello" }),
    });
    expect(await stale.json()).toEqual({ ok: false, error: "expired_url" });
  });
});

describe.skipIf(browserMissing)("sandbox page: modals with checkboxes", () => {
  it("Undo several… from history: the checked actions of one type are undone, the others stay", async () => {
    const ids: number[] = [];
    for (const n of [21, 22, 23]) {
      const id = await ingest(actionBody("isolate_device", n, { investigationId: undefined }));
      await decide(app.ctx.db, { actionId: id, decision: "approve", actor: SANDBOX_USER.id });
      ids.push(id);
    }
    await waitForStatuses(app.ctx.db, ids, ["completed"]);

    await page.locator("#composer-input").fill("/action-center history");
    await page.locator("#composer button[type=submit]").click();
    const history = page
      .locator(".msg.ephemeral")
      .filter({ hasText: `#${ids[2]}` })
      .last();
    await history.locator('[data-action-id="history_undo_several"]').click();
    const modal = page.locator("#modal-layer .modal");
    await modal.getByText("Undo actions").first().waitFor();
    expect(await modal.locator(".unsupported").count()).toBe(0);
    const box = (id: number) =>
      modal
        .locator(".choice")
        .filter({ hasText: `#${id} ` })
        .locator("input");
    await box(ids[0]!).check();
    await box(ids[1]!).check();
    expect(await box(ids[2]!).isChecked()).toBe(false);
    await modal.locator("button[type=submit]").click();
    await modal.getByText(/Undo requested for/).waitFor();
    await waitForStatuses(app.ctx.db, ids.slice(0, 2), ["undone"]);
    expect((await getAction(app.ctx.db, ids[2]!))!.status).toBe("completed");
    await modal.locator("[data-close]").first().click();
    await modal.waitFor({ state: "detached" });
    // The history reply it came from was refreshed in place: no Undo… left on what was undone.
    await history.getByText(/Undo requested \(request/).waitFor();
    for (const id of ids.slice(0, 2))
      expect(await history.locator(`[data-action-id="confirm_undo:${id}"]`).count()).toBe(0);
    expect(await history.locator(`[data-action-id="confirm_undo:${ids[2]}"]`).count()).toBe(1);
  });
});

describe.skipIf(browserMissing)("sandbox page: failures", () => {
  it("an action on a service that is not installed fails with the reason; Retry once it is there completes it", async () => {
    const body = actionBody("stop_service", 31, { investigationId: undefined });
    const res = await app.api(
      "/api/v1/actions",
      { method: "POST", body: JSON.stringify(body) },
      { seed: false },
    );
    const id = Number(((await res.json()) as { actions: { id: string }[] }).actions[0]!.id);
    const message = await sandboxMessage(page, `approve:${id}`);
    await clickAndConfirm(page, message, `approve:${id}`);
    await message.locator(`[data-action-id="retry:${id}"]`).waitFor();
    expect(await message.textContent()).toContain("no service EvilSvc31 is installed on LAPTOP-31");

    await seedFleetFor(app.ctx.db, [body]);
    const asked = await clickAndConfirm(page, message, `retry:${id}`);
    expect(asked).toContain("Retry this action?");
    await message.getByText(/Completed/).waitFor();
    expect(await message.locator(`[data-action-id="retry:${id}"]`).count()).toBe(0);
    expect((await getAction(app.ctx.db, id))!.attempt).toBe(2);
  });
});

describe.skipIf(browserMissing)("sandbox page: private replies", () => {
  it("Approve in a `show` reply replaces that reply in place: the answer there, its buttons gone", async () => {
    const { id, ts, reply, before } = await showReply(41);
    await clickAndConfirm(page, reply, `approve:${id}`);
    await reply.getByText(/Approved: Isolate device on LAPTOP-41/).waitFor();
    expect(await reply.getAttribute("data-ts")).toBe(ts);
    expect(await reply.locator(`[data-action-id="approve:${id}"]`).count()).toBe(0);
    expect(await reply.locator(`[data-action-id="reject:${id}"]`).count()).toBe(0);
    expect(await page.locator(".msg.ephemeral").count()).toBe(before);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
  });
});

/** A pending isolation on device `n` and the `show` reply of it, located by its ts. */
async function showReply(n: number) {
  const id = await ingest(actionBody("isolate_device", n, { investigationId: undefined }));
  await page.locator("#composer-input").fill(`/action-center show ${id}`);
  await page.locator("#composer button[type=submit]").click();
  const shown = page.locator(".msg.ephemeral").filter({ hasText: `Action #${id}` });
  await shown.locator(`[data-action-id="approve:${id}"]`).waitFor();
  const ts = await shown.getAttribute("data-ts");
  const before = await page.locator(".msg.ephemeral").count();
  return { id, ts, before, reply: page.locator(`.msg.ephemeral[data-ts="${ts}"]`) };
}

describe.skipIf(browserMissing)("sandbox page: private replies follow their actions", () => {
  it("a `show` reply, with the action approved from the channel message, turns Completed in place: no click in it", async () => {
    const { id, reply, before } = await showReply(44);
    await clickAndConfirm(page, await sandboxMessage(page, `approve:${id}`), `approve:${id}`);
    await reply
      .getByText(/Completed/)
      .first()
      .waitFor();
    expect(await reply.locator(`[data-action-id="approve:${id}"]`).count()).toBe(0);
    expect(await reply.locator(`[data-action-id="reject:${id}"]`).count()).toBe(0);
    expect(await page.locator(".msg.ephemeral").count()).toBe(before);
  });

  it("a history reply loses the Undo… of an action undone since, in place", async () => {
    const { undone, kept, reply } = await historyReplyOfTwoCompleted([45, 46]);
    await decide(app.ctx.db, { actionId: undone, decision: "request_undo", actor: SANDBOX_USER.id });
    await reply.locator(`[data-action-id="confirm_undo:${undone}"]`).waitFor({ state: "detached" });
    expect(await reply.locator(`[data-action-id="confirm_undo:${kept}"]`).count()).toBe(1);
    expect(await reply.textContent()).toMatch(new RegExp(`#${undone} Quarantine file[^#]*Undone`));
  });
});

/** Two completed quarantines and the `history` reply listing them, located by its ts. */
async function historyReplyOfTwoCompleted(devices: [number, number]) {
  const ids: number[] = [];
  for (const n of devices) {
    const id = await ingest(actionBody("quarantine_file", n, { investigationId: undefined }));
    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: SANDBOX_USER.id });
    ids.push(id);
  }
  const [undone, kept] = ids as [number, number];
  await waitForStatuses(app.ctx.db, ids, ["completed"]);
  await page.locator("#composer-input").fill("/action-center history type:quarantine_file");
  await page.locator("#composer button[type=submit]").click();
  const listed = page
    .locator(".msg.ephemeral")
    .filter({ hasText: `#${kept} ` })
    .last();
  await listed.locator(`[data-action-id="confirm_undo:${undone}"]`).waitFor();
  const ts = await listed.getAttribute("data-ts");
  return { undone, kept, ts, reply: page.locator(`.msg.ephemeral[data-ts="${ts}"]`) };
}

describe.skipIf(browserMissing)("sandbox page: stale private replies", () => {
  it("Undo… in an old history reply, on an action undone since: answered in that reply, refreshed without it", async () => {
    const { undone, kept, ts, reply } = await historyReplyOfTwoCompleted([42, 43]);
    // Older than Slack's 30 minutes for its response_url: the bot can no longer change it.
    await app.ctx.db.update(privateReplies).set({ expiresAt: new Date(Date.now() - 1000) });

    // Undone from somewhere else; this reply still offers it.
    await decide(app.ctx.db, { actionId: undone, decision: "request_undo", actor: SANDBOX_USER.id });
    await waitForStatuses(app.ctx.db, [undone], ["undone"]);
    const before = await page.locator(".msg.ephemeral").count();
    await reply.locator(`[data-action-id="confirm_undo:${undone}"]`).click();

    const answered = page.locator(`.msg.ephemeral[data-ts="${ts}"]`);
    await answered.getByText(new RegExp(`Nothing to undo.*undone: #${undone}`)).waitFor();
    expect(await answered.locator(`[data-action-id="confirm_undo:${undone}"]`).count()).toBe(0);
    expect(await answered.locator(`[data-action-id="confirm_undo:${kept}"]`).count()).toBe(1);
    expect(await page.locator(".msg.ephemeral").count()).toBe(before);
    expect(await page.locator("#modal-layer .modal").count()).toBe(0);
  });
});

describe.skipIf(browserMissing)("sandbox page: history export", () => {
  it("`history export` sends a CSV to the DM; its chip shows name and size and downloads the file", async () => {
    await page.locator("#composer-input").fill("/action-center history export");
    await page.locator("#composer button[type=submit]").click();
    await page.locator(".msg.ephemeral").last().getByText(/CSV/).waitFor();

    await page.locator('.tab[data-conversation="dm"]').click();
    const chip = page.locator("#timeline-dm a.file").last();
    await chip.waitFor();
    const name = (await chip.getAttribute("download")) ?? "";
    expect(name).toMatch(/\.csv$/);
    expect(await chip.locator(".file-name").textContent()).toBe("Action center history");
    expect(await chip.locator(".file-meta").textContent()).toMatch(/^CSV · \d+(\.\d)? (B|KB)$/);

    const [download] = await Promise.all([page.waitForEvent("download"), chip.click()]);
    expect(download.suggestedFilename()).toBe(name);
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const lines = Buffer.concat(chunks)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trim()
      .split(/\r?\n/);
    const header = lines[0]!.split(",");
    expect(header).toContain("id");
    expect(header).toContain("status");
    const ids = lines.slice(1).map((line) => Number(line.split(",")[header.indexOf("id")]));
    // Every decided action so far is in it, as the history lists them (pending ones are not history).
    const stored = await app.ctx.db.execute<{ n: number }>(
      "select count(*)::int as n from actions where status <> 'pending'",
    );
    expect(ids.filter((id) => Number.isInteger(id) && id > 0)).toHaveLength(stored[0]!.n);
    await page.locator('.tab[data-conversation="channel"]').click();
  });
});

describe.skipIf(browserMissing)("sandbox page: App Home", () => {
  it("the Home tab sends app_home_opened and shows the view the bot publishes: pending count, your decisions", async () => {
    const pending = await ingest(actionBody("disable_driver", 51, { investigationId: undefined }));
    await page.locator('.tab[data-conversation="home"]').click();
    const home = page.locator("#timeline-home .home-view");
    await home.getByText(/Waiting for your approval/).waitFor();
    expect(await home.textContent()).toContain("Your recent decisions");
    expect(await home.locator(".unsupported").count()).toBe(0);
    expect(await page.locator("#composer").isHidden()).toBe(true);
    expect(app.slackApi.callsTo("views.publish").at(-1)?.args).toMatchObject({ user_id: SANDBOX_USER.id });

    // Reopened, the tab is published again with what changed meanwhile.
    await decide(app.ctx.db, { actionId: pending, decision: "approve", actor: SANDBOX_USER.id });
    await page.locator('.tab[data-conversation="channel"]').click();
    await page.locator('.tab[data-conversation="home"]').click();
    await home.getByText(new RegExp(`#${pending} Disable driver`)).waitFor();
    await page.locator('.tab[data-conversation="channel"]').click();
    expect(await page.locator("#composer").isVisible()).toBe(true);
  });
});

describe.skipIf(browserMissing)("sandbox page: the demo's file on three laptops", () => {
  it("undo one quarantine with 'Apply to 2 more instances' ticked: all three are restored", async () => {
    await seedFleet(app.ctx.db);
    const played = await playFeed({
      baseUrl: app.url,
      token: TEST_INGEST_TOKEN,
      intervalMs: 0,
      print: () => {},
    });
    const stored = await Promise.all(played.actions.map((a) => getAction(app.ctx.db, Number(a.id))));
    const installer = stored.filter((a) => a!.type === "quarantine_file" && a!.comment?.includes("Zoom"));
    expect(installer).toHaveLength(3);
    const ids = installer.map((a) => a!.id);
    for (const id of ids)
      await decide(app.ctx.db, { actionId: id, decision: "approve", actor: SANDBOX_USER.id });
    await waitForStatuses(app.ctx.db, ids, ["completed"]);

    await page.locator("#composer-input").fill(`/action-center undo ${ids[0]}`);
    await page.locator("#composer button[type=submit]").click();
    const modal = page.locator("#modal-layer .modal");
    const more = modal.locator(".choice").filter({ hasText: "Apply to 2 more instances of this file" });
    await more.waitFor();
    expect(
      await modal
        .locator(".choice")
        .filter({ hasText: `#${ids[0]} ` })
        .locator("input")
        .isChecked(),
    ).toBe(true);
    await more.locator("input").check();
    await modal.locator("button[type=submit]").click();
    await modal.getByText(/Undo requested for \*?3/).waitFor();
    await waitForStatuses(app.ctx.db, ids, ["undone"]);
    await modal.locator("[data-close]").first().click();
    await modal.waitFor({ state: "detached" });
  });
});
