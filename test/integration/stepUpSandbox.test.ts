// The sandbox with a policy that asks for step-up and no identity provider configured: it starts
// its own local OpenID Connect provider, so a newcomer can walk the whole sign-in on this machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { SANDBOX_USER } from "../../src/sandbox/sandboxUser.ts";
import { ingest, statusOf, waitForStatuses } from "../support/actions.ts";
import { startTestApp, TEST_CHANNEL, type TestApp, waitFor } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { httpBrowser } from "../support/httpBrowser.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { freePort, sandboxClick } from "../support/process.ts";
import { waitForMessage } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  const port = await freePort();
  app = await startTestApp("step_up_sandbox", {
    sandbox: true,
    env: {
      PORT: String(port),
      POLICY_FILE: writePolicyFile({ types: { isolate_device: { stepUp: ["approve"] } } }),
    },
  });
});
afterAll(() => app?.close());

describe("step-up in the sandbox", () => {
  it("the local provider signs you in, and the approval commits", async () => {
    expect(app.ctx.config.signIn?.provider).toBe("local");
    const [id] = await ingest(app.ctx.db, [actionBody("isolate_device", 1, { investigationId: undefined })]);
    const message = await waitForMessage(app, id!);
    // Approve, then its confirmation: the submission is what the sign-in holds.
    await sandboxClick(app.url, { channel: TEST_CHANNEL, ts: message.ts, actionId: `approve:${id}` });
    const text = await waitFor(
      async () =>
        app.slackApi.ephemerals.find((e) => e.user === SANDBOX_USER.id && e.text.includes("/sign-in/"))?.text,
      10_000,
      "the sign-in link",
    );
    const link = /<(http[^|>]+\/sign-in\/[\w-]+)\|/.exec(text)![1]!;
    expect(await statusOf(app.ctx.db, id!)).toBe("pending");
    const browser = httpBrowser();
    const login = await browser.post(link);
    expect(login.text).toContain("Sign in as You (you@sandbox.example)");
    const action = /action="([^"]+\/login)"><input type="hidden" name="account" value="sandbox-you"/.exec(
      login.text,
    )![1]!;
    const done = await browser.post(new URL(action, login.url).toString(), { account: "sandbox-you" });
    expect(done.text).toMatch(/Approved: Isolate device/);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const approve = (await getActionEvents(app.ctx.db, id!)).find((e) => e.kind === "approve");
    expect(approve?.detail).toMatchObject({ signIn: { subject: "sandbox-you", amr: ["pwd", "mfa"] } });
  });
});
