// Threat grouping end to end: the same file on many devices across investigations becomes one
// threat message, later instances join it (an update, not a post), and Approve all / Reject all /
// Review decide it through the same per-action checks, each decision and refusal audited.
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionEvents, actions, slackMessages } from "../../src/db/schema.ts";
import { waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  BYSTANDER,
  startTestApp,
  TEST_CHANNEL,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import { postToSlackEndpoint, viewBlockActionsPayload } from "../support/slackRequests.ts";
import { buttonsOf, channelMessages, click, ephemeralsFor, submitView } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("threats");
});
afterAll(() => app?.close());

async function ingest(bodies: Record<string, unknown>[]): Promise<number[]> {
  const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify({ actions: bodies }) });
  expect(res.status).toBe(201);
  const { actions: created } = (await res.json()) as { actions: { id: string }[] };
  return created.map((a) => Number(a.id));
}

/** `count` quarantines of one file, each on its own device, spread over investigations. */
const outbreak = (file: number, from: number, count: number, tag: string) =>
  Array.from({ length: count }, (_, i) =>
    actionBody("quarantine_file", from + i, {
      externalId: `${tag}-${from + i}`,
      investigationId: `inv-${tag}-${(from + i) % 3}`,
      device: { id: `dev-${tag}-${from + i}`, name: `PC-${tag.toUpperCase()}-${from + i}` },
      entity: { sha256: sha256Of(file), path: "C:\\Users\\Public\\worm.exe" },
    }),
  );

const threatMessage = (text: string) =>
  waitFor(
    async () => channelMessages(app).find((m) => m.text.startsWith("Threat:") && m.text.includes(text)),
    20_000,
    `a threat message about ${text}`,
  );

const messageRowOf = async (actionId: number) =>
  (
    await app.ctx.db
      .select({ id: slackMessages.id, threatKey: slackMessages.threatKey })
      .from(actions)
      .innerJoin(slackMessages, eq(slackMessages.id, actions.slackMessageId))
      .where(eq(actions.id, actionId))
  )[0]!;

const eventsOf = (ids: number[], kind: string) =>
  app.ctx.db
    .select()
    .from(actionEvents)
    .where(and(inArray(actionEvents.actionId, ids), eq(actionEvents.kind, kind)));

