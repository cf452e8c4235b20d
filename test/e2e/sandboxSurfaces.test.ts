// Every surface the bot's builders make, shown in the sandbox page in a real Chromium at phone width:
// each message (every action type in every status, threats of every kind and status mix,
// investigations of every size class, Defender's investigation notices and alert notes, history pages,
// `show`, help, thread replies), each modal (Review page by page, Reject all, notices…) and each Home
// view. None may fall back to "not shown in the sandbox". The builders are called through `tracked`,
// so that a builder module exporting a function no fixture calls (and not listed as a part of
// another) fails the last test: a new surface cannot be left out of this file unnoticed.
import { readdirSync } from "node:fs";
import type { KnownBlock, View } from "@slack/types";
import { WebClient } from "@slack/web-api";
import { eq } from "drizzle-orm";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackInbox } from "../../src/db/schema.ts";
import { ACTION_TYPES, type ActionType } from "../../src/domain/actionTypes.ts";
import { EVENT_WORDS } from "../../src/domain/auditEvents.ts";
import { STATUSES, type Status } from "../../src/domain/status.ts";
import { THREAT_KIND_NAMES, THREAT_KINDS, threatKeyOf } from "../../src/domain/threats.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
import type { ActionView, SlackMessage } from "../../src/slack/blocks/actionMessage.ts";
import * as actionMessageModule from "../../src/slack/blocks/actionMessage.ts";
import * as bulkUndoModule from "../../src/slack/blocks/bulkUndo.ts";
import * as defenderAlertModule from "../../src/slack/blocks/defenderAlert.ts";
import * as defenderInvestigationModule from "../../src/slack/blocks/defenderInvestigation.ts";
import * as doneInDefenderModule from "../../src/slack/blocks/doneInDefender.ts";
import * as historyModule from "../../src/slack/blocks/history.ts";
import * as homeModule from "../../src/slack/blocks/home.ts";
import * as investigationMessageModule from "../../src/slack/blocks/investigationMessage.ts";
import * as modalsModule from "../../src/slack/blocks/modals.ts";
import * as privateReplyModule from "../../src/slack/blocks/privateReply.ts";
import * as threadReplyModule from "../../src/slack/blocks/threadReply.ts";
import * as threatMessageModule from "../../src/slack/blocks/threatMessage.ts";
import { startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { type Chromium, chromiumMissing, launchChromium, openSandboxOnPhone } from "../support/browser.ts";
import {
  alertNote,
  choice,
  defenderInvestigation,
  EVERY_INPUT_VIEW,
  makeAction,
  PUBLIC_URL,
  walk,
} from "../unit/blockFixtures.ts";

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

// --- the builders, each call recorded ----------------------------------------------------------------------

/** "module.function" of every builder a fixture called. */
const called = new Set<string>();

/** The module with each exported function recording its calls in `called`. */
function tracked<M extends object>(file: string, module: M): M {
  const wrapped = Object.entries(module).map(([name, value]) => [
    name,
    typeof value === "function"
      ? (...args: unknown[]) => {
          called.add(`${file}.${name}`);
          return value(...args);
        }
      : value,
  ]);
  return Object.fromEntries(wrapped) as M;
}

const MODULES = {
  actionMessage: actionMessageModule,
  bulkUndo: bulkUndoModule,
  defenderAlert: defenderAlertModule,
  defenderInvestigation: defenderInvestigationModule,
  doneInDefender: doneInDefenderModule,
  history: historyModule,
  home: homeModule,
  investigationMessage: investigationMessageModule,
  modals: modalsModule,
  privateReply: privateReplyModule,
  threadReply: threadReplyModule,
  threatMessage: threatMessageModule,
};

const { actionMessage } = tracked("actionMessage", actionMessageModule);
const { bulkUndoModal, bulkUndoResultView } = tracked("bulkUndo", bulkUndoModule);
const { withAlertNotes } = tracked("defenderAlert", defenderAlertModule);
const { investigationNotice } = tracked("defenderInvestigation", defenderInvestigationModule);
const { actionDetailMessage, helpMessage, historyMessage, plainAnswer, withNote } = tracked(
  "history",
  historyModule,
);
const { homeUnavailableView, homeView } = tracked("home", homeModule);
const { investigationMessage } = tracked("investigationMessage", investigationMessageModule);
const { approveAllModal, decisionModal, goHuntModal, noticeModal, rejectModal } = tracked(
  "modals",
  modalsModule,
);
const { frozenReply, taggedReply } = tracked("privateReply", privateReplyModule);
const { threadReplies } = tracked("threadReply", threadReplyModule);
const { rejectAllModal, reviewModal, threatHeading, threatMessage } = tracked(
  "threatMessage",
  threatMessageModule,
);

/**
 * Exports that are no surface of their own, by module: parts of a surface (shown through it), readers
 * of what Slack sends back, and helpers. Every other exported function must be called by a fixture.
 */
const NOT_SURFACES: Record<string, string[]> = {
  actionMessage: [
    "target",
    "statusLine",
    "decisionQuestion",
    "decisionButtons",
    "investigationUrl",
    "huntingLink",
    "goHuntButton",
  ],
  bulkUndo: ["selectedActionIds", "moreInstancesChosen", "offeredInstances", "originReply"],
  defenderAlert: ["alertNotes"],
  defenderInvestigation: ["stateWords"],
  // Shown through homeView's `doneInDefender`.
  doneInDefender: ["doneInDefenderBlocks"],
  history: ["encodeListing", "decodeListing"],
  investigationMessage: ["plural", "isPending", "statusCounts", "devices", "approveAllText"],
  modals: ["decisionMetadata", "decisionOfModal", "approveAllOfModal", "threadEventText"],
  privateReply: ["replyIdOf", "commandFor"],
  threadReply: ["threadReplyMetadata", "threadedThrough"],
  threatMessage: ["approveAllText", "threatHeading", "reviewState", "pageCount"],
};

// --- fixtures ----------------------------------------------------------------------------------------------

const options = { publicUrl: PUBLIC_URL };
let nextId = 1;
const action = (...args: Parameters<typeof makeAction>) => ({ ...makeAction(...args), id: nextId++ });

/** `count` actions of `type` on one thing, each on its own device, in `statuses` round robin. */
function onOneThing(type: ActionType, statuses: readonly Status[], count = statuses.length): ActionView[] {
  const first = action(type, statuses[0]!);
  return Array.from({ length: count }, (_, i) =>
    i === 0
      ? first
      : action(type, statuses[i % statuses.length]!, {
          entity: first.entity,
          deviceName: first.deviceName && `PC-${i}`,
          deviceId: first.deviceId && `dev-${i}`,
          investigationId: `inv-${i % 3}`,
        }),
  );
}

function threat(actions: ActionView[], messageKey = nextId++) {
  return { threatKey: threatKeyOf(actions[0]!, THREAT_KIND_NAMES)!, messageKey, actions };
}

/** A threat of every kind, and the status mixes its message has: all waiting, every status, none waiting. */
function threats() {
  return [
    ...THREAT_KIND_NAMES.map(
      (kind) =>
        [`threat ${kind}, 3 waiting`, threat(onOneThing(THREAT_KINDS[kind], ["pending"], 3))] as const,
    ),
    ["threat, every status", threat(onOneThing("quarantine_file", STATUSES))] as const,
    ["threat, 12 devices", threat(onOneThing("quarantine_file", ["pending", "completed"], 12))] as const,
    [
      "threat, none waiting, undoable",
      threat(onOneThing("quarantine_file", ["completed", "rejected"], 4)),
    ] as const,
  ];
}

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
  const alerted = actionMessage(action("isolate_device", "pending", { source: "defender_alert" }), options);
  const resolved = alertNote({
    status: "Resolved",
    assignedTo: "secop123@contoso.com",
    classification: "FalsePositive",
    determination: "Clean",
    resolvedAt: new Date("2024-05-01T04:00:00Z"),
  });
  all.push(["with Defender alerts", withAlertNotes(alerted, [alertNote({}), resolved])]);
  for (const [name, input] of threats()) all.push([name, threatMessage(input)]);
  for (const count of [1, 5, 30]) {
    const actions = Array.from({ length: count }, (_, i) =>
      action(ACTION_TYPES[i % ACTION_TYPES.length]!, STATUSES[i % STATUSES.length]!),
    );
    all.push([
      `investigation of ${count}`,
      investigationMessage({ investigationId: `inv-${count}`, messageKey: count, actions }, options),
    ]);
  }
  all.push([
    "Defender investigation waiting",
    investigationNotice({ investigation: defenderInvestigation({}), alertTitle: "Suspicious PowerShell" }),
  ]);
  all.push([
    "Defender investigation over",
    investigationNotice({
      investigation: defenderInvestigation({
        state: "TerminatedByUser",
        statusDetails: "Cancelled from the portal",
        cancelledBy: "secop123@contoso.com",
        endTime: new Date("2024-05-01T05:00:00Z"),
        machineId: null,
        triggeringAlertId: null,
      }),
      alertTitle: null,
    }),
  ]);
  const rows = STATUSES.map((status) => action("quarantine_file", status));
  const history = historyMessage({ view: "history", filters: {}, actions: rows, newer: 5, older: 2 });
  all.push(["history", history]);
  all.push(["history with a note", withNote(history, "Only your own actions are listed.")]);
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
  const detail = actionDetailMessage(shown, events, options);
  all.push(["show", detail]);
  all.push([
    "show, as sent and then at its last refresh",
    frozenReply(taggedReply(detail, 7), String(shown.id)),
  ]);
  all.push(["help", helpMessage()]);
  all.push(["plain answer", plainAnswer("Nothing was done.")]);
  return all;
}

