// Faults survived: Slack refusing for a while, Postgres gone at the moment of a click.
import { afterAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { viewSubmissionPayload } from "../../src/sandbox/slackPayloads.ts";
import { STORE_DOWN_TEXT } from "../../src/slack/handlers/decide.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_SIGNING_SECRET, type TestApp, waitFor } from "../support/app.ts";
import { createTestDatabase, POSTGRES_BASE } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { postToSlackEndpoint } from "../support/slackRequests.ts";
import {
  buttonsOf,
  click,
  clickPayload,
  ephemeralsFor,
  viewOpenedBy,
  waitForMessage,
} from "../support/slackUser.ts";
import { startTcpProxy } from "../support/tcpProxy.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("Slack answers 429 and 5xx for a while", () => {
  it("every post and update still lands, in order, and the bot backs off", async () => {
    const app: TestApp = await startTestApp("slack_faults");
    cleanups.push(() => app.close());
    app.slackApi.failNext("chat.postMessage", 3, "429");
    app.slackApi.failNext("chat.update", 2, "5xx");
    const ids = await ingest(app.ctx.db, [
      actionBody("stop_service", 1, { investigationId: undefined }),
      actionBody("stop_service", 2, { investigationId: undefined }),
    ]);
    const [first, second] = [ids[0]!, ids[1]!];
    const posted = await waitForMessage(app, first, () => true, 30_000);
    await waitForMessage(app, second, () => true, 30_000);
    expect(app.slackApi.rateLimitedCount).toBeGreaterThanOrEqual(3);
    // After a 429 with Retry-After: 1 the bot waited before its next post.
    const posts = app.slackApi.callsTo("chat.postMessage");
    const limited = posts.findIndex((c) => c.status === 429);
    const nextOk = posts.findIndex((c, i) => i > limited && c.status === 200);
    expect(posts[nextOk]!.at - posts[limited]!.at).toBeGreaterThanOrEqual(900);

    await click(app, APPROVER, posted, `approve:${first}`);
    await waitForStatuses(app.ctx.db, [first], ["completed"]);
    const final = await waitForMessage(
      app,
      first,
      (m) => buttonsOf(m).some((b) => b.action_id === `undo:${first}`),
      30_000,
    );
    expect(final.ts).toBe(posted.ts);
    // Updates landed in order: the last one shows the final status.
    const updates = app.slackApi
      .callsTo("chat.update")
      .filter((c) => c.status === 200 && (c.args as { ts: string }).ts === posted.ts);
    expect(updates.length).toBeGreaterThan(0);
    expect(JSON.stringify(updates.at(-1)!.args)).toMatch(/Completed|completed/);
    expect(app.slackApi.callsTo("chat.update").some((c) => c.status >= 500)).toBe(true);
  });
});

describe("Postgres unreachable when someone clicks Approve", () => {
  it("the person hears that nothing was done, nothing runs, and /readyz says why", async () => {
    const database = await createTestDatabase("pg_down");
    cleanups.push(database.drop);
    const proxy = await startTcpProxy(Number(new URL(POSTGRES_BASE).port || 5432));
    cleanups.push(() => proxy.close());
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    const app = await startTestApp("pg_down", { databaseUrl: proxied.toString() });
    cleanups.push(() => app.close());
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 3, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    // A confirmation opened while the store was up, submitted once it is gone.
    const opening = clickPayload(APPROVER, posted, `approve:${id}`);
    await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body: opening });
    const confirmation = (await viewOpenedBy(app, opening.trigger_id))!;

    proxy.cut();
    // The modal says so in place of the form: nothing decided, ask again.
    const submitted = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "interactive",
      body: viewSubmissionPayload({
        userId: APPROVER,
        callbackId: confirmation.callback_id,
        privateMetadata: confirmation.private_metadata,
        values: {},
        view: { title: confirmation.title },
      }),
    });
    expect(submitted.status).toBe(200);
    expect(await submitted.json()).toMatchObject({
      response_action: "update",
      view: {
        type: "modal",
        title: { type: "plain_text", text: confirmation.title.text },
        close: { type: "plain_text", text: "Close" },
        blocks: [{ type: "section", text: { type: "mrkdwn", text: STORE_DOWN_TEXT } }],
      },
    });
    // The click cannot be written down, so it opens no confirmation: it is answered at once.
    const res = await click(app, APPROVER, posted, `approve:${id}`, { confirm: false });
    expect(res.status).toBe(200);
    await waitFor(async () => ephemeralsFor(app, APPROVER).length > 0, 15_000, "an answer");
    expect(ephemeralsFor(app, APPROVER)).toEqual([STORE_DOWN_TEXT]);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.redis).toBe("ok");

    proxy.restore();
    await waitFor(async () => (await fetch(`${app.url}/readyz`)).status === 200, 15_000, "ready again");
    expect((await getAction(app.ctx.db, id!))!.status).toBe("pending");
    // Trying again works.
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
  });
});
