// The end-to-end assertions of the Slack loop that hold whichever way Slack reaches the app: the
// HTTP mode's slackLoop.test.ts and Socket Mode's socketMode.test.ts run each of them through
// their own transport (slackUser.ts), on actions they ingested.
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { backendRuns } from "../../src/db/schema.ts";
import { waitForStatuses } from "./actions.ts";
import { APPROVER, BYSTANDER, GROUP_APPROVER, type TestApp, waitFor } from "./app.ts";
import { actionBody } from "./fixtures.ts";
import {
  buttonsOf,
  channelMessages,
  clickPayload,
  clickVia,
  ephemeralsFor,
  messageFor,
  type SlackTransport,
  viewOpenedBy,
  waitForMessage,
} from "./slackUser.ts";

/** How many times the backend applied action `id`: one run row counting each application. */
export async function applyRuns(app: TestApp, id: number): Promise<number[]> {
  const runs = await app.ctx.db
    .select()
    .from(backendRuns)
    .where(and(eq(backendRuns.actionId, id), eq(backendRuns.operation, "apply")));
  return runs.map((r) => r.count);
}

/** A bystander's Approve on pending action `id` is refused, audited and threaded; nothing changes. */
export async function expectRefusedBystander<A>(transport: SlackTransport<A>, id: number) {
  const { app } = transport;
  const posted = await waitForMessage(app, id);
  const earlier = ephemeralsFor(app, BYSTANDER).length;
  const answer = await clickVia(transport, BYSTANDER, posted, `approve:${id}`);
  expect(transport.accepted(answer) && transport.answeredFirstTime(answer)).toBe(true);
  await waitFor(async () => ephemeralsFor(app, BYSTANDER).length > earlier, 5000, "an ephemeral answer");
  expect(ephemeralsFor(app, BYSTANDER)[earlier]).toMatch(/not allowed to approve/);
  expect((await getAction(app.ctx.db, id))!.status).toBe("pending");
  const events = await getActionEvents(app.ctx.db, id);
  expect(events.at(-1)).toMatchObject({ kind: "decision_refused", actor: BYSTANDER });
  // The refused attempt is threaded under the message, as every other event is.
  const line = await waitFor(
    async () =>
      app.slackApi.findMessage(posted.channel, posted.ts)?.replies.find((r) => /Refused/.test(r.text)),
    10_000,
    "the refusal in the thread",
  );
  expect(line.text).toMatch(new RegExp(`\\*Refused\\* by <@${BYSTANDER}> .* approve · not an approver`));
}

/**
 * `clicks` concurrent Approve clicks on pending action `id`, each confirmed, by two approvers: the
 * action runs once, one approval is recorded, and every other click hears who approved first.
 */
export async function expectConcurrentApprovalsRunOnce<A>(
  transport: SlackTransport<A>,
  id: number,
  clicks = 20,
) {
  const { app } = transport;
  const posted = await waitForMessage(app, id);
  const earlier = [APPROVER, GROUP_APPROVER].map((user) => ephemeralsFor(app, user).length);
  const answers = await Promise.all(
    Array.from({ length: clicks }, (_, i) =>
      clickVia(transport, i % 2 ? APPROVER : GROUP_APPROVER, posted, `approve:${id}`),
    ),
  );
  expect(answers.every((answer) => transport.accepted(answer))).toBe(true);
  await waitForStatuses(app.ctx.db, [id], ["completed"]);
  expect(await applyRuns(app, id)).toEqual([1]);
  const events = await getActionEvents(app.ctx.db, id);
  expect(events.filter((e) => e.kind === "approve")).toHaveLength(1);
  const alreadyApproved = () =>
    [APPROVER, GROUP_APPROVER]
      .flatMap((user, i) => ephemeralsFor(app, user).slice(earlier[i]))
      .filter((t) => /Already approved by/.test(t)).length;
  await waitFor(async () => alreadyApproved() >= clicks - 1, 10_000, `${clicks - 1} answers`);
  expect(alreadyApproved()).toBe(clicks - 1);
}

/** An investigation too large for a row per action in its message. */
export const LARGE_INVESTIGATION = {
  id: "inv-group",
  bodies: Array.from({ length: 30 }, (_, i) =>
    actionBody("stop_service", 500 + i, { externalId: `group-${i}`, investigationId: "inv-group" }),
  ),
};

/**
 * Approve all on the message of investigation `investigationId`, whose pending actions are `ids`
 * (too many for a row each): refused to a bystander with nothing changed, then, by an approver,
 * every action approved once and run, the same message showing them all completed.
 */
