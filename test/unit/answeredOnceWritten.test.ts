// Which Slack requests the endpoint answers with an empty 200 as soon as they are written to the
// inbox (then handles once the burst is over), and which wait for their listener's ack.
import { expect, it } from "vitest";
import {
  APPROVE_ALL_CALLBACK_ID,
  BULK_UNDO_CALLBACK_ID,
  DECISION_CALLBACK_ID,
  REJECT_ALL_CALLBACK_ID,
  REJECT_CALLBACK_ID,
} from "../../src/slack/actionIds.ts";
import { answeredOnceWritten } from "../../src/slack/endpoint.ts";

const submission = (callbackId: string) => ({
  kind: "view_submission",
  payload: { type: "view_submission", view: { callback_id: callbackId, private_metadata: "{}" } },
});

it("answers clicks and the decisions' confirmations at once: their listeners ack with nothing", () => {
  expect(answeredOnceWritten({ kind: "block_actions", payload: { type: "block_actions" } })).toBe(true);
  expect(answeredOnceWritten(submission(DECISION_CALLBACK_ID))).toBe(true);
  expect(answeredOnceWritten(submission(APPROVE_ALL_CALLBACK_ID))).toBe(true);
});

it("leaves to their listener the modals whose ack can carry errors or a new view, and commands", () => {
  for (const callbackId of [REJECT_CALLBACK_ID, REJECT_ALL_CALLBACK_ID, BULK_UNDO_CALLBACK_ID, "not_ours"])
    expect(answeredOnceWritten(submission(callbackId)), callbackId).toBe(false);
  expect(answeredOnceWritten({ kind: "view_submission", payload: { type: "view_submission" } })).toBe(false);
  expect(answeredOnceWritten({ kind: "command", payload: { command: "/action-center" } })).toBe(false);
  expect(answeredOnceWritten({ kind: "view_closed", payload: { type: "view_closed" } })).toBe(false);
});