/** Every audit event's line, in replies under one message (the thread), as the Slack update job posts them. */
function threadOfEveryEvent() {
  const events = Object.keys(EVENT_WORDS).map((kind, i) => ({
    id: i + 1,
    actionId: 7 + (i % 2),
    kind,
    actor: i % 2 === 0 ? SANDBOX_USER.id : "system",
    at: new Date(Date.UTC(2024, 4, 1, 3, i)),
    detail: { comment: "false positive", error: "device offline", attempt: 2, decision: "approve_undo" },
  }));
  return { single: threadReplies(events, false), grouped: threadReplies(events, true, 600) };
}

function modals(): [string, View][] {
  const completed = ["quarantine_file", "stop_service", "isolate_device"].map((type) =>
    action(type as "quarantine_file", "completed"),
  );
  const elsewhere = [action("quarantine_file", "completed", { deviceName: "LAPTOP-9" })];
  const mixed = threat(onOneThing("quarantine_file", STATUSES));
  // Three pages of Review: the first has Next, the middle both, the last Previous.
  const many = threat(onOneThing("quarantine_file", ["pending", "completed", "failed"], 90));
  const group = (input: ReturnType<typeof threat>) => ({
    heading: threatHeading(input),
    messageKey: input.messageKey,
    actions: input.actions,
  });
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
    ["notice", noticeModal("Not an approver", "Only <@U0SOC> can approve. *Ask them* in #soc.")],
    ["review, every status", reviewModal({ ...group(mixed), page: 1, notice: "Approved #3: it runs now." })],
    ...[1, 2, 3].map((page): [string, View] => [
      `review page ${page} of 3`,
      reviewModal({ ...group(many), page }),
    ]),
    ["reject all", rejectAllModal(group(many))],
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

function homeViews(): View[] {
  return [
    homeView({
      isApprover: true,
      approvers: `<@${SANDBOX_USER.id}>`,
      pending: { count: 3, oldest: action("quarantine_file", "pending") },
      decisions: STATUSES.map((status) => action("isolate_device", status)),
      doneInDefender: [
        action("quarantine_file", "completed", { source: "manual", requestedBy: "secop123@contoso.com" }),
        action("isolate_device", "failed"),
      ],
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
}

/** The distinct action_ids in built blocks: each must be a control in the page. */
const actionIds = (blocks: unknown) =>
  new Set((JSON.stringify(blocks).match(/"action_id":"[^"]+"/g) ?? []).map((m) => m.slice(13, -1)));

/** The input element types a view uses. */
const inputTypes = (view: unknown) =>
  new Set(
    [...walk(view)]
      .filter((node) => node.type === "input")
      .map((node) => String((node.element as { type: string }).type)),
  );

async function placeholders(where: string): Promise<string[]> {
  return page.locator(`${where} .unsupported`).allTextContents();
}

describe.skipIf(browserMissing)("every surface in the sandbox page", () => {
  it("every message and thread reply renders with no placeholder, each control clickable", async () => {
    const all = messages();
    for (const [, message] of all) {
      await web.chat.postMessage({ channel, text: message.text, blocks: message.blocks as KnownBlock[] });
    }
    const parent = await web.chat.postMessage({ channel, text: "The thread's message" });
    const { single, grouped } = threadOfEveryEvent();
    const replies = [...single, ...grouped];
    for (const reply of replies) {
      await web.chat.postMessage({ channel, thread_ts: parent.ts!, text: reply.text });
    }
    await page.waitForFunction(
      ({ items, threaded }) =>
        document.querySelectorAll("#timeline-channel > .item").length >= items &&
        document.querySelectorAll("#timeline-channel .thread > .msg").length >= threaded,
      { items: all.length + 1, threaded: replies.length },
    );
    expect(await placeholders("#timeline-channel")).toEqual([]);
    expect(replies.length).toBeGreaterThan(1);
    // Each has its buttons as buttons: every button's action_id is clickable in the page.
    const ids = all.flatMap(([, m]) => JSON.stringify(m.blocks).match(/"action_id":"[^"]+"/g) ?? []);
    const shown = await page.locator("#timeline-channel [data-action-id]").count();
    expect(shown).toBe(ids.length);
  });

  it("on the phone, message buttons are 44 px touch targets and section fields one per line", async () => {
    const buttons = await page
      .locator("#timeline-channel > .item > .msg .btn")
      .evaluateAll((all) => all.map((b) => [b.textContent, b.getBoundingClientRect().height] as const));
    expect(buttons.length).toBeGreaterThan(100);
    expect(buttons.filter(([, height]) => height < 44)).toEqual([]);
    const fields = await page.locator("#timeline-channel .b-fields").evaluateAll((all) =>
      all.map((grid) =>
        [...grid.children].map((field) => {
          const box = field.getBoundingClientRect();
          return { left: box.left, top: box.top, bottom: box.bottom };
        }),
      ),
    );
    const several = fields.filter((grid) => grid.length > 1);
    expect(several.length).toBeGreaterThan(10);
    for (const grid of several) {
      for (const [i, field] of grid.entries()) {
        expect(field.left).toBe(grid[0]!.left);
        if (i > 0) expect(field.top).toBeGreaterThanOrEqual(grid[i - 1]!.bottom);
      }
    }
  });

  it("every modal renders with no placeholder, its inputs as controls, each action_id clickable", async () => {
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
      const shown = await modal
        .locator("[data-action-id]")
        .evaluateAll((all) => all.map((e) => e.getAttribute("data-action-id")));
      expect(new Set(shown), name).toEqual(actionIds(view.blocks));
      await modal.locator("[data-close]").first().click();
      await modal.waitFor({ state: "detached" });
    }
  });

  it("sets and submits every input type; the bot receives Slack's state.values", async () => {
    await web.views.open({ trigger_id: app.slackApi.issueTrigger(SANDBOX_USER.id), view: EVERY_INPUT_VIEW });
    const modal = page.locator("#modal-layer .modal");
    await modal.waitFor();
    await modal.locator("#input-text").fill("hello");
    // "Two" is ticked to begin with; "One" is ticked too, "Two" then unticked and ticked again.
    await modal.getByLabel(/^One/).check();
    await modal.getByLabel("Two").uncheck();
    await modal.getByLabel("Two").check();
    await modal.getByLabel("B", { exact: true }).check();
    await modal.locator("#input-pick").selectOption("y");
    await modal.locator("#input-many").selectOption(["p", "q"]);
    const answered = page.waitForResponse((response) => response.url().endsWith("/submit"));
    await modal.locator("button[type=submit]").click();
    const answer = await answered;
    // What reached the bot, as its endpoint wrote it to the inbox once the signature was checked.
    const received = await waitFor(async () => {
      const rows = await app.ctx.db.select().from(slackInbox).where(eq(slackInbox.kind, "view_submission"));
      return rows[0];
    });
    const view = received.payload.view as { callback_id: string; state: { values: unknown } };
    expect(view.callback_id).toBe("sandbox_every_input");
    expect(view.state.values).toEqual({
      text: { t: { type: "plain_text_input", value: "hello" } },
      boxes: { b: { type: "checkboxes", selected_options: EVERY_INPUT_VIEW.blocks[1]!.element.options } },
      radio: { r: { type: "radio_buttons", selected_option: choice("b", "B") } },
      pick: { s: { type: "static_select", selected_option: choice("y", "Y") } },
      many: { m: { type: "multi_static_select", selected_options: [choice("p", "P"), choice("q", "Q")] } },
    });
    // No listener has this callback_id: the page says the app refused it, and the modal stays to be closed.
    expect(answer.status()).toBe(502);
    await modal.locator("[data-close]").first().click();
    await modal.waitFor({ state: "detached" });
  });

  it("every Home view renders in the Home tab with no placeholder", async () => {
    await page.locator('.tab[data-conversation="home"]').click();
    await page.locator("#timeline-home .home-view").waitFor();
    for (const view of homeViews()) {
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

describe("the fixtures above", () => {
  it("call every builder that every module under src/slack/blocks exports", async () => {
    messages();
    threadOfEveryEvent();
    modals();
    homeViews();
    const files = readdirSync(new URL("../../src/slack/blocks/", import.meta.url))
      .filter((file) => file.endsWith(".ts"))
      .map((file) => file.slice(0, -3));
    // A new module must be tracked here, as the others are.
    expect(files.sort()).toEqual(Object.keys(MODULES).sort());
    const uncalled = Object.entries(MODULES).flatMap(([file, module]) =>
      Object.entries(module)
        .filter(([name, value]) => typeof value === "function" && !NOT_SURFACES[file]?.includes(name))
        .map(([name]) => `${file}.${name}`)
        .filter((builder) => !called.has(builder)),
    );
    expect(uncalled).toEqual([]);
  });

  it("use no input type the page is not shown setting and submitting", () => {
    const used = new Set(modals().flatMap(([, view]) => [...inputTypes(view)]));
    expect(used.size).toBeGreaterThan(1);
    expect([...used].filter((type) => !inputTypes(EVERY_INPUT_VIEW).has(type))).toEqual([]);
  });
});
