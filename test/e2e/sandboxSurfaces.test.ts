// Every surface the bot's builders make, shown in the sandbox page in a real Chromium at phone width:
// each message (every action type in every status, investigations of every size class, history pages,
// `show`, help), each modal and each Home view. None may fall back to "not shown in the sandbox".
import type { KnownBlock, View } from "@slack/types";
import { WebClient } from "@slack/web-api";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_TYPES } from "../../src/domain/actionTypes.ts";
import { STATUSES } from "../../src/domain/status.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
import { actionMessage, type SlackMessage } from "../../src/slack/blocks/actionMessage.ts";
import { bulkUndoModal, bulkUndoResultView } from "../../src/slack/blocks/bulkUndo.ts";
import {
  actionDetailMessage,
  helpMessage,
  historyMessage,
  plainAnswer,
} from "../../src/slack/blocks/history.ts";
import { homeUnavailableView, homeView } from "../../src/slack/blocks/home.ts";
import { investigationMessage } from "../../src/slack/blocks/investigationMessage.ts";
import { approveAllModal, decisionModal, goHuntModal, rejectModal } from "../../src/slack/blocks/modals.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { type Chromium, chromiumMissing, launchChromium, openSandboxOnPhone } from "../support/browser.ts";
import { makeAction, PUBLIC_URL } from "../unit/blockFixtures.ts";

const browserMissing = chromiumMissing();

let app: TestApp;
let chromium: Chromium;
let page: Page;
let web: WebClient;
let channel: string;

beforeAll(async () => {
  if (browserMissing) return;
  [app, chromium] = await Promise.all([startTestApp("e2e_surfaces", { sandbox: true }), launchChromium()]);
  web = new WebClient(app.slack.botToken, { slackApiUrl: app.slack.apiUrl, retryConfig: { retries: 0 } });
  channel = app.ctx.config.slack.channel;
  page = await openSandboxOnPhone(chromium, app.url);
});
afterAll(async () => {
  await chromium?.close();
  await app?.close();
});

const options = { publicUrl: PUBLIC_URL };
let nextId = 1;
const action = (...args: Parameters<typeof makeAction>) => ({ ...makeAction(...args), id: nextId++ });

/** Every message a builder makes, by name. */
function messages(): [string, SlackMessage][] {
  const all: [string, SlackMessage][] = [];
  for (const type of ACTION_TYPES) {
    for (const status of STATUSES)
      all.push([`${type} ${status}`, actionMessage(action(type, status), options)]);
  }
  const manual = action("isolate_device", "pending", {
    source: "manual",
    requestedBy: "alice@contoso.com",
    comment: "INC-1",
  });
  all.push(["manual request", actionMessage(manual, options)]);
  for (const count of [1, 5, 30]) {
    const actions = Array.from({ length: count }, (_, i) =>
      action(ACTION_TYPES[i % ACTION_TYPES.length]!, STATUSES[i % STATUSES.length]!),
    );
    all.push([
      `investigation of ${count}`,
      investigationMessage({ investigationId: `inv-${count}`, messageKey: count, actions }, options),
    ]);
  }
  const rows = STATUSES.map((status) => action("quarantine_file", status));
  all.push(["history", historyMessage({ view: "history", filters: {}, actions: rows, newer: 5, older: 2 })]);
  all.push([
    "pending, none",
    historyMessage({ view: "pending", filters: {}, actions: [], newer: null, older: null }),
  ]);
  const shown = action("stop_service", "completed");
  const events = (["received", "approve", "start", "complete"] as const).map((kind, i) => ({
    kind,
    actor: kind === "approve" ? SANDBOX_USER.id : "system",
    at: new Date(Date.UTC(2024, 4, 1, 3, i)),
    detail: {},
  }));
  all.push(["show", actionDetailMessage(shown, events, options)]);
  all.push(["help", helpMessage()]);
  all.push(["plain answer", plainAnswer("Nothing was done.")]);
  return all;
}

