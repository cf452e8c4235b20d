// The Defender connector end to end: the real app (Postgres, Redis, workers, the Slack loop against
// the fake Slack) reads a local stand-in for Defender for Endpoint — alerts with evidence,
// automated investigations, machine actions — and everything it finds goes through Slack.
import { and, eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction, getActionEvents } from "../../src/db/queries/actions.ts";
import { actions } from "../../src/db/schema.ts";
import { decide } from "../../src/services/decide.ts";
import { BULK_UNDO_CALLBACK_ID } from "../../src/slack/actionIds.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, TEST_SIGNING_SECRET, type TestApp, waitFor } from "../support/app.ts";
import { checked, clickInAnswer, openedModal, rowIds, runCommand } from "../support/commands.ts";
import {
  defenderEnv,
  type FakeAlert,
  type FakeDefender,
  startFakeDefender,
} from "../support/fakeDefender.ts";
import { sha1Of, sha256Of } from "../support/fixtures.ts";
import {
  appHomeOpenedEvent,
  postToSlackEndpoint,
  type ResponseUrlCatcher,
  startResponseUrlCatcher,
} from "../support/slackRequests.ts";
import { buttonsOf, channelMessages, click, submitView, waitForMessage } from "../support/slackUser.ts";

/** The connector reads often and pages small in these tests; its share is far above what they use. */
const CONNECTOR_ENV = {
  DEFENDER_CONNECTOR: "on",
  DEFENDER_CONNECTOR_POLL_INTERVAL_MS: "100",
  DEFENDER_CONNECTOR_PAGE_SIZE: "3",
  DEFENDER_CONNECTOR_LEASE_MS: "2000",
  DEFENDER_CONNECTOR_CALLS_PER_MINUTE: "50000",
  DEFENDER_CONNECTOR_CALLS_PER_HOUR: "500000",
};

let fake: FakeDefender;
let app: TestApp;
let catcher: ResponseUrlCatcher;

beforeAll(async () => {
  fake = await startFakeDefender();
  catcher = await startResponseUrlCatcher();
  app = await startTestApp("connector", { env: defenderEnv(fake, CONNECTOR_ENV) });
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
  await catcher?.close();
});

let sequence = 0;
function machine(): { id: string; name: string } {
  sequence += 1;
  const device = { id: sha1Of(90_000 + sequence), name: `desktop-${sequence}` };
  fake.addMachine(device.id, device.name);
  return device;
}

/** The actions the connector stored for an alert, oldest first. */
async function actionsOf(alert: FakeAlert) {
  return app.ctx.db
    .select()
    .from(actions)
    .where(like(actions.externalId, `${alert.id}/%`))
    .orderBy(actions.id);
}

const fileEvidence = (n: number, detectionStatus = "Detected") =>
  fake.evidence("File", {
    sha1: sha1Of(n),
    sha256: sha256Of(n),
    fileName: `payload-${n}.dll`,
    filePath: "c:\\temp",
    detectionStatus,
  });

/** The next rounds of the connector: each reads the alerts, so two more alert reads mean one full round. */
async function roundsPass(count: number) {
  const seen = fake.callsTo("GET", /^\/api\/alerts$/).length;
  await waitFor(
    async () =>
      fake.callsTo("GET", /^\/api\/machineactions$/).length > 0 &&
      fake.callsTo("GET", /^\/api\/alerts$/).length >= seen + count,
    15_000,
    `${count} rounds of the connector`,
  );
}

