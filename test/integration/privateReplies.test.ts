// Private replies follow their actions: a `show` or `history` answer, sent through the command's
// response_url (here a local catcher), is replaced in place through that URL when one of its
// actions changes, by whoever and from wherever; a click in it hands the following to the click's
// URL; the URL's last use sends it without controls; a URL Slack no longer takes is left alone.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateReplies } from "../../src/db/schema.ts";
import { sweepExpired } from "../../src/jobs/expirySweeper.ts";
import { decide } from "../../src/services/decide.ts";
import { validateMessage } from "../../src/slack/blockLimits.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, BYSTANDER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { type Answer, answerAt, clickInAnswer, sendCommand } from "../support/commands.ts";
import { actionBody } from "../support/fixtures.ts";
import { type ResponseUrlCatcher, startResponseUrlCatcher } from "../support/slackRequests.ts";
import { buttonsOf } from "../support/slackUser.ts";

let app: TestApp;
let catcher: ResponseUrlCatcher;

beforeAll(async () => {
  [app, catcher] = await Promise.all([startTestApp("private_replies"), startResponseUrlCatcher()]);
});
afterAll(async () => {
  await app?.close();
  await catcher?.close();
});

const pathOf = (url: string) => new URL(url).pathname;
const postsTo = (url: string) => catcher.requests.filter((r) => r.path === pathOf(url));
const actionIdsOf = (answer: Answer) => buttonsOf(answer).map((button) => button.action_id);

/** The first post to `url` after the first `after` of them that `matches`. */
async function postAt(url: string, after: number, matches: (answer: Answer) => boolean): Promise<Answer> {
  const answer = await waitFor(
    async () =>
      postsTo(url)
        .slice(after)
        .map((r) => r.body as Answer)
        .find(matches),
    20_000,
    `a refreshed reply at ${pathOf(url)}`,
  );
  expect(validateMessage(answer)).toEqual([]);
  return answer;
}

async function pendingAction(type: "isolate_device" | "quarantine_file", n: number): Promise<number> {
  const [id] = await ingest(app.ctx.db, [actionBody(type, n, { investigationId: undefined })]);
  return id!;
}

async function completedAction(n: number): Promise<number> {
  const id = await pendingAction("quarantine_file", n);
  await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
  await waitForStatuses(app.ctx.db, [id], ["completed"]);
  return id;
}

async function replyRow(url: string) {
  const [row] = await app.ctx.db.select().from(privateReplies).where(eq(privateReplies.responseUrl, url));
  return row;
}

describe("private replies follow their actions", () => {
  it("a `show` reply approved elsewhere is replaced in place: Completed, Approve and Reject gone", async () => {
    const id = await pendingAction("isolate_device", 1);
    const url = await sendCommand(app, catcher, BYSTANDER, `show ${id}`);
    const first = await answerAt(catcher, url);
    expect(actionIdsOf(first)).toContain(`approve:${id}`);

    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const refreshed = await postAt(url, 1, (answer) => /Completed/.test(JSON.stringify(answer.blocks)));
    expect(refreshed.replace_original).toBe(true);
    expect(actionIdsOf(refreshed)).not.toContain(`approve:${id}`);
    expect(actionIdsOf(refreshed)).not.toContain(`reject:${id}`);
    // A decision and the run it starts are gathered: a few uses of five, not one per event.
    expect(postsTo(url).length).toBeLessThanOrEqual(3);
  });

  it("a history reply follows its rows; after a click in it, the click's URL carries the refreshes, the answer kept on top", async () => {
    const [undoneElsewhere, undoneLater] = [await completedAction(2), await completedAction(3)];
    const url = await sendCommand(app, catcher, APPROVER, "history type:quarantine_file");
    const first = await answerAt(catcher, url);
    expect(actionIdsOf(first)).toEqual(
      expect.arrayContaining([`confirm_undo:${undoneElsewhere}`, `confirm_undo:${undoneLater}`]),
    );

    await decide(app.ctx.db, { actionId: undoneElsewhere, decision: "request_undo", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [undoneElsewhere], ["undone"]);
    const followed = await postAt(url, 1, (a) => !actionIdsOf(a).includes(`confirm_undo:${undoneElsewhere}`));
    expect(actionIdsOf(followed)).toContain(`confirm_undo:${undoneLater}`);

    // The person taps the stale Undo… of the first answer: answered in the reply, through the click's URL.
    const clickUrl = await clickInAnswer(app, catcher, APPROVER, first, `confirm_undo:${undoneElsewhere}`);
    const answered = await answerAt(catcher, clickUrl);
    expect(answered.text).toMatch(/Nothing to undo/);
    const seenAtCommandUrl = postsTo(url).length;

    await decide(app.ctx.db, { actionId: undoneLater, decision: "request_undo", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [undoneLater], ["undone"]);
    const moved = await postAt(clickUrl, 1, (a) => !actionIdsOf(a).includes(`confirm_undo:${undoneLater}`));
    expect(moved.text).toMatch(/^Nothing to undo/);
    expect(postsTo(url).length).toBe(seenAtCommandUrl);
  });

  it("the URL's last use sends the reply without controls and says so; after it, nothing is sent", async () => {
    const id = await pendingAction("isolate_device", 4);
    const url = await sendCommand(app, catcher, BYSTANDER, `show ${id}`);
    await answerAt(catcher, url);
    // Three refreshes spent already: the next is the fifth and last use Slack allows.
    await app.ctx.db.update(privateReplies).set({ uses: 4 }).where(eq(privateReplies.responseUrl, url));

    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    const last = await postAt(url, 1, () => true);
    expect(buttonsOf(last).filter((button) => button.url === undefined)).toEqual([]);
    expect(JSON.stringify(last.blocks)).toContain(`/action-center show ${id}\` shows the latest`);
    expect((await replyRow(url))?.uses).toBe(5);

    const sent = postsTo(url).length;
    await decide(app.ctx.db, { actionId: id, decision: "request_undo", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [id], ["undone"]);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(postsTo(url).length).toBe(sent);
  });

  it("a URL Slack refuses is tried once, then left alone; expired replies are forgotten by the sweep", async () => {
    const id = await pendingAction("isolate_device", 5);
    const url = await sendCommand(app, catcher, BYSTANDER, `show ${id}`);
    await answerAt(catcher, url);
    catcher.expired.add(pathOf(url));

    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitFor(async () => ((await replyRow(url))?.uses === 5 ? true : undefined), 20_000, "given up");
    expect(postsTo(url).length).toBe(2);

    await app.ctx.db
      .update(privateReplies)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(privateReplies.responseUrl, url));
    await sweepExpired(app.ctx);
    expect(await replyRow(url)).toBeUndefined();
  });
});
