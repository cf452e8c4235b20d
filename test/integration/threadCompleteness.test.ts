// Every audit event of an action reaches its message's thread exactly once, in replies within
// Slack's limits, paced, and a retry after a reply whose cursor was never recorded neither drops
// nor repeats a line.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getMessage } from "../../src/db/queries/messages.ts";
import { appendEvents } from "../../src/db/transitions.ts";
import { THREAD_REPLY_SPACING_MS } from "../../src/jobs/processors/slackUpdate.ts";
import { slackUpdateJobEntry } from "../../src/jobs/queues.ts";
import type { FakeMessage } from "../../src/sandbox/fakeSlackApi.ts";
import { THREAD_REPLY_MAX_CHARS, threadedThrough } from "../../src/slack/blocks/threadReply.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, BYSTANDER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { click, waitForMessage } from "../support/slackUser.ts";

const PROBES = 400;

let app: TestApp;
let actionId: number;
let messageId: number;
let root: FakeMessage;

beforeAll(async () => {
  app = await startTestApp("thread_all");
  [actionId] = (await ingest(app.ctx.db, [
    actionBody("stop_service", 1, { investigationId: undefined }),
  ])) as [number];
  root = await waitForMessage(app, actionId);
  // An attack run's refused clicks: hundreds of audit events on one action, then its approval.
  for (let start = 0; start < PROBES; start += 100)
    await appendEvents(
      app.ctx.db,
      Array.from({ length: 100 }, (_, i) => ({
        actionId,
        kind: "decision_refused",
        actor: BYSTANDER,
        detail: { reason: `probe-${start + i}-end` },
      })),
    );
  // Slack fails a few of the thread's posts on the way; the cursor keeps the place.
  app.slackApi.failNext("chat.postMessage", 1, "5xx");
  await click(app, APPROVER, root, `approve:${actionId}`);
  await waitForStatuses(app.ctx.db, [actionId], ["completed"]);
  const [row] = await app.ctx.sql<{ message_id: number }[]>`
    select slack_message_id::int as message_id from actions where id = ${actionId}`;
  messageId = row!.message_id;
  await threadCaughtUp();
}, 120_000);
afterAll(() => app?.close());

async function lastEventId(): Promise<number> {
  const [row] = await app.ctx.sql<{ id: number }[]>`
    select max(id)::int as id from action_events where action_id = ${actionId}`;
  return row!.id;
}

async function threadCaughtUp(): Promise<void> {
  const last = await lastEventId();
  await waitFor(
    async () => {
      const message = await getMessage(app.ctx.db, messageId);
      return message && message.threadedEventId >= last && message.threadPendingEventId === null;
    },
    90_000,
    "the thread to catch up",
  );
}

function replies(): FakeMessage[] {
  return app.slackApi.findMessage(root.channel, root.ts)!.replies;
}

function expectEveryLineOnce(): void {
  const lines = replies().flatMap((reply) => reply.text.split("\n"));
  for (let n = 0; n < PROBES; n++)
    expect(lines.filter((line) => line.includes(`probe-${n}-end`))).toHaveLength(1);
  // The probes and the approval's own events (approve, run started, completed), nothing twice.
  expect(new Set(lines).size).toBe(lines.length);
  expect(lines.length).toBeGreaterThanOrEqual(PROBES + 3);
  expect(lines.filter((line) => line.includes(`<@${APPROVER}>`)).length).toBeGreaterThanOrEqual(1);
}

describe("thread completeness", () => {
  it("threads every one of hundreds of events once, in order, each reply within Slack's limits", async () => {
    const events = await app.ctx.sql<{ kind: string }[]>`
      select kind from action_events where action_id = ${actionId} and kind <> 'received' order by id`;
    const lines = replies().flatMap((reply) => reply.text.split("\n"));
    expect(lines).toHaveLength(events.length);
    expectEveryLineOnce();
    const order = lines.flatMap((line) => /probe-(\d+)-end/.exec(line)?.[1] ?? []).map(Number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const reply of replies()) expect(reply.text.length).toBeLessThanOrEqual(THREAD_REPLY_MAX_CHARS);
    expect(replies().length).toBeGreaterThan(PROBES / 40);
    // Paced: the thread's replies in this job came at least the spacing apart.
    const posts = app.slackApi
      .callsTo("chat.postMessage")
      .filter((c) => c.status === 200 && (c.args as { thread_ts?: string }).thread_ts === root.ts);
    expect(posts).toHaveLength(replies().length);
    // The reply whose post failed with a 5xx was posted again, once.
    const failed = app.slackApi
      .callsTo("chat.postMessage")
      .filter((c) => c.status >= 500 && (c.args as { thread_ts?: string }).thread_ts === root.ts);
    expect(failed).toHaveLength(1);
    for (let i = 1; i < posts.length; i++)
      expect(posts[i]!.at - posts[i - 1]!.at).toBeGreaterThanOrEqual(THREAD_REPLY_SPACING_MS - 50);
  });

  it("a reply that landed before its cursor was recorded is not posted again", async () => {
    const before = replies().length;
    const [previous, last] = replies()
      .slice(-2)
      .map((r) => threadedThrough(messageId, r.metadata)!);
    // The state a crash leaves between the post and the cursor's move.
    await app.ctx
      .sql`update slack_messages set threaded_event_id = ${previous!}, thread_pending_event_id = ${last!}
      where id = ${messageId}`;
    await update();
    await threadCaughtUp();
    expect(replies()).toHaveLength(before);
    expect(app.slackApi.callsTo("conversations.replies").length).toBeGreaterThan(0);
    expectEveryLineOnce();
  });

  it("a reply that never landed is posted on the retry, so no line is lost", async () => {
    const thread = replies();
    const lost = thread.pop()!;
    const previous = threadedThrough(messageId, thread.at(-1)!.metadata)!;
    await app.ctx.sql`update slack_messages set threaded_event_id = ${previous},
      thread_pending_event_id = ${threadedThrough(messageId, lost.metadata)!} where id = ${messageId}`;
    await update();
    await threadCaughtUp();
    expect(replies().at(-1)!.text).toBe(lost.text);
    expectEveryLineOnce();
  });
});

describe("a message changed more often than one update job renders", () => {
  it("shows its last change without waiting for the reconciler", async () => {
    const [id] = (await ingest(app.ctx.db, [
      actionBody("stop_service", 2, { investigationId: undefined }),
    ])) as [number];
    const message = await waitForMessage(app, id);
    // Refused clicks, each a change of the message threaded at Slack's pace: one job renders
    // and threads them while the approval and the run commit.
    for (let n = 0; n < 7; n++) await click(app, BYSTANDER, message, `approve:${id}`);
    await click(app, APPROVER, message, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id], ["completed"]);
    // The reconciler's pass is a minute away in this app: the job itself renders the rest.
    await waitForMessage(app, id, (m) => /Completed/.test(JSON.stringify(m.blocks)), 30_000);
  });
});

async function update(): Promise<void> {
  const message = (await getMessage(app.ctx.db, messageId))!;
  const job = slackUpdateJobEntry(messageId, message.version);
  // A job id of its own: the finished job of the same message may still hold the usual one.
  await app.ctx.queues.slackUpdate.add(job.name, job.data, {
    ...job.opts,
    jobId: `${job.opts.jobId}-retry-${Date.now()}`,
  });
}
