// Step-up sign-in against a real OpenID Connect provider (oidc-provider, started here): an
// Approve the policy marks risky does not commit on the click; the person gets a single-use
// link, the message shows "awaiting sign-in", and only a fresh sign-in as that Slack user
// commits it, with who signed in, when and how in the audit trail.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { timerJobId } from "../../src/jobs/queues.ts";
import {
  LOCAL_ACR,
  type LocalIdentityProvider,
  startLocalIdentityProvider,
} from "../../src/sandbox/localIdentityProvider.ts";
import { requestBulkUndo } from "../../src/services/bulkUndo.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import {
  APPROVER,
  GROUP_APPROVER,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  waitFor,
} from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { httpBrowser, type Page } from "../support/httpBrowser.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { freePort } from "../support/process.ts";
import { postToSlackEndpoint, viewSubmissionPayload } from "../support/slackRequests.ts";
import {
  buttonsOf,
  channelMessages,
  click,
  clickPayload,
  ephemeralsFor,
  viewOpenedBy,
  waitForMessage,
} from "../support/slackUser.ts";

const ACCOUNTS = [
  { sub: "idp-approver", email: "ann@example.com", name: "Ann" },
  { sub: "idp-group-approver", email: "gus@example.com", name: "Gus" },
  { sub: "idp-mallory", email: "mallory@example.com", name: "Mallory" },
  { sub: "idp-unverified", email: "ann@example.com", name: "Ann (unverified)", emailVerified: false },
];

let app: TestApp;
let provider: LocalIdentityProvider;
beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  provider = await startLocalIdentityProvider({
    accounts: ACCOUNTS,
    redirectUri: `${base}/sign-in/callback`,
  });
  const policy = writePolicyFile({
    types: { isolate_device: { stepUp: ["approve", "undo"] }, stop_process: { stepUp: ["approve"] } },
    twoPersonRule: {
      types: ["restrict_code_execution", "stop_process"],
      approvals: 2,
      stepUpLastApproval: true,
    },
  });
  app = await startTestApp("step_up", {
    env: {
      PORT: String(port),
      PUBLIC_URL: base,
      POLICY_FILE: policy,
      OIDC_ISSUER_URL: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
    },
    slack: {
      users: [
        { id: APPROVER, email: "Ann@example.com" },
        { id: GROUP_APPROVER, email: "gus@example.com" },
      ],
    },
  });
});
afterAll(async () => {
  await app?.close();
  await provider?.close();
});

const isolation = (n: number) => actionBody("isolate_device", n, { investigationId: undefined });

/** Clicks Approve (or Undo) and returns the sign-in link the person is given privately. */
async function clickForLink(actionId: number, button: string, userId = APPROVER): Promise<string> {
  const before = ephemeralsFor(app, userId).length;
  const message = await waitForMessage(app, actionId, (m) =>
    JSON.stringify(m.blocks).includes(`${button}:${actionId}`),
  );
  expect((await click(app, userId, message, `${button}:${actionId}`)).status).toBe(200);
  const text = await waitFor(
    async () =>
      ephemeralsFor(app, userId)
        .slice(before)
        .find((t) => t.includes("/sign-in/")),
    10_000,
    "the sign-in link",
  );
  return /<(http[^|>]+\/sign-in\/[A-Za-z0-9_-]+)\|/.exec(text)![1]!;
}

/** Uses the link in a fresh browser and lands on the provider's login page. */
async function startSignIn(link: string) {
  const browser = httpBrowser();
  const page = await browser.get(link);
  expect(page.status).toBe(200);
  expect(page.text).toMatch(/Sign in to (approve|undo)/);
  // Sent to the provider for a fresh sign-in: code flow with PKCE, state, nonce, prompt and max_age.
  const authorize = new URL((await browser.post(link, {}, { stopAt: provider.issuer })).url);
  expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
    response_type: "code",
    code_challenge_method: "S256",
    prompt: "login",
    max_age: "300",
    redirect_uri: `${app.env.PUBLIC_URL}/sign-in/callback`,
  });
  for (const name of ["state", "nonce", "code_challenge"])
    expect(authorize.searchParams.get(name)).toMatch(/^[\w-]{43}$/);
  const login = await browser.get(String(authorize));
  expect(login.url.startsWith(provider.issuer)).toBe(true);
  expect(login.text).toMatch(/Local sign-in/);
  return { browser, login };
}

