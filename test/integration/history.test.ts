// History and undo at scale, driven as Slack drives the bot: signed slash commands answered at a
// local response_url, clicks on those answers, modals submitted, the Home tab opened, against
// the real store, queue and worker with a fake Slack Web API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { getDeviceView } from "../../src/db/queries/fleet.ts";
import { decide } from "../../src/services/decide.ts";
import { EXPORT_COLUMNS } from "../../src/services/historyExport.ts";
import {
  BULK_UNDO_CALLBACK_ID,
  NEXT_PAGE_ACTION_ID,
  PREVIOUS_PAGE_ACTION_ID,
  UNDO_SEVERAL_ACTION_ID,
} from "../../src/slack/actionIds.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  BYSTANDER,
  GROUP_APPROVER,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import {
  type Answer,
  answerAt,
  checked,
  clickInAnswer,
  openedModal,
  rowIds,
  runCommand,
  sendCommand,
} from "../support/commands.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import {
  appHomeOpenedEvent,
  postToSlackEndpoint,
  type ResponseUrlCatcher,
  startResponseUrlCatcher,
} from "../support/slackRequests.ts";
import { buttonsOf, channelMessages, click, submitView } from "../support/slackUser.ts";

let app: TestApp;
let catcher: ResponseUrlCatcher;

const TYPES = [
  "quarantine_file",
  "stop_service",
  "isolate_device",
  "disable_driver",
  "remove_registry_key",
  "stop_process",
  "block_url",
  "run_antivirus_scan",
] as const;
const SOURCES = ["automated_investigation", "antivirus", "manual"] as const;
const SHARED_SHA = sha256Of(777_777);
let rejected: number[] = [];
let approved: number[] = [];

beforeAll(async () => {
  [app, catcher] = await Promise.all([startTestApp("history"), startResponseUrlCatcher()]);
  // 440 actions recorded as already taken, across types, sources, 50 devices and 44 investigations.
  const recorded = Array.from({ length: 440 }, (_, n) =>
    actionBody(TYPES[n % TYPES.length]!, n, {
      externalId: `hist-${n}`,
      status: "completed",
      source: SOURCES[n % SOURCES.length],
    }),
  );
  // A device name a spreadsheet would run as a formula, for the export.
  recorded.push(
    actionBody("stop_service", 900, {
      externalId: "hist-formula",
      status: "completed",
      device: { id: "dev-formula", name: "=2+3" },
    }),
  );
  await ingest(app.ctx.db, recorded);
  // 60 waiting for approval in 3 investigations; people decide 40 of them.
  const waiting = await ingest(
    app.ctx.db,
    Array.from({ length: 60 }, (_, i) =>
      actionBody(i % 2 ? "stop_service" : "disable_driver", 1000 + i, {
        externalId: `hist-pending-${i}`,
        investigationId: `inv-wait-${i % 3}`,
      }),
    ),
  );
  rejected = waiting.slice(0, 25);
  approved = waiting.slice(25, 40);
  for (const id of rejected)
    await decide(app.ctx.db, {
      actionId: id,
      decision: "reject",
      actor: APPROVER,
      comment: "=1+1 known tool",
    });
  for (const id of approved)
    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: GROUP_APPROVER });
  await waitForStatuses(app.ctx.db, approved, ["completed"]);
  // Ingest stamps `now`; history spans weeks, so some of it is dated back.
  await app.ctx.sql`update actions set created_at = now() - interval '3 days' where id % 5 = 1`;
  await app.ctx.sql`update actions set created_at = now() - interval '10 days' where id % 5 = 2`;
}, 120_000);

afterAll(async () => {
  await catcher?.close();
  await app?.close();
});

/** Independently of the code under test: the ids a filter must list, newest first. */
async function expectedIds(where: string, ...params: (string | number)[]): Promise<number[]> {
  const rows = await app.ctx.sql.unsafe<{ id: string }[]>(
    `select id from actions where ${where} order by id desc`,
    params,
  );
  return rows.map((row) => Number(row.id));
}

