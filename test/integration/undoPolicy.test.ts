// The policy's per-type approvers apply to undo from the slash command too: a general approver
// may undo a service stop but not a device isolation that only tier 2 may decide.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getActionEvents } from "../../src/db/queries/actions.ts";
import { ingest } from "../support/actions.ts";
import { APPROVER, startTestApp, type TestApp, waitFor } from "../support/app.ts";
import { runCommand, sendCommand } from "../support/commands.ts";
import { actionBody } from "../support/fixtures.ts";
import { writePolicyFile } from "../support/policyFile.ts";
import { type ResponseUrlCatcher, startResponseUrlCatcher } from "../support/slackRequests.ts";

const TIER2_GROUP = "S0TIER2GRP1";
const TIER2 = "U0TIER2USER";

let app: TestApp;
let catcher: ResponseUrlCatcher;
beforeAll(async () => {
  const policy = writePolicyFile({ types: { isolate_device: { approvers: [TIER2_GROUP] } } });
  app = await startTestApp("undo_policy", {
    env: { POLICY_FILE: policy, APPROVERS: `${APPROVER},${TIER2_GROUP}` },
    slack: { userGroups: { [TIER2_GROUP]: [TIER2] } },
  });
  catcher = await startResponseUrlCatcher();
});
afterAll(async () => {
  await catcher?.close();
  await app?.close();
});

describe("undo and per-type approvers", () => {
  it("refuses a general approver the undo of an isolation, audits it, and lets tier 2 open it", async () => {
    const [isolation, service] = await ingest(app.ctx.db, [
      actionBody("isolate_device", 1, { status: "completed" }),
      actionBody("stop_service", 2, { status: "completed" }),
    ]);
    const refused = await runCommand(app, catcher, APPROVER, `undo ${isolation}`);
    expect(refused.text).toMatch(/not allowed to undo/);
    expect((await getActionEvents(app.ctx.db, isolation!)).at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: APPROVER,
    });
    // Allowed: the bulk-undo confirmation opens (a modal), for the service and, for tier 2, the isolation.
    const opened = () => app.slackApi.callsTo("views.open").filter((c) => c.status === 200).length;
    await sendCommand(app, catcher, APPROVER, `undo ${service}`);
    await waitFor(async () => opened() === 1, 10_000, "the confirmation for the service");
    await sendCommand(app, catcher, TIER2, `undo ${isolation}`);
    await waitFor(async () => opened() === 2, 10_000, "the confirmation for tier 2");
  });
});