describe("connector.alerts", () => {
  it("a High alert with a detected file becomes one message of pending actions, approved in Slack and run through Defender", async () => {
    const device = machine();
    const alert = fake.addAlert(device.id, {
      severity: "High",
      title: "Suspicious 'Meterpreter' behavior was detected",
      evidence: [
        fake.evidence("User", { accountName: "temp123" }),
        fileEvidence(1),
        // Already blocked on the device: nothing to quarantine.
        fileEvidence(2, "Blocked"),
      ],
    });
    const stored = await waitFor(async () => {
      const rows = await actionsOf(alert);
      return rows.length === 2 ? rows : undefined;
    });
    expect(stored.map((a) => [a.type, a.status, a.source])).toEqual([
      ["quarantine_file", "pending", "defender_alert"],
      ["isolate_device", "pending", "defender_alert"],
    ]);
    const [quarantine, isolation] = stored;
    expect(quarantine!.entity).toEqual({
      sha256: sha256Of(1),
      sha1: sha1Of(1),
      path: "c:\\temp\\payload-1.dll",
    });
    expect(quarantine!).toMatchObject({
      deviceId: device.id,
      deviceName: device.name,
      incidentId: String(alert.incidentId),
      investigationId: `incident-${alert.incidentId}`,
    });
    // One message for the incident, linking the alert in the portal.
    expect(quarantine!.slackMessageId).toBe(isolation!.slackMessageId);
    const posted = await waitForMessage(app, quarantine!.id);
    const blocks = JSON.stringify(posted.blocks);
    expect(blocks).toContain(`https://security.microsoft.com/alerts/${alert.id}|Suspicious`);
    expect(blocks).toContain(
      `https://security.microsoft.com/incidents/${alert.incidentId}|incident ${alert.incidentId}`,
    );
    expect(buttonsOf(posted).map((b) => b.action_id)).toEqual(
      expect.arrayContaining([`approve:${quarantine!.id}`, `approve:${isolation!.id}`]),
    );

    await click(app, APPROVER, posted, `approve:${quarantine!.id}`);
    await waitForStatuses(app.ctx.db, [quarantine!.id], ["completed"]);
    const submitted = fake.callsTo("POST", /\/StopAndQuarantineFile$/);
    expect(submitted.map((c) => [c.path, (c.body as { Sha1: string }).Sha1])).toEqual([
      [`/api/machines/${device.id}/StopAndQuarantineFile`, sha1Of(1)],
    ]);
    // Read again in later rounds, the alert proposes nothing new, and our own machine action is not history.
    await roundsPass(2);
    expect(await actionsOf(alert)).toHaveLength(2);
    const [{ n }] = (await app.ctx
      .sql`select count(*)::int as n from actions where source = 'defender_machine_action'
      and device_id = ${device.id}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    expect((await getActionEvents(app.ctx.db, quarantine!.id)).map((e) => [e.kind, e.actor])).toEqual([
      ["received", "defender-connector"],
      ["approve", APPROVER],
      ["start", "system"],
      ["complete", "system"],
    ]);
  });

  it("an alert resolved in Defender before anyone decides updates its pending actions' message", async () => {
    const device = machine();
    const alert = fake.addAlert(device.id, { severity: "High", title: "Ransomware behavior detected" });
    const [isolation] = await waitFor(async () => {
      const rows = await actionsOf(alert);
      return rows.length === 1 ? rows : undefined;
    });
    const posted = await waitForMessage(app, isolation!.id);
    expect(JSON.stringify(posted.blocks)).not.toContain("resolved in Defender");

    fake.updateAlert(alert.id, {
      status: "Resolved",
      assignedTo: "secop123@contoso.com",
      classification: "FalsePositive",
      determination: "Clean",
      resolvedTime: new Date().toISOString(),
    });
    const updated = await waitForMessage(app, isolation!.id, (m) =>
      JSON.stringify(m.blocks).includes("resolved in Defender"),
    );
    expect(updated.ts).toBe(posted.ts);
    expect(JSON.stringify(updated.blocks)).toContain(
      "was *resolved in Defender by secop123@contoso.com (FalsePositive, Clean)*",
    );
    expect(updated.text).toContain("(alert resolved in Defender by secop123@contoso.com");
    // The policy does not expire it: a person still decides, and can.
    expect((await getAction(app.ctx.db, isolation!.id))!.status).toBe("pending");
    expect(buttonsOf(updated).map((b) => b.action_id)).toContain(`approve:${isolation!.id}`);
    await waitFor(
      async () => updated.replies.some((r) => r.text.includes("Alert resolved in Defender")),
      10_000,
      "the thread line",
    );
    // Told once, however often the resolved alert is read again.
    await roundsPass(2);
    const told = (await getActionEvents(app.ctx.db, isolation!.id)).filter(
      (e) => e.kind === "resolved_in_defender",
    );
    expect(told.map((e) => e.actor)).toEqual(["secop123@contoso.com"]);
  });
});

describe("connector.investigations", () => {
  it("an investigation waiting for approval is announced once with its deep link, and updated when it completes", async () => {
    const device = machine();
    const alert = fake.addAlert(device.id, { severity: "Low", title: "Suspicious PowerShell command line" });
    const investigation = fake.addInvestigation(alert, "PendingApproval");
    const isNotice = (text: string) => text.includes(`automated investigation ${investigation.id} on`);
    const posted = await waitFor(
      async () => channelMessages(app).find((m) => isNotice(m.text)),
      20_000,
      "the announcement",
    );
    const blocks = JSON.stringify(posted.blocks);
    expect(posted.text).toBe(
      `Waiting for approval in the Defender portal: automated investigation ${investigation.id} on ${device.name} (decide it in the Defender Action center)`,
    );
    expect(blocks).toContain("https://security.microsoft.com/action-center/pending|Open the pending actions");
    expect(blocks).toContain(
      `https://security.microsoft.com/alerts/${alert.id}|Suspicious PowerShell command line`,
    );
    expect(blocks).toContain(`https://security.microsoft.com/machines/${device.id}|${device.name}`);
    expect(blocks).toContain("Microsoft offers no API to approve or reject these actions");
    const deadline = Math.floor((Date.parse(investigation.startTime) + 7 * 24 * 3600_000) / 1000);
    expect(blocks).toContain(`<!date^${deadline}^{date_short_pretty} {time} ({ago})|`);
    expect(buttonsOf(posted)).toEqual([]);

    await roundsPass(2);
    const posts = () =>
      app.slackApi.callsTo("chat.postMessage").filter((c) => isNotice(String(c.args.text ?? "")));
    expect(posts()).toHaveLength(1);

    fake.setInvestigationState(investigation.id, "SuccessfullyRemediated", {
      endTime: new Date().toISOString(),
    });
    const updated = await waitFor(
      async () =>
        channelMessages(app).find((m) => m.ts === posted.ts && m.text.includes("successfully remediated")),
      20_000,
      "the update",
    );
    expect(updated.text).toBe(
      `Defender automated investigation ${investigation.id} on ${device.name} is now successfully remediated`,
    );
    expect(JSON.stringify(updated.blocks)).toContain("no longer waits for approval");
    expect(posts()).toHaveLength(1);
  });
});