/** Follows Next from the first page to the last; returns every id listed. */
async function allPages(user: string, text: string): Promise<{ ids: number[]; pages: Answer[] }> {
  const pages = [await runCommand(app, catcher, user, text)];
  expect(pages[0]!.text).toMatch(/^(History|Pending actions): /);
  for (;;) {
    const page = pages.at(-1)!;
    expect(rowIds(page).length).toBeLessThanOrEqual(10);
    if (!buttonsOf(page).some((b) => b.action_id === NEXT_PAGE_ACTION_ID)) break;
    pages.push(await answerAt(catcher, await clickInAnswer(app, catcher, user, page, NEXT_PAGE_ACTION_ID)));
  }
  return { ids: pages.flatMap(rowIds), pages };
}

const allText = (answer: { text: string; blocks: unknown[] }) =>
  `${answer.text}\n${JSON.stringify(answer.blocks)}`;

describe("history.listing", () => {
  it("pages through 481 decided actions newest first, 10 a page, and back with Previous", async () => {
    const expected = await expectedIds("status <> 'pending'");
    expect(expected.length).toBe(441 + 40);
    const { ids, pages } = await allPages(BYSTANDER, "history");
    expect(ids).toEqual(expected);
    expect(pages).toHaveLength(Math.ceil(expected.length / 10));
    expect(buttonsOf(pages[0]!).map((b) => b.action_id)).not.toContain(PREVIOUS_PAGE_ACTION_ID);

    // Previous from the third page shows the second again, replacing the answer in place.
    const back = await answerAt(
      catcher,
      await clickInAnswer(app, catcher, BYSTANDER, pages[2]!, PREVIOUS_PAGE_ACTION_ID),
    );
    expect(back.replace_original).toBe(true);
    expect(rowIds(back)).toEqual(rowIds(pages[1]!));
    const first = await answerAt(
      catcher,
      await clickInAnswer(app, catcher, BYSTANDER, back, PREVIOUS_PAGE_ACTION_ID),
    );
    expect(rowIds(first)).toEqual(rowIds(pages[0]!));
    expect(buttonsOf(first).map((b) => b.action_id)).not.toContain(PREVIOUS_PAGE_ACTION_ID);
  });

  it("shows each row's type, device, entity, source, status, decider and time; Undo on completed undoable rows", async () => {
    const answer = await runCommand(app, catcher, BYSTANDER, `history by:<@${APPROVER}|approver>`);
    const row = answer.blocks.find((block) => block.text?.text.startsWith(`*#${rejected.at(-1)} `));
    expect(row?.text?.text).toMatch(/Disable driver|Stop service/);
    expect(row?.text?.text).toMatch(/on LAPTOP-\d+/);
    expect(row?.text?.text).toMatch(/rootkit\d+\.sys|EvilSvc\d+/);
    expect(row?.text?.text).toContain("Automated investigation");
    expect(row?.text?.text).toContain(`Rejected by <@${APPROVER}>`);
    expect(row?.text?.text).toMatch(/decided by <@U0APPROVER1> <!date\^\d+\^/);
    expect(row).not.toHaveProperty("accessory");

    const completed = await runCommand(app, catcher, BYSTANDER, "history type:quarantine_file");
    const undoButtons = buttonsOf(completed).filter((b) => b.action_id.startsWith("confirm_undo:"));
    expect(undoButtons.map((b) => Number(b.action_id.split(":")[1]))).toEqual(rowIds(completed));
    // Each carries the page it is on, which a click in the reply refreshes it from.
    expect(undoButtons.map((b) => JSON.parse(String(b.value)))).toEqual(
      undoButtons.map(() => ({ view: "history", filters: "type:quarantine_file" })),
    );
    const processes = await runCommand(app, catcher, BYSTANDER, "history type:stop_process");
    expect(buttonsOf(processes).filter((b) => b.action_id.startsWith("confirm_undo:"))).toEqual([]);
  });

  it("answers privately (ephemeral) through the response_url", async () => {
    const url = await sendCommand(app, catcher, BYSTANDER, "history");
    const caught = await waitFor(async () => catcher.requests.find((r) => url.endsWith(r.path)), 10_000);
    expect(caught.body).toMatchObject({ response_type: "ephemeral" });
  });

  it.each([
    ["type:quarantine_file", "status <> 'pending' and type = 'quarantine_file'"],
    [
      "type:stop_service,disable_driver",
      "status <> 'pending' and type in ('stop_service', 'disable_driver')",
    ],
    ["device:laptop-7", "status <> 'pending' and device_id = 'dev-7'"],
    ["device:dev-7", "status <> 'pending' and device_id = 'dev-7'"],
    ["source:antivirus", "status <> 'pending' and source = 'antivirus'"],
    ["status:rejected", "status = 'rejected'"],
    ["status:completed,rejected", "status in ('completed', 'rejected')"],
    [`by:<@${APPROVER}|approver>`, `status <> 'pending' and decided_by = '${APPROVER}'`],
    [`by:${GROUP_APPROVER}`, `status <> 'pending' and decided_by = '${GROUP_APPROVER}'`],
    ["investigation:inv-7", "status <> 'pending' and investigation_id = 'inv-7'"],
    [`sha256:${sha256Of(16).toUpperCase()}`, `status <> 'pending' and sha256 = '${sha256Of(16)}'`],
    ["since:24h", "status <> 'pending' and created_at >= now() - interval '24 hours'"],
    ["since:7d", "status <> 'pending' and created_at >= now() - interval '7 days'"],
    [
      "type:quarantine_file source:antivirus since:7d",
      "status <> 'pending' and type = 'quarantine_file' and source = 'antivirus' and created_at >= now() - interval '7 days'",
    ],
  ])("history %s lists exactly the matching actions", async (filters, where) => {
    const expected = await expectedIds(where);
    expect(expected.length).toBeGreaterThan(0);
    expect((await allPages(BYSTANDER, `history ${filters}`)).ids).toEqual(expected);
  });

  it("since: a date counts from that day's start, UTC", async () => {
    const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    const expected = await expectedIds(`status <> 'pending' and created_at >= '${day}T00:00:00Z'`);
    const { ids } = await allPages(BYSTANDER, `history since:${day}`);
    expect(ids).toEqual(expected);
    expect(ids.length).toBeLessThan((await expectedIds("status <> 'pending'")).length);
  });

  it("pending lists what waits for approval, with filters", async () => {
    expect((await allPages(BYSTANDER, "pending")).ids).toEqual(await expectedIds("status = 'pending'"));
    expect((await allPages(BYSTANDER, "pending type:stop_service investigation:inv-wait-1")).ids).toEqual(
      await expectedIds("status = 'pending' and type = 'stop_service' and investigation_id = 'inv-wait-1'"),
    );
  });

  it("an unknown filter or value gets the valid ones; an unknown device says so", async () => {
    expect((await runCommand(app, catcher, BYSTANDER, "history colour:red")).text).toMatch(
      /Unknown filter `colour:`.*`type:`.*`since:`/s,
    );
    expect((await runCommand(app, catcher, BYSTANDER, "history status:done")).text).toMatch(
      /`done` is not a valid status.*`undo_failed`/s,
    );
    expect((await runCommand(app, catcher, BYSTANDER, "history device:NOPE-1")).text).toMatch(
      /No device is named or has the id `NOPE-1`/,
    );
  });

  it("hostile filter text can neither ping, format nor reach the database as SQL", async () => {
    for (const text of [
      "history device:<!channel>",
      "history device:*everyone*",
      "history investigation:';drop_table_actions;--",
      "history colour:<!here|here>",
      "history by:<!subteam^S0SOCTEAM01>",
      "pending <@U0APPROVER1>",
    ]) {
      const answer = await runCommand(app, catcher, BYSTANDER, text);
      expect(allText(answer)).not.toMatch(/<!channel>|<!here|<!subteam|<@U0APPROVER1>|\*everyone\*/);
    }
    expect((await expectedIds("true")).length).toBe(501);
  });

  it("a forged or stale page button gets a clear answer and lists nothing", async () => {
    const page = await runCommand(app, catcher, BYSTANDER, "history");
    const answer = await answerAt(
      catcher,
      await clickInAnswer(
        app,
        catcher,
        BYSTANDER,
        page,
        NEXT_PAGE_ACTION_ID,
        '{"view":"history","filters":"x","before":"1; drop"}',
      ),
    );
    expect(answer.text).toMatch(/out of date/);
    expect(rowIds(answer)).toEqual([]);
  });
});