async function signInAs(browser: ReturnType<typeof httpBrowser>, login: Page, sub: string): Promise<Page> {
  const action = new RegExp(`action="([^"]+/login)"><input type="hidden" name="account" value="${sub}"`).exec(
    login.text,
  );
  return browser.post(new URL(action![1]!, login.url).toString(), { account: sub });
}

const events = async (id: number) => getActionEvents(app.ctx.db, id);
/** The delayed job that ends the newest step-up of action `id`, once dispatched. */
async function signInTimer(id: number) {
  const [row] = await app.ctx.db.execute<{ id: string }>(
    sql`select id from step_ups where action_id = ${id} order by id desc limit 1`,
  );
  const jobId = timerJobId({ actionId: id, kind: "sign_in_expiry", stepUpId: Number(row!.id) });
  return waitFor(async () => app.ctx.queues.timers.getJob(jobId), 10_000, `timer ${jobId}`);
}
const stepUpStatus = async (id: number) =>
  (
    await app.ctx.db.execute<{ status: string }>(
      sql`select status from step_ups where action_id = ${id} order by id desc limit 1`,
    )
  )[0]?.status;

describe("step-up sign-in", () => {
  it("Approve waits for the sign-in (message: awaiting sign-in), which commits it and audits sub, auth_time, amr and acr", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(1)]);
    const link = await clickForLink(id!, "approve");
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    const awaiting = await waitForMessage(app, id!, (m) =>
      JSON.stringify(m.blocks).includes("awaiting sign-in"),
    );
    expect(JSON.stringify(awaiting.blocks)).toContain(`awaiting sign-in by <@${APPROVER}>`);
    expect((await events(id!)).at(-1)).toMatchObject({ kind: "step_up_requested", actor: APPROVER });

    const { browser, login } = await startSignIn(link);
    // The provider was asked for a fresh sign-in.
    const started = new Date();
    const done = await signInAs(browser, login, "idp-approver");
    expect(done.status).toBe(200);
    expect(done.text).toMatch(/Approved: Isolate device/);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const approve = (await events(id!)).find((e) => e.kind === "approve")!;
    expect(approve.actor).toBe(APPROVER);
    const signIn = (approve.detail as { signIn: Record<string, unknown> }).signIn;
    expect(signIn).toMatchObject({
      issuer: provider.issuer,
      subject: "idp-approver",
      amr: ["pwd", "mfa"],
      acr: LOCAL_ACR,
      matchedBy: "email",
    });
    expect(Math.abs(new Date(String(signIn.authTime)).getTime() - started.getTime())).toBeLessThan(10_000);
    expect(await stepUpStatus(id!)).toBe("committed");
    // The message no longer waits on anyone.
    await waitForMessage(
      app,
      id!,
      (m) =>
        !JSON.stringify(m.blocks).includes("awaiting sign-in") &&
        JSON.stringify(m.blocks).includes(`undo:${id}`),
    );

    // The link worked once: a second use is refused, and audited.
    const again = await httpBrowser().post(link);
    expect(again.status).toBe(410);
    expect(again.text).toMatch(/used already/);
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_refused",
      detail: { reason: "the link had been used already" },
    });

    // Undo is marked too: it is held the same way, and the fresh sign-in commits it.
    const undoLink = await clickForLink(id!, "undo");
    expect(await statusOf(app.ctx.db, id!)).toBe("completed");
    const undo = await startSignIn(undoLink);
    expect((await signInAs(undo.browser, undo.login, "idp-approver")).text).toMatch(/Undo requested/);
    await waitForStatuses(app.ctx.db, [id!], ["undone"]);
  });

  it("a sign-in as somebody else, or with an address the provider does not vouch for, is refused, audited, and commits nothing", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(2)]);
    const mallory = await startSignIn(await clickForLink(id!, "approve"));
    const refused = await signInAs(mallory.browser, mallory.login, "idp-mallory");
    expect(refused.status).toBe(403);
    expect(refused.text).toMatch(/somebody other than the Slack user/);
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_refused",
      actor: APPROVER,
      detail: {
        reason: "signed in as mallory@example.com, not the Slack user's ann@example.com",
        signIn: { subject: "idp-mallory" },
      },
    });
    expect(await stepUpStatus(id!)).toBe("refused");

    const unverified = await startSignIn(await clickForLink(id!, "approve"));
    expect((await signInAs(unverified.browser, unverified.login, "idp-unverified")).status).toBe(403);
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_refused",
      detail: { reason: "the identity provider gave no verified email address" },
    });
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    expect((await events(id!)).some((e) => e.kind === "approve")).toBe(false);
  });

  it("an expired link is refused and audited; a cancelled sign-in commits nothing", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(3)]);
    const expiring = await clickForLink(id!, "approve");
    // The link's ten minutes, passed.
    await app.ctx.db.execute(
      sql`update step_ups set expires_at = now() - interval '1 second' where action_id = ${id}`,
    );
    const expired = await httpBrowser().get(expiring);
    expect(expired.status).toBe(410);
    expect(expired.text).toMatch(/expired/);
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_refused",
      detail: { reason: "the link had expired" },
    });
    expect(await stepUpStatus(id!)).toBe("expired");
    expect((await httpBrowser().post(expiring)).status).toBe(410);

    const { browser, login } = await startSignIn(await clickForLink(id!, "approve"));
    const cancel = /action="([^"]+\/abort)"/.exec(login.text)![1]!;
    const cancelled = await browser.post(new URL(cancel, login.url).toString());
    expect(cancelled.text).toMatch(/cancelled; nothing was done/);
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_cancelled",
      detail: { error: "access_denied" },
    });
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    await waitForMessage(app, id!, (m) => !JSON.stringify(m.blocks).includes("awaiting sign-in"));
  });

  it("at a link's end the message stops awaiting the sign-in, audited once; a sign-in started has until its own end", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(30)]);
    const link = await clickForLink(id!, "approve");
    await waitForMessage(app, id!, (m) => JSON.stringify(m.blocks).includes("awaiting sign-in"));
    const timer = await signInTimer(id!);
    // Its ten minutes, passed: the timer comes due.
    await app.ctx.db.execute(
      sql`update step_ups set expires_at = now() - interval '1 second' where action_id = ${id}`,
    );
    await timer.promote();
    await waitForMessage(app, id!, (m) => !JSON.stringify(m.blocks).includes("awaiting sign-in"));
    expect(await stepUpStatus(id!)).toBe("expired");
    expect((await events(id!)).filter((e) => e.kind.startsWith("step_up_")).map((e) => e.kind)).toEqual([
      "step_up_requested",
      "step_up_expired",
    ]);
    expect((await events(id!)).at(-1)).toMatchObject({
      actor: APPROVER,
      detail: { reason: "the link was not used in time" },
    });
    const late = await httpBrowser().get(link);
    expect(late.status).toBe(410);
    expect(late.text).toMatch(/expired/);

    // A link used in time: its sign-in has a while longer, and the timer waits for that.
    const { browser, login } = await startSignIn(await clickForLink(id!, "approve"));
    const started = await signInTimer(id!);
    await started.promote();
    await waitFor(async () => (await started.getState()) === "delayed" || undefined, 10_000, "waiting again");
    expect(await stepUpStatus(id!)).toBe("signing_in");
    await app.ctx.db.execute(
      sql`update step_ups set expires_at = now() - interval '1 second' where action_id = ${id} and status = 'signing_in'`,
    );
    await started.promote();
    await waitFor(
      async () => (await stepUpStatus(id!)) === "expired" || undefined,
      10_000,
      "the sign-in's end",
    );
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "step_up_expired",
      detail: { reason: "the sign-in took too long" },
    });
    // The provider's answer after that end commits nothing, and says why.
    const answered = await signInAs(browser, login, "idp-approver");
    expect(answered.text).toMatch(/took too long; nothing was done/);
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
  });

  it("the provider's answer counts only in the browser that started the sign-in", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(4)]);
    const { browser, login } = await startSignIn(await clickForLink(id!, "approve"));
    const action = /action="([^"]+\/login)"><input type="hidden" name="account" value="idp-approver"/.exec(
      login.text,
    )![1]!;
    // The provider's side in the browser that started it; our callback opened in another.
    const answered = await browser.post(
      new URL(action, login.url).toString(),
      { account: "idp-approver" },
      {
        stopAt: `${app.env.PUBLIC_URL}/sign-in/callback`,
      },
    );
    expect(answered.url).toMatch(/[?&]code=/);
    const page = await httpBrowser().get(answered.url);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/another browser/);
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
  });

  it("the two-person rule's last approval needs the sign-in; the first does not", async () => {
    const [id] = await ingest(
      app.ctx.db,
      [actionBody("restrict_code_execution", 5, { investigationId: undefined })],
      app.ctx.config.policy,
    );
    const message = await waitForMessage(app, id!);
    await click(app, GROUP_APPROVER, message, `approve:${id}`);
    await waitFor(
      async () => (await events(id!)).some((e) => e.kind === "approval_recorded"),
      10_000,
      "the first approval",
    );
    const link = await clickForLink(id!, "approve");
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    const { browser, login } = await startSignIn(link);
    await signInAs(browser, login, "idp-approver");
    await waitForStatuses(app.ctx.db, [id!], ["approved", "running", "completed"]);
    const approve = (await events(id!)).find((e) => e.kind === "approve")!;
    expect(approve.detail).toMatchObject({
      approvedBy: [GROUP_APPROVER, APPROVER],
      signIn: { subject: "idp-approver" },
    });
  });

  it("where every approval needs the sign-in, a first one signed in is counted, and the action waits for more", async () => {
    const [id] = await ingest(
      app.ctx.db,
      [actionBody("stop_process", 6, { investigationId: undefined })],
      app.ctx.config.policy,
    );
    const { browser, login } = await startSignIn(await clickForLink(id!, "approve"));
    expect((await signInAs(browser, login, "idp-approver")).text).toMatch(/Approval recorded \(1 of 2\)/);
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    expect((await events(id!)).at(-1)).toMatchObject({
      kind: "approval_recorded",
      actor: APPROVER,
      detail: { signIn: { subject: "idp-approver" } },
    });
  });

  it("Approve all and bulk undo never commit what needs a sign-in: those actions are skipped and the person told", async () => {
    const ids = await ingest(app.ctx.db, [
      // Enough for a summary with "Approve all" rather than a row per action.
      ...Array.from({ length: 29 }, (_, i) =>
        actionBody("isolate_device", 700 + i, { externalId: `iso-${i}`, investigationId: "inv-step-up" }),
      ),
      actionBody("stop_service", 720, { externalId: "svc-1", investigationId: "inv-step-up" }),
    ]);
    const service = ids.at(-1)!;
    const posted = await waitFor(
      async () =>
        channelMessages(app).find(
          (m) => JSON.stringify(m.blocks).includes("approve_all:") && m.text.includes("inv-step-up"),
        ),
      20_000,
      "the investigation's message",
    );
    const approveAll = buttonsOf(posted).find((b) => b.action_id.startsWith("approve_all:"))!;
    await click(app, APPROVER, posted, approveAll.action_id);
    const summary = await waitFor(
      async () => ephemeralsFor(app, APPROVER).find((t) => t.startsWith("Approved 1 action.")),
      10_000,
      "the summary",
    );
    expect(summary).toContain("29 need a fresh sign-in first");
    await waitForStatuses(app.ctx.db, [service], ["completed"]);
    expect(await waitForStatuses(app.ctx.db, ids.slice(0, -1), ["pending"])).toEqual({ pending: 29 });

    const [done] = await ingest(app.ctx.db, [
      actionBody("isolate_device", 730, { status: "completed", investigationId: undefined }),
    ]);
    const undo = await requestBulkUndo(app.ctx.db, {
      actionIds: [done!],
      actor: APPROVER,
      policy: app.ctx.config.policy,
    });
    expect(undo).toMatchObject({
      ok: true,
      undone: [],
      skipped: [{ actionId: done, message: expect.stringMatching(/fresh sign-in/) }],
    });
    expect(await statusOf(app.ctx.db, done!)).toBe("completed");
  });

  it("Slack's retry of a held Approve's confirmation gives no second link", async () => {
    const [id] = await ingest(app.ctx.db, [isolation(8)]);
    const message = await waitForMessage(app, id!);
    const approve = clickPayload(APPROVER, message, `approve:${id}`);
    await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, { kind: "interactive", body: approve });
    const view = await viewOpenedBy(app, approve.trigger_id);
    const request = {
      kind: "interactive" as const,
      timestamp: Math.floor(Date.now() / 1000),
      body: viewSubmissionPayload({
        userId: APPROVER,
        callbackId: view!.callback_id,
        privateMetadata: view!.private_metadata,
        values: {},
      }),
    };
    expect((await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, request)).status).toBe(200);
    await waitFor(
      async () => (await events(id!)).some((e) => e.kind === "step_up_requested"),
      10_000,
      "the hold",
    );
    const retried = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      ...request,
      headers: { "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout" },
    });
    expect(retried.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    const held = await app.ctx.db.execute<{ n: number }>(
      sql`select count(*)::int as n from step_ups where action_id = ${id}`,
    );
    expect(held[0]!.n).toBe(1);
    expect((await events(id!)).filter((e) => e.kind === "step_up_requested")).toHaveLength(1);
  });
});