describe("connector.history", () => {
  it("an isolation done in the portal shows in /action-center history and is released from Slack", async () => {
    const device = machine();
    const portal = fake.portalMachineAction(device.id, "Isolate", {
      requestor: "analyst@contoso.com",
      requestorComment: "Isolated while we look at the beacon",
      scope: "Full",
      status: "Succeeded",
    });
    const recorded = await waitFor(async () => {
      const [row] = await app.ctx.db
        .select()
        .from(actions)
        .where(and(eq(actions.source, "defender_machine_action"), eq(actions.externalId, portal.id)));
      return row;
    });
    expect(recorded).toMatchObject({
      type: "isolate_device",
      status: "completed",
      deviceId: device.id,
      requestedBy: "analyst@contoso.com",
      decidedBy: "analyst@contoso.com",
      comment: "Isolated while we look at the beacon",
      slackMessageId: null,
    });

    const page = await runCommand(app, catcher, APPROVER, "history source:defender_machine_action");
    expect(rowIds(page)).toContain(recorded.id);
    const row = JSON.stringify(page.blocks.find((b) => b.text?.text.startsWith(`*#${recorded.id} `)));
    expect(row).toContain("Taken in Defender");
    expect(row).toContain("analyst@contoso.com");

    const opened = app.slackApi.callsTo("views.open").length;
    await clickInAnswer(app, catcher, APPROVER, page, `confirm_undo:${recorded.id}`);
    const modal = await openedModal(app, opened);
    const res = await submitView(
      app,
      APPROVER,
      BULK_UNDO_CALLBACK_ID,
      modal.private_metadata,
      checked(modal, () => true),
    );
    expect(res.status).toBe(200);
    await waitForStatuses(app.ctx.db, [recorded.id], ["undone"]);
    const released = fake.callsTo("POST", new RegExp(`/api/machines/${device.id}/unisolate$`));
    expect(released).toHaveLength(1);
    // The marker carries this installation's id (docs/DEFENDER.md).
    expect((released[0]!.body as { Comment: string }).Comment).toMatch(
      new RegExp(`Action Center for Slack #${recorded.id}@[0-9a-f]{16}, undo attempt 1`),
    );
    // Our own release is recognised when the connector reads it back: not recorded, not a reversal.
    await roundsPass(2);
    const [{ n }] = (await app.ctx.sql`select count(*)::int as n from actions
      where source = 'defender_machine_action' and device_id = ${device.id}`) as unknown as [{ n: number }];
    expect(n).toBe(1);
    expect((await getActionEvents(app.ctx.db, recorded.id)).map((e) => e.kind)).toEqual([
      "recorded_completed",
      "request_undo",
      "start_undo",
      "finish_undo",
    ]);
    // The Home tab lists it among what was done in Defender.
    const published = app.slackApi.callsTo("views.publish").length;
    await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
      kind: "event",
      body: appHomeOpenedEvent(APPROVER),
    });
    const home = await waitFor(
      async () => app.slackApi.callsTo("views.publish")[published],
      10_000,
      "the Home tab",
    );
    const view = JSON.stringify(home.args.view);
    expect(view).toContain("Done in Defender lately");
    expect(view).toContain(`*#${recorded.id} Isolate device* on ${device.name} · by analyst@contoso.com`);
  });

  it("a quarantine, a failed restriction and a release done elsewhere are recorded as they ended", async () => {
    const device = machine();
    fake.files.set(sha1Of(3), { sha1: sha1Of(3), sha256: sha256Of(3) });
    const quarantine = fake.portalMachineAction(device.id, "StopAndQuarantineFile", {
      requestor: "Automation",
      status: "Succeeded",
      relatedFileInfo: { fileIdentifier: sha1Of(3), fileIdentifierType: "Sha1" },
    });
    const restriction = fake.portalMachineAction(device.id, "RestrictCodeExecution", {
      requestor: "bob@contoso.com",
      status: "Cancelled",
      cancellationRequestor: "carol@contoso.com",
      cancellationComment: "Wrong device",
    });
    const running = fake.portalMachineAction(device.id, "Isolate", { requestor: "bob@contoso.com" });
    const byId = async (id: string) =>
      (await app.ctx.db.select().from(actions).where(eq(actions.externalId, id)))[0];
    await waitFor(async () => (await byId(quarantine.id)) && (await byId(restriction.id)));
    expect(await byId(quarantine.id)).toMatchObject({
      type: "quarantine_file",
      status: "completed",
      entity: { sha256: sha256Of(3), sha1: sha1Of(3) },
    });
    expect((await byId(restriction.id))!.error).toBe(
      `Defender's RestrictCodeExecution action ${restriction.id} on ${device.name} ended Cancelled by carol@contoso.com: Wrong device`,
    );
    expect((await byId(restriction.id))!.status).toBe("failed");
    // Still running in Defender: not history yet, and read again until it ends.
    await roundsPass(2);
    expect(await byId(running.id)).toBeUndefined();
    // Read again with it, the recorded quarantine asks for its file's SHA-256 no more.
    expect(fake.callsTo("GET", new RegExp(`^/api/files/${sha1Of(3)}$`))).toHaveLength(1);
    // Undo restores the file through the live response script, by its hashes.
    const recordedQuarantine = (await byId(quarantine.id))!;
    await decide(app.ctx.db, { actionId: recordedQuarantine.id, decision: "request_undo", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [recordedQuarantine.id], ["undone"]);
    const restore = fake.callsTo("POST", new RegExp(`/api/machines/${device.id}/runliveresponse$`));
    expect(JSON.stringify(restore.map((c) => c.body))).toContain(
      `-Sha256 '${sha256Of(3)}' -Sha1 '${sha1Of(3)}' -ActionId ${recordedQuarantine.id}`,
    );
    Object.assign(running, { status: "Succeeded", lastUpdateDateTimeUtc: new Date().toISOString() });
    const isolation = await waitFor(() => byId(running.id));
    expect(isolation.status).toBe("completed");

    fake.portalMachineAction(device.id, "Unisolate", { requestor: "bob@contoso.com", status: "Succeeded" });
    await waitFor(async () =>
      (await getActionEvents(app.ctx.db, isolation.id)).find((e) => e.kind === "reversed_in_defender"),
    );
    expect((await getAction(app.ctx.db, isolation.id))!.status).toBe("completed");
  });
});