describe("history.show", () => {
  it("shows the action with its audit trail, oldest first", async () => {
    const id = rejected[0]!;
    const answer = await runCommand(app, catcher, BYSTANDER, `show ${id}`);
    const text = allText(answer);
    expect(answer.text).toContain(`#${id}`);
    expect(text).toMatch(/LAPTOP-\d+/);
    expect(text).toContain("Audit trail");
    expect(text).toMatch(/\*Received\* by api.*\*Rejected\* by <@U0APPROVER1>.*=1\+1 known tool/s);
    expect((await runCommand(app, catcher, BYSTANDER, "show 99999999")).text).toBe(
      "There is no action #99999999.",
    );
  });
});

/** Submits the confirmation `modal` as `user` with `choose` deciding each checkbox. */
async function confirm(
  modal: Awaited<ReturnType<typeof openedModal>>,
  user: string,
  choose: (block: string, value: string) => boolean,
) {
  const res = await submitView(
    app,
    user,
    BULK_UNDO_CALLBACK_ID,
    modal.private_metadata,
    checked(modal, choose),
  );
  expect(res.status).toBe(200);
  const text = await res.text();
  return text
    ? (JSON.parse(text) as { response_action: string; errors?: Record<string, string>; view?: unknown })
    : null;
}

async function undoEvents(ids: number[]) {
  return Promise.all(
    ids.map(async (id) =>
      (await getActionEvents(app.ctx.db, id)).filter((event) => event.kind === "request_undo"),
    ),
  );
}