function modals(): [string, View][] {
  const completed = ["quarantine_file", "stop_service", "isolate_device"].map((type) =>
    action(type as "quarantine_file", "completed"),
  );
  const elsewhere = [action("quarantine_file", "completed", { deviceName: "LAPTOP-9" })];
  return [
    ["reject", rejectModal(action("stop_service", "pending"))],
    ["confirm approve", decisionModal(action("isolate_device", "pending"), "approve", { channel: "C1" })],
    ["confirm undo", decisionModal(action("quarantine_file", "completed"), "undo", {})],
    ["confirm retry", decisionModal(action("stop_service", "failed"), "retry", {})],
    ["confirm retry undo", decisionModal(action("stop_service", "undo_failed"), "retry_undo", {})],
    [
      "confirm approve all",
      approveAllModal({ messageKey: 7, pending: 3, text: "This approves 3 actions." }, {}),
    ],
    ["go hunt", goHuntModal(action("quarantine_file", "pending"))],
    [
      "undo actions",
      bulkUndoModal({
        candidates: completed,
        selected: new Set([completed[0]!.id]),
        moreInstances: elsewhere,
        notes: ["#999 is not completed."],
      }),
    ],
    [
      "undo requested",
      bulkUndoResultView({
        requestId: "req-1",
        typeLabel: "Quarantine file",
        undone: completed,
        skipped: ["#7: pending"],
      }),
    ],
  ];
}

async function placeholders(where: string): Promise<string[]> {
  return page.locator(`${where} .unsupported`).allTextContents();
}

describe.skipIf(browserMissing)("every surface in the sandbox page", () => {
  it("every message renders with no placeholder", async () => {
    const all = messages();
    for (const [, message] of all) {
      await web.chat.postMessage({ channel, text: message.text, blocks: message.blocks as KnownBlock[] });
    }
    await page.waitForFunction(
      (n) => document.querySelectorAll("#timeline-channel > .item").length >= n,
      all.length,
    );
    expect(await placeholders("#timeline-channel")).toEqual([]);
    // Each has its buttons as buttons: every button's action_id is clickable in the page.
    const ids = all.flatMap(([, m]) => JSON.stringify(m.blocks).match(/"action_id":"[^"]+"/g) ?? []);
    const shown = await page.locator("#timeline-channel [data-action-id]").count();
    expect(shown).toBe(ids.length);
  });

  it("every modal renders with no placeholder, its inputs as controls", async () => {
    for (const [name, view] of modals()) {
      await web.views.open({ trigger_id: app.slackApi.issueTrigger(SANDBOX_USER.id), view });
      const modal = page.locator("#modal-layer .modal");
      await modal.waitFor();
      expect(await placeholders("#modal-layer"), name).toEqual([]);
      const inputs = (JSON.stringify(view.blocks).match(/"type":"input"/g) ?? []).length;
      const controls = await modal
        .locator(".b-input")
        .filter({ has: page.locator("[data-input]") })
        .count();
      expect(controls, name).toBe(inputs);
      await modal.locator("[data-close]").first().click();
      await modal.waitFor({ state: "detached" });
    }
  });

  it("every Home view renders in the Home tab with no placeholder", async () => {
    await page.locator('.tab[data-conversation="home"]').click();
    await page.locator("#timeline-home .home-view").waitFor();
    const views = [
      homeView({
        isApprover: true,
        approvers: `<@${SANDBOX_USER.id}>`,
        pending: { count: 3, oldest: action("quarantine_file", "pending") },
        decisions: STATUSES.map((status) => action("isolate_device", status)),
        now: new Date(),
      }),
      homeView({
        isApprover: false,
        approvers: "<!subteam^S0SOC|@soc>",
        pending: { count: 0, oldest: null },
        decisions: [],
        now: new Date(),
      }),
      homeUnavailableView(),
    ];
    for (const view of views) {
      await web.views.publish({ user_id: SANDBOX_USER.id, view });
      const first = view.blocks[1] as { text: { text: string } };
      const words = first.text.text
        .replace(/:\w+:/g, "")
        .replace(/[*_]/g, "")
        .trim()
        .split(/[\s:]+/)
        .slice(0, 3)
        .join(" ");
      await page.locator("#timeline-home .home-view").getByText(words).first().waitFor();
      expect(await placeholders("#timeline-home")).toEqual([]);
    }
  });
});
