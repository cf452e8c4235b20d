// What identifies a Slack delivery, so a redelivered envelope is recognised (slack/deliveries.ts).
import { describe, expect, it } from "vitest";
import { deliveryKey } from "../../src/slack/deliveries.ts";
import {
  appHomeOpenedEvent,
  blockActionsPayload,
  slashCommandBody,
  viewSubmissionPayload,
} from "../support/slackRequests.ts";

const click = () =>
  blockActionsPayload({
    userId: "U0A",
    actionId: "approve:1",
    value: "1",
    channelId: "C0A",
    messageTs: "1.2",
  });

describe("deliveryKey", () => {
  it("names a click, a submission and a command by their trigger_id, an event by its event_id", () => {
    const payload = click();
    expect(deliveryKey(payload)).toBe(`block_actions:${payload.trigger_id}`);
    const submission = viewSubmissionPayload({
      userId: "U0A",
      callbackId: "reject_action",
      privateMetadata: "",
      values: {},
    });
    expect(deliveryKey(submission)).toBe(`view_submission:${submission.trigger_id}`);
    const command = slashCommandBody({ userId: "U0A", text: "list", channelId: "C0A" });
    expect(deliveryKey(command)).toBe(`command:${command.trigger_id}`);
    const event = appHomeOpenedEvent("U0A");
    expect(deliveryKey(event)).toBe(`event:${event.event_id}`);
  });

  it("tells two clicks apart and recognises the same click sent again", () => {
    const first = click();
    expect(deliveryKey(first)).not.toBe(deliveryKey(click()));
    expect(deliveryKey(structuredClone(first))).toBe(deliveryKey(first));
  });

  it("falls back to the clicked action and its action_ts without a trigger_id, and to nothing without either", () => {
    const { trigger_id: _ignored, ...payload } = click();
    const action = payload.actions[0]!;
    expect(deliveryKey(payload)).toBe(`block_actions:U0A:approve:1:${action.action_ts}`);
    expect(deliveryKey({ type: "block_actions" })).toBeUndefined();
  });
});
