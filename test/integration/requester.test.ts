// Self-approval through signed clicks, in every spelling of the requester the attack run used
// (issue 21, item 5): each is refused and audited, on one action's button and on Approve all;
// a requester nobody can name in Slack needs a second approver.
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { actionEvents, actions, slackMessages } from "../../src/db/schema.ts";
import { DEMO_REQUESTERS } from "../../src/demo/feed.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  GROUP_APPROVER,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";
import { channelMessages, click, ephemeralsFor, waitForMessage } from "../support/slackUser.ts";

const ALICE = "U0ALICE001";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("requester", {
    env: { APPROVERS: `${APPROVER},${ALICE},S0SOCTEAM01` },
    slack: { users: [{ id: ALICE, name: "alice", email: "alice@example.com" }] },
  });
});
afterAll(() => app?.close());

let n = 0;
const manual = (requestedBy: string, type: "stop_service" | "quarantine_file" = "stop_service") =>
  actionBody(type, ++n, { source: "manual", requestedBy, investigationId: undefined });

async function answerTo(userId: string, act: () => Promise<unknown>): Promise<string> {
  const before = ephemeralsFor(app, userId).length;
  await act();
  return waitFor(async () => ephemeralsFor(app, userId)[before], 10_000, `an answer to ${userId}`);
}

describe("no self-approval, whatever the spelling of the requester", () => {
  it.each([
    "alice@example.com",
    ALICE,
    `<@${ALICE}>`,
    `<@${ALICE}|alice>`,
    "alice",
    "mailto:alice@example.com",
    "alice@example.com.",
    '"alice@example.com"',
    "ali\u200bce@example.com",
    "Alice@Example.COM",
  ])("%j cannot approve their own action; the refusal is audited", async (requestedBy) => {
    const [id] = await ingest(app.ctx.db, [manual(requestedBy)]);
    const posted = await waitForMessage(app, id!);
    expect(await answerTo(ALICE, () => click(app, ALICE, posted, `approve:${id}`))).toMatch(
      /You requested this action, so you cannot approve it yourself/,
    );
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    expect((await getActionEvents(app.ctx.db, id!)).at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: ALICE,
      detail: { decision: "approve", reason: "requested it themselves" },
    });
  });

  it("Approve all on a threat refuses the requester every action, each refusal audited", async () => {
    const file = sha256Of(7001);
    const bodies = [0, 1, 2].map((i) =>
      actionBody("quarantine_file", 7001 + i, {
        source: "manual",
        requestedBy: i === 0 ? `<@${ALICE}>` : "mailto:Alice@example.com.",
        externalId: `self-threat-${i}`,
        investigationId: undefined,
        device: { id: `dev-self-${i}`, name: `PC-SELF-${i}` },
        entity: { sha256: file, path: "C:\\Users\\Public\\tool.exe" },
      }),
    );
    const ids = await ingest(app.ctx.db, bodies);
    const [message] = await app.ctx.db
      .select({ id: slackMessages.id })
      .from(actions)
      .innerJoin(slackMessages, eq(slackMessages.id, actions.slackMessageId))
      .where(eq(actions.id, ids[0]!));
    const threat = await waitFor(
      async () =>
        channelMessages(app).find((m) => m.text.startsWith("Threat:") && m.text.includes("3 devices")),
      20_000,
      "the threat message",
    );
    expect(await answerTo(ALICE, () => click(app, ALICE, threat, `approve_all:${message!.id}`))).toMatch(
      /Approved 0 actions\..*You requested this action/,
    );
    const refusals = await app.ctx.db
      .select()
      .from(actionEvents)
      .where(and(inArray(actionEvents.actionId, ids), eq(actionEvents.kind, "decision_refused")));
    expect(refusals.map((e) => e.actionId).sort()).toEqual([...ids].sort());
    expect(new Set(refusals.map((e) => e.detail.reason))).toEqual(new Set(["requested it themselves"]));
    for (const id of ids) expect(await statusOf(app.ctx.db, id)).toBe("pending");
  });
});

describe("policy.unknownRequester (default: a second approver)", () => {
  it("an address nobody in Slack has counts as one approval of two; a second person approves it", async () => {
    const [id] = await ingest(app.ctx.db, [manual("dave@contractor.example")]);
    const posted = await waitForMessage(app, id!);
    await click(app, APPROVER, posted, `approve:${id}`);
    // The message counts the approvals in place.
    await waitForMessage(app, id!, (m) =>
      JSON.stringify(m.blocks).includes(`1 of 2 approvals: <@${APPROVER}>`),
    );
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    expect((await getAction(app.ctx.db, id!))!.approvalsNeeded).toBe(2);
    expect((await getActionEvents(app.ctx.db, id!)).at(-1)).toMatchObject({
      kind: "approval_recorded",
      actor: APPROVER,
      detail: { approvals: 1, needed: 2, reason: "requester unknown" },
    });
    // The same person again (another click, so another signed request) does not count; somebody else does.
    const again = () => click(app, APPROVER, posted, `approve:${id}`, { triggerId: "trigger-again" });
    expect(await answerTo(APPROVER, again)).toMatch(/already approved/);
    await click(app, GROUP_APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    expect((await getActionEvents(app.ctx.db, id!)).find((e) => e.kind === "approve")).toMatchObject({
      actor: GROUP_APPROVER,
      detail: { approvedBy: [APPROVER, GROUP_APPROVER] },
    });
  });

  it("a requester Slack can name as somebody else is approved by one person", async () => {
    const [id] = await ingest(app.ctx.db, [manual("alice@example.com")]);
    const posted = await waitForMessage(app, id!);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    expect((await getAction(app.ctx.db, id!))!.approvalsNeeded).toBe(1);
  });
});

describe("the sandbox", () => {
  let sandbox: TestApp;
  beforeAll(async () => {
    sandbox = await startTestApp("requester_sandbox", {
      sandbox: true,
      env: { SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET },
    });
  });
  afterAll(() => sandbox?.close());

  it("knows the demo's requesters, so its one person approves their manual actions alone", async () => {
    const [id] = await ingest(sandbox.ctx.db, [manual(DEMO_REQUESTERS[0]!)]);
    const posted = await waitForMessage(sandbox, id!);
    await click(sandbox, SANDBOX_USER.id, posted, `approve:${id}`);
    await waitForStatuses(sandbox.ctx.db, [id!], ["completed"]);
    expect((await getAction(sandbox.ctx.db, id!))!.approvalsNeeded).toBe(1);
  });
});