describe("threat grouping", () => {
  it("shows one file on many devices as one threat message, joined by later instances, and approves it all", async () => {
    const first = await ingest([...outbreak(9001, 0, 6, "worm"), actionBody("stop_service", 9001)]);
    const quarantines = first.slice(0, 6);
    const threat = await messageRowOf(quarantines[0]!);
    expect(threat.threatKey).toBe(`file:${sha256Of(9001)}`);
    for (const id of quarantines) expect((await messageRowOf(id)).id).toBe(threat.id);
    // The unrelated action keeps its own message.
    expect((await messageRowOf(first[6]!)).threatKey).toBeNull();

    const posted = await threatMessage("6 devices");
    expect(posted.text).toContain("3 investigations");
    expect(JSON.stringify(posted.blocks)).toContain("PC-WORM-0");
    // The investigation page still lists each of its actions, linking the grouped ones to the threat.
    const page = await (await fetch(`${app.url}/investigations/inv-worm-0`)).text();
    expect(page).toContain(`id="action-${quarantines[0]}"`);
    expect(page).toContain(`https://slack.com/archives/${TEST_CHANNEL}/p${posted.ts.replace(".", "")}`);
    const postsBefore = app.slackApi.callsTo("chat.postMessage").length;

    const later = await ingest(outbreak(9001, 6, 3, "worm"));
    for (const id of later) expect((await messageRowOf(id)).id).toBe(threat.id);
    const updated = await threatMessage("9 devices");
    expect(updated.ts).toBe(posted.ts);
    const newTopLevel = app.slackApi
      .callsTo("chat.postMessage")
      .slice(postsBefore)
      .filter((c) => {
        const args = c.args as { thread_ts?: string; text?: string };
        return !args.thread_ts && args.text?.startsWith("Threat:");
      });
    expect(newTopLevel).toHaveLength(0);

    // Someone who may not approve is refused for every action, and each refusal is audited.
    const all = [...quarantines, ...later];
    await click(app, BYSTANDER, updated, `approve_all:${threat.id}`);
    await waitFor(
      async () => (await eventsOf(all, "decision_refused")).length === 9 || undefined,
      10_000,
      "refusals",
    );
    const answer = await waitFor(async () => ephemeralsFor(app, BYSTANDER).at(-1), 10_000, "the answer");
    expect(answer).toContain("not allowed");

    await click(app, APPROVER, updated, `approve_all:${threat.id}`);
    await waitForStatuses(app.ctx.db, all, ["completed"]);
    const approvals = await eventsOf(all, "approve");
    expect(approvals.map((e) => e.actionId).sort()).toEqual([...all].sort());
    expect(new Set(approvals.map((e) => e.actor))).toEqual(new Set([APPROVER]));
    const done = await threatMessage("9 completed");
    // A quarantine's Undo offers the other instances: it opens the undo confirmation.
    expect(buttonsOf(done).some((b) => b.action_id.startsWith("confirm_undo:"))).toBe(true);
    expect(buttonsOf(done).some((b) => b.action_id.startsWith("approve_all:"))).toBe(false);
  });

  it("counts an action sent again once: with one new instance it is two of the file, not a threat", async () => {
    const [first] = await ingest(outbreak(9107, 0, 1, "again"));
    const firstMessage = await messageRowOf(first!);
    // The stored one again, with a second instance: two pending of the file, under the three a
    // threat needs; the one sent again stays where it is shown.
    const [again, second] = await ingest(outbreak(9107, 0, 2, "again"));
    expect(again).toBe(first);
    expect(await messageRowOf(first!)).toEqual(firstMessage);
    expect((await messageRowOf(second!)).threatKey).toBeNull();
    // The third makes it one: only the new instance is shown on the threat message.
    const [, , third] = await ingest(outbreak(9107, 0, 3, "again"));
    expect((await messageRowOf(third!)).threatKey).toBe(`file:${sha256Of(9107)}`);
    expect((await messageRowOf(second!)).threatKey).toBeNull();
    // The messages made for the actions sent again show nothing, and are gone.
    const [empty] = await app.ctx.sql<{ n: number }[]>`
      select count(*)::int as n from slack_messages m
      where channel = ${TEST_CHANNEL} and not exists (select 1 from actions a where a.slack_message_id = m.id)`;
    expect(empty!.n).toBe(0);
  });

  it("rejects a whole threat with one reason, kept on every action", async () => {
    const ids = await ingest(outbreak(9002, 0, 4, "rej"));
    const threat = await messageRowOf(ids[0]!);
    expect(threat.threatKey).toBe(`file:${sha256Of(9002)}`);
    const posted = await threatMessage("4 devices");
    expect(buttonsOf(posted).map((b) => b.action_id)).toContain(`reject_all:${threat.id}`);
    const res = await submitView(app, APPROVER, "reject_all", String(threat.id), {
      reason: { reason: { type: "plain_text_input", value: "Signed installer of our backup agent" } },
    });
    expect(res.status).toBe(200);
    await waitForStatuses(app.ctx.db, ids, ["rejected"]);
    const rows = await app.ctx.db.select().from(actions).where(inArray(actions.id, ids));
    expect(new Set(rows.map((r) => r.decisionComment))).toEqual(
      new Set(["Signed installer of our backup agent"]),
    );
    expect(await eventsOf(ids, "reject")).toHaveLength(4);
  });

  it("reviews a threat page by page and decides one device from the modal", async () => {
    const ids = await ingest(outbreak(9003, 0, 45, "rev"));
    const threat = await messageRowOf(ids[0]!);
    const posted = await threatMessage("45 devices");
    await click(app, APPROVER, posted, `review:${threat.id}`, { triggerId: "trigger-review" });
    const opened = await waitFor(
      async () => [...app.slackApi.views.values()].find((v) => v.view.callback_id === "review_message"),
      10_000,
      "the review modal",
    );
    const blocks = opened.view.blocks as { accessory?: { action_id: string } }[];
    const menus = blocks.filter((b) => b.accessory?.action_id.startsWith("review_decide:"));
    expect(menus).toHaveLength(40);
    const view = { ...opened.view, id: opened.id };

    const next = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "interactive",
      body: viewBlockActionsPayload({ userId: APPROVER, actionId: "review_page:2", view }),
    });
    expect(next.status).toBe(200);
    await waitFor(
      async () =>
        JSON.stringify(app.slackApi.views.get(opened.id)?.view.blocks).includes("page 2 of 2") || undefined,
      10_000,
      "page 2",
    );

    const target = ids[0]!;
    const menuClick = viewBlockActionsPayload({
      userId: APPROVER,
      actionId: `review_decide:${target}`,
      selectedOption: "approve",
      view,
    });
    expect(menuClick.actions[0]).toMatchObject({
      type: "overflow",
      selected_option: { text: { type: "plain_text", text: "Approve" }, value: "approve" },
    });
    await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body: menuClick });
    await waitForStatuses(app.ctx.db, [target], ["completed"]);
    const rows = await app.ctx.db.select().from(actions).where(inArray(actions.id, ids));
    expect(rows.filter((r) => r.status === "pending")).toHaveLength(44);
    expect(rows.find((r) => r.id === target)?.decidedBy).toBe(APPROVER);
  });
});