describe("connector.limits", () => {
  it("a 429 storm slows the connector down as Retry-After says, and the worker's submissions go on", async () => {
    await roundsPass(1);
    const stormStart = Date.now();
    fake.throttle(3, 1, /^\/api\/alerts$/);
    const device = machine();
    const during = fake.addAlert(device.id, { severity: "High", title: "Arrives during the storm" });
    // The worker meanwhile isolates another device, at once.
    const other = machine();
    const [id] = await ingest(app.ctx.db, [
      { externalId: `storm-${other.id}`, source: "manual", type: "isolate_device", device: other },
    ]);
    const posted = await waitForMessage(app, id!);
    await click(app, APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const workerDone = Date.now();

    const [proposal] = await waitFor(async () => {
      const rows = await actionsOf(during);
      return rows.length === 1 ? rows : undefined;
    }, 30_000);
    // From the first throttled call: a call of the round before may land just after stormStart.
    const since = fake.calls.filter((c) => c.path === "/api/alerts" && c.at >= stormStart);
    const storm = since.slice(since.findIndex((c) => c.status === 429));
    const throttled = storm.filter((c) => c.status === 429);
    expect(throttled).toHaveLength(3);
    // Each wait at least Retry-After (1 s), growing while the storm lasts: 1 s, 2 s, 4 s.
    const gaps = storm.slice(1, 4).map((call, i) => call.at - storm[i]!.at);
    expect(gaps[0]!).toBeGreaterThanOrEqual(990);
    expect(gaps[1]!).toBeGreaterThanOrEqual(1990);
    expect(gaps[2]!).toBeGreaterThanOrEqual(3990);
    // The worker was done while the connector still waited out the storm.
    expect(workerDone).toBeLessThan(storm[3]!.at);
    expect(proposal!.type).toBe("isolate_device");
    expect(
      fake.callsTo("POST", new RegExp(`/api/machines/${other.id}/isolate$`)).map((c) => c.status),
    ).toEqual([201]);
  });
});
