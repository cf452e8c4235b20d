// The App Home, called as Bolt calls it on `app_home_opened` (Bolt acks events itself): the tab
// is published for the person who opened it, with what they may do and what waits.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { appHomeOpened } from "../../../src/slack/listeners/events/appHomeOpened.ts";
import { register } from "../../../src/slack/listeners/events/index.ts";
import { actionBody } from "../../support/fixtures.ts";
import { APPROVER, BYSTANDER, type Harness, homeOpened, registered, startHarness } from "./harness.ts";

let h: Harness;
let oldest: number;
beforeAll(async () => {
  h = await startHarness("listeners_events");
  const ids = await h.ingest([actionBody("stop_service", 1), actionBody("isolate_device", 2)]);
  oldest = ids[0]!;
});
afterAll(() => h?.close());
beforeEach(() => {
  vi.clearAllMocks();
});

/** The view published for `user`. */
async function openHome(user: string) {
  await appHomeOpened(h.deps)(homeOpened(h.client, user));
  expect(h.client.views.publish).toHaveBeenCalledTimes(1);
  const { user_id, view } = h.client.views.publish.mock.lastCall![0] as { user_id: string; view: unknown };
  expect(user_id).toBe(user);
  return JSON.stringify(view);
}

describe("register", () => {
  it("puts the listener on app_home_opened", () => {
    expect(registered(register, h.deps, "event")).toEqual(["app_home_opened"]);
  });
});

describe("appHomeOpened", () => {
  it("publishes an approver's Home tab with what waits for them, the oldest first", async () => {
    const view = await openHome(APPROVER);
    expect(view).toContain('"type":"home"');
    expect(view).toContain("*Waiting for your approval:* 2 actions");
    expect(view).toContain(`Oldest waiting: *#${oldest} Stop service*`);
  });

  it("tells a bystander that they are not an approver, and who is", async () => {
    const view = await openHome(BYSTANDER);
    expect(view).toContain(
      "*Waiting for your approval:* 0 — you are not an approver (2 actions wait for approvers)",
    );
    expect(view).toContain(`Approvers: <@${APPROVER}>`);
  });

  it("does nothing when another tab opens", async () => {
    await appHomeOpened(h.deps)(homeOpened(h.client, APPROVER, "messages"));
    expect(h.client.views.publish).not.toHaveBeenCalled();
  });
});
