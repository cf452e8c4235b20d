// The inbox of Slack requests: what a stopped process acknowledged is decided by the next web
// process, once; a request is decided once however many handlings race for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { type InboxRequest, insertInboxRequests } from "../../src/db/inbox.ts";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { type FakeSlackApi, startFakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { decide } from "../../src/services/decide.ts";
import { handleInboxRow } from "../../src/services/inbox.ts";
import {
  BULK_UNDO_CALLBACK_ID,
  DECISION_CALLBACK_ID,
  REASON_INPUT_ID as REASON_ID,
  REJECT_CALLBACK_ID,
} from "../../src/slack/actionIds.ts";
import { validateMessage, validateView } from "../../src/slack/blockLimits.ts";
import { FIRST_PICK_BLOCK_ID } from "../../src/slack/blocks/bulkUndo.ts";
import { decisionMetadata } from "../../src/slack/blocks/modals.ts";
import { failedQuarantine, ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_CHANNEL, type TestApp, waitFor } from "../support/app.ts";
import { createTestDatabase } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import {
  blockActionsPayload,
  type ResponseUrlCatcher,
  slashCommandBody,
  startResponseUrlCatcher,
  viewSubmissionPayload,
} from "../support/slackRequests.ts";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let slackApi: FakeSlackApi;
let catcher: ResponseUrlCatcher;
let store: ReturnType<typeof createDb>;
const apps: TestApp[] = [];

beforeAll(async () => {
  database = await createTestDatabase("inbox");
  slackApi = await startFakeSlackApi({ validateMessage, validateView });
  catcher = await startResponseUrlCatcher();
  store = createDb(database.url, { max: 2 });
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await store?.client.end();
  await catcher?.close();
  await slackApi?.close();
  await database?.drop();
});

async function startWeb(label: string): Promise<TestApp> {
  const app = await startTestApp(label, { databaseUrl: database.url, slackApi });
  apps.push(app);
  return app;
}

let signature = 0;
/** A request as the endpoint writes it (the key stands for its signature). */
function request(kind: string, payload: Record<string, unknown>): InboxRequest {
  signature += 1;
  const { token: _token, ...kept } = payload;
  return { kind, requestKey: `sig:v0=test${signature}`, payload: kept };
}
const clickOn = (verb: string, id: number) =>
  request(
    "block_actions",
    blockActionsPayload({
      userId: APPROVER,
      actionId: `${verb}:${id}`,
      value: String(id),
      channelId: TEST_CHANNEL,
      messageTs: "1.1",
    }),
  );

/** The submission of a decision's confirmation (Approve, Retry…: the request that decides). */
const confirmationOf = (kind: "approve" | "retry", id: number) =>
  request(
    "view_submission",
    viewSubmissionPayload({
      userId: APPROVER,
      callbackId: DECISION_CALLBACK_ID,
      privateMetadata: decisionMetadata(id, kind, { channel: TEST_CHANNEL }),
      values: {},
    }),
  );

/** Writes rows as a process killed right after its acks leaves them: claimed until `claimMs` from now. */
async function leaveInInbox(requests: InboxRequest[], claimMs = -1000): Promise<number[]> {
  const ids = await insertInboxRequests(store.db, requests, claimMs);
  return ids.map((id) => id!);
}

const inboxRow = async (id: number) =>
  (
    await store.client<{ outcome: string | null; attempts: number }[]>`
    select outcome, attempts from slack_inbox where id = ${id}`
  )[0]!;