describe("history.bulk_undo", () => {
  it("undoes 25 quarantines in one confirmation, each audited under one request id", async () => {
    const ids = await ingest(
      app.ctx.db,
      Array.from({ length: 25 }, (_, i) =>
        actionBody("quarantine_file", 5000 + i, {
          externalId: `bulk-${i}`,
          status: "completed",
          device: { id: `dev-bulk-${i}`, name: `BULK-${i}` },
        }),
      ),
    );
    const opened = app.slackApi.callsTo("views.open").length;
    const url = await sendCommand(app, catcher, APPROVER, `undo ${ids.join(" ")}`);
    const modal = await openedModal(app, opened);
    const groups = modal.blocks.filter((block) => block.element?.type === "checkboxes");
    expect(groups.map((g) => g.element!.options.length)).toEqual([10, 10, 5]);
    expect(groups.every((g) => g.element!.initial_options?.length === g.element!.options.length)).toBe(true);

    const result = await confirm(modal, APPROVER, () => true);
    expect(result).toMatchObject({ response_action: "update" });
    expect(JSON.stringify(result!.view)).toContain("Undo requested for *25* Quarantine file actions");
    await waitForStatuses(app.ctx.db, ids, ["undone"]);

    const events = await undoEvents(ids);
    expect(events.map((e) => e.length)).toEqual(ids.map(() => 1));
    const requestIds = new Set(events.map(([event]) => event!.detail.requestId));
    expect(requestIds.size).toBe(1);
    expect(events.every(([event]) => event!.actor === APPROVER && event!.detail.requestSize === 25)).toBe(
      true,
    );
    for (const [i] of ids.entries()) {
      expect((await getDeviceView(app.ctx.db, `dev-bulk-${i}`))!.quarantinedFiles).not.toContain(
        sha256Of(5000 + i),
      );
    }
    // The modal was the answer: nothing was posted at the command's response_url.
    expect(catcher.requests.some((r) => url.endsWith(r.path))).toBe(false);
  });

  it("refuses to mix action types, from the command and in the confirmation", async () => {
    const [file, service] = await ingest(app.ctx.db, [
      actionBody("quarantine_file", 6000, { externalId: "mix-file", status: "completed" }),
      actionBody("stop_service", 6001, { externalId: "mix-service", status: "completed" }),
    ]);
    const answer = await runCommand(app, catcher, APPROVER, `undo ${file} ${service}`);
    expect(answer.text).toMatch(
      /Undo actions of one type at a time: the selection mixes Quarantine file and Stop service/,
    );

    // "Undo several…" lists both types; checking one of each is refused in the modal.
    const opened = app.slackApi.callsTo("views.open").length;
    const page = await runCommand(app, catcher, APPROVER, "history investigation:inv-600");
    await clickInAnswer(app, catcher, APPROVER, page, UNDO_SEVERAL_ACTION_ID);
    const modal = await openedModal(app, opened);
    expect(
      modal.blocks
        .filter((b) => b.element?.type === "checkboxes")
        .map((b) => b.element!.options.map((o) => Number(o.value))),
    ).toEqual([[file], [service]]);
    const result = await confirm(modal, APPROVER, () => true);
    expect(result).toMatchObject({ response_action: "errors" });
    expect(Object.values(result!.errors!)[0]).toMatch(
      /mixes Quarantine file and Stop service.*Nothing was changed/,
    );
    expect((await expectedIds(`id in (${file}, ${service}) and status = 'completed'`)).length).toBe(2);
  });

  it("undoes a quarantine on one device and, when asked, on its 4 other devices", async () => {
    const ids = await ingest(
      app.ctx.db,
      Array.from({ length: 5 }, (_, i) =>
        actionBody("quarantine_file", 7000 + i, {
          externalId: `spread-${i}`,
          investigationId: "inv-spread",
          device: { id: `dev-spread-${i}`, name: `SPREAD-${i}` },
          entity: { sha256: SHARED_SHA, path: "C:\\Temp\\tool.exe" },
        }),
      ),
    );
    for (const id of ids) await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, ids, ["completed"]);
    for (const [i] of ids.entries()) {
      expect((await getDeviceView(app.ctx.db, `dev-spread-${i}`))!.quarantinedFiles).toContain(SHARED_SHA);
    }

    const page = await runCommand(app, catcher, APPROVER, `history sha256:${SHARED_SHA}`);
    expect(rowIds(page)).toEqual([...ids].reverse());
    const opened = app.slackApi.callsTo("views.open").length;
    await clickInAnswer(app, catcher, APPROVER, page, `confirm_undo:${ids[0]}`);
    const modal = await openedModal(app, opened);
    const more = modal.blocks.find((b) => b.block_id === "undo_more");
    expect(JSON.stringify(more)).toContain("Apply to 4 more instances of this file");

    const result = await confirm(modal, APPROVER, () => true);
    expect(result).toMatchObject({ response_action: "update" });
    await waitForStatuses(app.ctx.db, ids, ["undone"]);
    for (const [i] of ids.entries()) {
      const res = await app.api(`/api/v1/devices/dev-spread-${i}`);
      expect(((await res.json()) as { quarantinedFiles: string[] }).quarantinedFiles).not.toContain(
        SHARED_SHA,
      );
    }
    const events = await undoEvents(ids);
    expect(events.flat()).toHaveLength(5);
    expect(new Set(events.flat().map((e) => e.detail.requestId)).size).toBe(1);
    expect(events.flat().every((e) => e.actor === APPROVER)).toBe(true);
    // The five instances of one file are one threat message, and it follows by itself.
    await waitFor(
      async () => {
        const message = channelMessages(app).find((m) => JSON.stringify(m.blocks).includes("SPREAD-0"));
        return message?.text.startsWith("Threat:") && JSON.stringify(message.blocks).includes("5 undone");
      },
      30_000,
      "the threat message to show 5 undone",
    );
  });

  it("from the channel: a quarantine's Undo offers the file's instance on another device", async () => {
    const sha = sha256Of(666_666);
    const ids = await ingest(
      app.ctx.db,
      [0, 1].map((i) =>
        actionBody("quarantine_file", 6600 + i, {
          externalId: `channel-spread-${i}`,
          investigationId: `inv-channel-spread-${i}`,
          device: { id: `dev-channel-spread-${i}`, name: `CHANNEL-SPREAD-${i}` },
          entity: { sha256: sha, path: "C:\\Temp\\dropper.exe" },
        }),
      ),
    );
    const [lone] = await ingest(app.ctx.db, [
      actionBody("quarantine_file", 6610, {
        externalId: "channel-lone",
        device: { id: "dev-channel-lone", name: "CHANNEL-LONE" },
        entity: { sha256: sha256Of(666_667) },
      }),
    ]);
    for (const id of [...ids, lone!])
      await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [...ids, lone!], ["completed"]);

    // Each instance's own message (one per investigation, not a threat: two are below minActions).
    const message = await waitFor(
      async () =>
        channelMessages(app).find((m) => buttonsOf(m).some((b) => b.action_id === `confirm_undo:${ids[0]}`)),
      30_000,
      "the completed quarantine's message with Undo…",
    );
    expect(message.text).not.toMatch(/^Threat:/);
    // A file quarantined on one device only keeps the one-tap Undo.
    await waitFor(
      async () => channelMessages(app).find((m) => buttonsOf(m).some((b) => b.action_id === `undo:${lone}`)),
      30_000,
      "the lone quarantine's message with Undo",
    );

    const opened = app.slackApi.callsTo("views.open").length;
    const res = await click(app, APPROVER, message, `confirm_undo:${ids[0]}`);
    expect(res.status).toBe(200);
    const modal = await openedModal(app, opened);
    expect(JSON.stringify(modal.blocks.find((b) => b.block_id === "undo_more"))).toContain(
      "Apply to 1 more instance of this file",
    );
    expect(JSON.stringify(modal)).toContain("CHANNEL-SPREAD-1");
    const result = await confirm(modal, APPROVER, () => true);
    expect(result).toMatchObject({ response_action: "update" });
    await waitForStatuses(app.ctx.db, ids, ["undone"]);
    const events = await undoEvents(ids);
    expect(new Set(events.flat().map((e) => e.detail.requestId)).size).toBe(1);
  });

  it("without the box checked, undoes only the chosen instance", async () => {
    const sha = sha256Of(888_888);
    const ids = await ingest(
      app.ctx.db,
      Array.from({ length: 3 }, (_, i) =>
        actionBody("quarantine_file", 8000 + i, {
          externalId: `single-${i}`,
          status: "completed",
          device: { id: `dev-single-${i}`, name: `SINGLE-${i}` },
          entity: { sha256: sha },
        }),
      ),
    );
    const opened = app.slackApi.callsTo("views.open").length;
    await sendCommand(app, catcher, APPROVER, `undo ${ids[1]}`);
    const modal = await openedModal(app, opened);
    expect(JSON.stringify(modal)).toContain("Apply to 2 more instances of this file");
    await confirm(modal, APPROVER, (block) => block !== "undo_more");
    await waitForStatuses(app.ctx.db, [ids[1]!], ["undone"]);
    expect((await expectedIds(`id in (${ids[0]}, ${ids[2]}) and status = 'completed'`)).length).toBe(2);
  });

  it("only approvers may undo: refused and audited at the command and at submission", async () => {
    const [id] = await ingest(app.ctx.db, [
      actionBody("disable_driver", 9000, { externalId: "guarded", status: "completed" }),
    ]);
    const answer = await runCommand(app, catcher, BYSTANDER, `undo ${id}`);
    expect(answer.text).toMatch(/not allowed to undo actions. Approvers: <@U0APPROVER1>/);

    // A submission forged by someone who never got the modal changes nothing either.
    const opened = app.slackApi.callsTo("views.open").length;
    await sendCommand(app, catcher, APPROVER, `undo ${id}`);
    const modal = await openedModal(app, opened);
    const result = await confirm(modal, BYSTANDER, () => true);
    expect(result).toMatchObject({ response_action: "errors" });
    expect((await expectedIds(`id = ${id} and status = 'completed'`)).length).toBe(1);
    const refused = (await getActionEvents(app.ctx.db, id!)).filter((e) => e.kind === "decision_refused");
    expect(refused.map((e) => e.actor)).toEqual([BYSTANDER, BYSTANDER]);
  });

  it("names what it cannot undo", async () => {
    const answer = await runCommand(app, catcher, APPROVER, `undo ${rejected[0]} 99999998`);
    expect(answer.text).toMatch(/Nothing to undo\. Not listed — rejected: #\d+ · no such action: #99999998/);
  });
});