export async function expectApproveAllOnce<A>(
  transport: SlackTransport<A>,
  investigationId: string,
  ids: number[],
) {
  const { app } = transport;
  const posted = await waitFor(
    async () =>
      channelMessages(app).find(
        (m) => JSON.stringify(m.blocks).includes("approve_all:") && m.text.includes(investigationId),
      ),
    20_000,
    "the investigation's message",
  );
  const approveAll = buttonsOf(posted).find((b) => b.action_id.startsWith("approve_all:"))!;
  await clickVia(transport, BYSTANDER, posted, approveAll.action_id);
  await waitFor(
    async () => ephemeralsFor(app, BYSTANDER).some((t) => /not allowed/.test(t)),
    5000,
    "a refusal",
  );
  expect(await waitForStatuses(app.ctx.db, ids, ["pending"])).toEqual({ pending: ids.length });

  await clickVia(transport, APPROVER, posted, approveAll.action_id);
  expect(await waitForStatuses(app.ctx.db, ids, ["completed"])).toEqual({ completed: ids.length });
  await waitFor(
    async () => ephemeralsFor(app, APPROVER).some((t) => t.startsWith(`Approved ${ids.length} actions.`)),
    5000,
    "the summary",
  );
  const approvals = await app.ctx
    .sql`select count(*)::int as n from action_events where kind = 'approve' and action_id = any(${ids})`;
  expect(approvals[0]!.n).toBe(ids.length);
  // The worker ran them as a batch; the same message follows, in place, with nothing left to approve.
  const done = await waitFor(
    async () =>
      channelMessages(app).find(
        (m) => m.ts === posted.ts && new RegExp(`${ids.length} completed`).test(m.text),
      ),
    15_000,
    `the investigation's message showing all ${ids.length} completed`,
  );
  expect(JSON.stringify(done.blocks)).not.toContain("approve_all:");
}

/**
 * An outbreak: `investigations` investigations of `each` actions and `alone` actions on their own,
 * of two types, to ingest at once; posted as one message per investigation and per lone action.
 */
export function outbreak(investigations: number, each: number, alone: number) {
  const grouped = investigations * each;
  const bodies = Array.from({ length: grouped + alone }, (_, i) =>
    actionBody(i % 2 ? "quarantine_file" : "stop_service", 100 + i, {
      externalId: `burst-${i}`,
      investigationId: i < grouped ? `inv-burst-${i % investigations}` : undefined,
    }),
  );
  return { bodies, messages: investigations + alone };
}

/**
 * The pending actions `burst` of an outbreak, posted under Slack's one message a second: each is
 * on a button of one of `messages` messages, and Slack refused no blocks.
 */
export async function expectBurstReachable(app: TestApp, burst: number[], messages: number) {
  await waitFor(async () => burst.every((id) => messageFor(app, id)), 40_000, "every action in a message");
  expect(new Set(burst.map((id) => messageFor(app, id)!.ts)).size).toBe(messages);
  expect(
    app.slackApi.calls.filter((c) => (c.response as { error?: string }).error === "invalid_blocks"),
  ).toEqual([]);
}

/**
 * On the message of a standalone quarantine of the file whose hash is `sha256`: Go hunt opens a
 * modal with the hunting query for the file; Open investigation links to the action's page and
 * its click is only acked (Slack sends link buttons' clicks too), deciding nothing.
 */
export async function expectGoHuntAndOpenInvestigation<A>(
  transport: SlackTransport<A>,
  id: number,
  sha256: string,
) {
  const { app } = transport;
  const posted = await waitForMessage(app, id);
  const hunt = clickPayload(APPROVER, posted, `go_hunt:${id}`);
  const hunted = await transport.send(hunt);
  expect(transport.accepted(hunted) && transport.answeredFirstTime(hunted)).toBe(true);
  const modal = await waitFor(
    async () => app.slackApi.callsTo("views.open").find((c) => c.args.trigger_id === hunt.trigger_id),
    5000,
    "the Go hunt modal",
  );
  expect(JSON.stringify(modal.args)).toContain(sha256);

  const link = buttonsOf(posted).find((b) => b.action_id === `open_investigation:${id}`)!;
  expect(new URL(link.url!).pathname).toBe(`/actions/${id}`);
  expect((await fetch(`${app.url}/actions/${id}`)).status).toBe(200);
  const said = app.slackApi.ephemerals.length;
  const open = clickPayload(APPROVER, posted, link.action_id);
  const opened = await transport.send(open);
  expect(transport.accepted(opened) && transport.answeredFirstTime(opened)).toBe(true);
  expect(await viewOpenedBy(transport, open.trigger_id)).toBeNull();
  expect(app.slackApi.ephemerals.length).toBe(said);
  expect((await getAction(app.ctx.db, id))!.status).toBe("pending");
}