describe("inbox.recovery", () => {
  it("what a stopped process acknowledged is decided by the next one: clicks, modals, commands, once each", async () => {
    const first = await startWeb("inbox_first");
    const [toApprove, toReject, stillOwned] = await ingest(first.ctx.db, [
      actionBody("stop_service", 1, { investigationId: undefined }),
      actionBody("stop_service", 2, { investigationId: undefined }),
      actionBody("stop_service", 3, { investigationId: undefined }),
    ]);
    const [toUndo] = await ingest(first.ctx.db, [
      actionBody("isolate_device", 4, { investigationId: undefined, status: "completed" }),
    ]);
    const toRetry = await failedQuarantine(first.ctx.db, 905);
    await first.close();

    const responseUrl = catcher.newUrl();
    const [approveRow, rejectRow, undoRow, retryRow, commandRow, linkRow] = await leaveInInbox([
      confirmationOf("approve", toApprove!),
      request(
        "view_submission",
        viewSubmissionPayload({
          userId: APPROVER,
          callbackId: REJECT_CALLBACK_ID,
          privateMetadata: String(toReject),
          values: { [REASON_ID]: { [REASON_ID]: { type: "plain_text_input", value: "Known admin tool" } } },
        }),
      ),
      request(
        "view_submission",
        viewSubmissionPayload({
          userId: APPROVER,
          callbackId: BULK_UNDO_CALLBACK_ID,
          privateMetadata: JSON.stringify({ more: [] }),
          values: {
            [FIRST_PICK_BLOCK_ID]: {
              pick: { type: "checkboxes", selected_options: [{ value: String(toUndo) }] },
            },
          },
        }),
      ),
      confirmationOf("retry", toRetry),
      request(
        "command",
        slashCommandBody({ userId: APPROVER, text: `show ${toRetry}`, channelId: TEST_CHANNEL, responseUrl }),
      ),
      clickOn("open_investigation", toApprove!),
    ]);
    // Taken five times by processes that died, and 20 minutes old: given up, not handled again.
    await store.client`
      update slack_inbox set attempts = 5, received_at = now() - interval '20 minutes' where id = ${linkRow!}`;
    // Still claimed by a live process: left alone.
    const [ownedRow] = await leaveInInbox([confirmationOf("approve", stillOwned!)], 60 * 60_000);

    const next = await startWeb("inbox_next");
    await waitForStatuses(next.ctx.db, [toApprove!], ["completed"]);
    await waitForStatuses(next.ctx.db, [toReject!], ["rejected"]);
    await waitForStatuses(next.ctx.db, [toUndo!], ["undone"]);
    await waitFor(async () => (await getAction(next.ctx.db, toRetry))!.attempt === 2, 10_000, "the retry");
    const answer = await waitFor(async () =>
      catcher.requests.find((r) => r.path === new URL(responseUrl).pathname),
    );
    expect(JSON.stringify(answer.body)).toContain(`#${toRetry}`);

    expect((await getAction(next.ctx.db, toReject!))!).toMatchObject({
      decidedBy: APPROVER,
      decisionComment: "Known admin tool",
    });
    await waitFor(async () => (await inboxRow(commandRow!)).outcome !== null, 10_000, "the command marked");
    // Under load the last recovery round may still be marking the row it gives up on.
    await waitFor(
      async () => (await inboxRow(linkRow!)).outcome !== null,
      10_000,
      "the abandoned row marked",
    );
    expect(
      await Promise.all(
        [approveRow, rejectRow, undoRow, retryRow, commandRow, linkRow].map((id) => inboxRow(id!)),
      ),
    ).toEqual([
      { outcome: "decided", attempts: 1 },
      { outcome: "decided", attempts: 1 },
      { outcome: "decided", attempts: 1 },
      { outcome: "decided", attempts: 1 },
      { outcome: "handled", attempts: 1 },
      { outcome: "abandoned", attempts: 6 },
    ]);
    expect(await inboxRow(ownedRow!)).toEqual({ outcome: null, attempts: 0 });
    expect((await getAction(next.ctx.db, stillOwned!))!.status).toBe("pending");
    for (const [id, kind] of [
      [toApprove, "approve"],
      [toReject, "reject"],
      [toUndo, "request_undo"],
      [toRetry, "retry"],
    ] as const) {
      expect((await getActionEvents(next.ctx.db, id!)).filter((e) => e.kind === kind)).toHaveLength(1);
    }
    expect(
      await next.ctx.metrics.registry.getSingleMetricAsString("action_center_slack_inbox_recovered_total"),
    ).toMatch(/kind="view_submission"} 4[\s\S]*kind="command"} 1/);
  });
});

describe("inbox.exactlyOnce", () => {
  it("two handlings of one request race: one decides, the other decides nothing", async () => {
    const app = apps.at(-1)!;
    const actionId = await failedQuarantine(app.ctx.db, 906);
    // Claimed for an hour, so that no recovery takes it while the two race.
    const [row] = await leaveInInbox([clickOn("retry", actionId)], 60 * 60_000);
    const retry = () => decide(app.ctx.db, { actionId, decision: "retry", actor: APPROVER });
    const outcomes: Awaited<ReturnType<typeof retry>>[] = [];
    const results = await Promise.all(
      [1, 2, 3].map(() => handleInboxRow(row!, async () => outcomes.push(await retry()))),
    );
    expect(results.filter((r) => r.decided)).toHaveLength(1);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.message)).toEqual([
      "this request was already handled",
      "this request was already handled",
    ]);
    await waitForStatuses(app.ctx.db, [actionId], ["failed"]);
    expect((await getAction(app.ctx.db, actionId))!.attempt).toBe(2);
    // Handled again later (a recovery after all), it still decides nothing.
    await handleInboxRow(row!, retry);
    expect((await getActionEvents(app.ctx.db, actionId)).filter((e) => e.kind === "retry")).toHaveLength(1);
    expect((await inboxRow(row!)).outcome).toBe("decided");
  });
});