describe("history.home", () => {
  it("publishes the Home tab with the viewer's pending count, the oldest waiting and their decisions", async () => {
    const before = app.slackApi.callsTo("views.publish").length;
    const open = (user: string) =>
      postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "event", body: appHomeOpenedEvent(user) });
    expect((await open(APPROVER)).status).toBe(200);
    const published = await waitFor(
      async () => app.slackApi.callsTo("views.publish")[before],
      10_000,
      "views.publish",
    );
    expect(published.args.user_id).toBe(APPROVER);
    expect((published.response as { ok: boolean }).ok).toBe(true);
    const text = JSON.stringify(published.args.view);
    const pending = await expectedIds("status = 'pending'");
    expect(text).toContain(`*Waiting for your approval:* ${pending.length} actions`);
    expect(text).toContain(`Oldest waiting: *#${pending.at(-1)} `);
    const mine = await expectedIds(`decided_by = '${APPROVER}'`);
    for (const id of mine.slice(0, 10)) expect(text).toContain(`*#${id} `);
    expect(text).not.toContain(`*#${mine[10]} `);

    // Opened again by someone else: their own figures, fresh.
    await open(BYSTANDER);
    const second = await waitFor(
      async () => app.slackApi.callsTo("views.publish")[before + 1],
      10_000,
      "views.publish",
    );
    expect(second.args.user_id).toBe(BYSTANDER);
    expect(JSON.stringify(second.args.view)).toContain(
      "*Waiting for your approval:* 0 — you are not an approver",
    );
  });
});

/** RFC 4180 lines and cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted && char === '"' && text[i + 1] === '"') {
      cell += '"';
      i += 1;
    } else if (char === '"') {
      quoted = !quoted;
    } else if (!quoted && char === ",") {
      row.push(cell);
      cell = "";
    } else if (!quoted && char === "\r" && text[i + 1] === "\n") {
      rows.push([...row, cell]);
      row = [];
      cell = "";
      i += 1;
    } else {
      cell += char;
    }
  }
  return rows;
}

describe("history.export", () => {
  it("delivers exactly the filtered rows as CSV to the person's DM, formulas neutralised", async () => {
    const answer = await runCommand(app, catcher, BYSTANDER, "history type:stop_service export");
    const expected = await expectedIds("status <> 'pending' and type = 'stop_service'");
    expect(answer.text).toBe(
      `Sent ${expected.length} actions as a CSV file to your direct messages with the app.`,
    );
    const file = [...app.slackApi.files.values()].find((f) => f.completed && f.channels.includes(BYSTANDER));
    expect(file?.name).toMatch(/^action-center-history-.*\.csv$/);
    const [header, ...rows] = parseCsv(file!.bytes!.toString("utf8"));
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(rows.map((row) => Number(row[0]))).toEqual(expected);
    expect(rows.every((row) => row.length === EXPORT_COLUMNS.length && row[2] === "stop_service")).toBe(true);
    expect(rows.map((row) => row[5])).toContain("'=2+3 (dev-formula)");
    const decided = rows.find((row) => row[8] === APPROVER)!;
    expect(decided[10]).toBe("'=1+1 known tool");
    expect(JSON.parse(rows.find((row) => Number(row[0]) === expected.at(-1))![6]!)).toMatchObject({
      name: expect.any(String),
    });
  });
});

describe("history.errors", () => {
  it("no listener of these surfaces failed during the run", () => {
    const failures = app.logs.filter((line) =>
      /\/action-center failed|could not turn the page|could not open the undo|bulk undo failed|slack listener failed|Home tab/.test(
        line,
      ),
    );
    expect(failures).toEqual([]);
  });
});
