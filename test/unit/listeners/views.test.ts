// The modals' submissions, called as Bolt calls them: each acks exactly once, and the ack is the
// answer: empty to close the modal, `errors` to show what is wrong in it, `update` to replace it.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { getAction, getActionEvents } from "../../../src/db/queries/actions.ts";
import {
  BULK_UNDO_CALLBACK_ID,
  DECISION_CALLBACK_ID,
  MORE_INSTANCES_INPUT_ID,
  REASON_INPUT_ID,
  REJECT_CALLBACK_ID,
  undoPickInputId,
  viewRoutes,
} from "../../../src/slack/actionIds.ts";
import { decisionModal } from "../../../src/slack/blocks/modals.ts";
import { bulkUndoSubmission } from "../../../src/slack/listeners/views/bulkUndoSubmission.ts";
import { decisionSubmission } from "../../../src/slack/listeners/views/decisionSubmission.ts";
import { register } from "../../../src/slack/listeners/views/index.ts";
import { rejectSubmission } from "../../../src/slack/listeners/views/rejectSubmission.ts";
import {
  APPROVER,
  BYSTANDER,
  CHANNEL,
  expectAckedFirst,
  type Harness,
  registered,
  startHarness,
  viewSubmission,
} from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("listeners_views");
});
afterAll(() => h?.close());
beforeEach(() => {
  vi.clearAllMocks();
});

/** The reject modal submitted with `reason` typed in. */
async function submitReject(privateMetadata: string, reason: string | null, user = APPROVER) {
  const submission = viewSubmission(h.client, REJECT_CALLBACK_ID, {
    user,
    privateMetadata,
    values: { [REASON_INPUT_ID]: { [REASON_INPUT_ID]: { type: "plain_text_input", value: reason } } },
  });
  await rejectSubmission(h.deps)(submission.args);
  expect(submission.ack).toHaveBeenCalledTimes(1);
  return submission.ack.mock.lastCall?.[0];
}

describe("register", () => {
  it("puts a listener on each modal's callback_id, once", () => {
    expect(registered(register, h.deps, "view")).toEqual([
      viewRoutes.reject.matcher,
      viewRoutes.bulkUndo.matcher,
      viewRoutes.rejectAll.matcher,
      viewRoutes.decision.matcher,
      viewRoutes.approveAll.matcher,
    ]);
  });
});

describe("decisionSubmission", () => {
  /** The confirmation of `kind` on action `id`, as the click opened it, submitted by `user`. */
  async function submitDecision(id: number, kind: "approve" | "undo", user = APPROVER) {
    const view = decisionModal((await getAction(h.db, id))!, kind, { channel: CHANNEL });
    const submission = viewSubmission(h.client, DECISION_CALLBACK_ID, {
      user,
      privateMetadata: view.private_metadata,
      values: {},
    });
    await decisionSubmission(h.deps)(submission.args);
    expectAckedFirst(submission.ack, h.client);
    // An empty ack closes the modal: the answer comes where the button was clicked.
    expect(submission.ack).toHaveBeenCalledWith();
  }

  it("takes the decision and says nothing privately: the message shows it", async () => {
    const id = await h.action("isolate_device");
    await submitDecision(id, "approve");
    expect(await getAction(h.db, id)).toMatchObject({ status: "approved", decidedBy: APPROVER });
    expect(h.client.chat.postEphemeral).not.toHaveBeenCalled();
  });

  it("checks the person again, as the authority: a refusal is audited and said in the channel", async () => {
    const id = await h.action("isolate_device");
    await submitDecision(id, "approve", BYSTANDER);
    expect((await getAction(h.db, id))?.status).toBe("pending");
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith({
      channel: CHANNEL,
      user: BYSTANDER,
      text: expect.stringContaining("You are not allowed to approve actions."),
    });
    expect((await getActionEvents(h.db, id)).at(-1)).toMatchObject({ kind: "decision_refused" });
  });

  it("a second submission decides nothing more and says who decided first", async () => {
    const id = await h.action("quarantine_file", { status: "completed" });
    await submitDecision(id, "undo");
    expect((await getAction(h.db, id))?.status).toBe("undo_requested");
    vi.clearAllMocks();
    await submitDecision(id, "undo");
    expect((await getActionEvents(h.db, id)).filter((e) => e.kind === "request_undo")).toHaveLength(1);
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: expect.stringContaining("Nothing changed") }),
    );
  });

  it("says a confirmation whose metadata is not ours is out of date, deciding nothing", async () => {
    const submission = viewSubmission(h.client, DECISION_CALLBACK_ID, { privateMetadata: "42", values: {} });
    await decisionSubmission(h.deps)(submission.args);
    expect(submission.ack).toHaveBeenCalledTimes(1);
    expect(h.client.chat.postMessage).toHaveBeenLastCalledWith({
      channel: APPROVER,
      text: expect.stringContaining("out of date"),
    });
  });
});

describe("rejectSubmission", () => {
  it("rejects with the reason and closes the modal", async () => {
    const id = await h.action("stop_service");
    expect(await submitReject(String(id), "  a pentest tool  ")).toBeUndefined();
    expect(await getAction(h.db, id)).toMatchObject({
      status: "rejected",
      decidedBy: APPROVER,
      decisionComment: "a pentest tool",
    });
  });

  it("keeps the modal open without a reason", async () => {
    const id = await h.action("stop_service");
    expect(await submitReject(String(id), "   ")).toEqual({
      response_action: "errors",
      errors: { [REASON_INPUT_ID]: "Say why, for the audit trail." },
    });
    expect((await getAction(h.db, id))?.status).toBe("pending");
  });

  it("shows a refusal in the modal, audited", async () => {
    const id = await h.action("stop_service");
    const answer = await submitReject(String(id), "no", BYSTANDER);
    expect(answer).toEqual({
      response_action: "errors",
      errors: { [REASON_INPUT_ID]: expect.stringContaining("You are not allowed to reject actions.") },
    });
    expect((await getActionEvents(h.db, id)).at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: BYSTANDER,
      detail: { decision: "reject" },
    });
  });

  it("says a form with metadata not of ours is out of date", async () => {
    expect(await submitReject("not-an-id", "why")).toEqual({
      response_action: "errors",
      errors: { [REASON_INPUT_ID]: "This form is out of date; reopen it." },
    });
  });
});

describe("bulkUndoSubmission", () => {
  /** The undo confirmation submitted with `selected` checked. */
  async function submitUndo(selected: number[], options: { user?: string; metadata?: string } = {}) {
    const submission = viewSubmission(h.client, BULK_UNDO_CALLBACK_ID, {
      user: options.user,
      privateMetadata: options.metadata ?? JSON.stringify({ more: [] }),
      values: {
        [undoPickInputId(0)]: {
          [undoPickInputId(0)]: {
            type: "checkboxes",
            selected_options: selected.map((id) => ({
              text: { type: "plain_text", text: `#${id}` },
              value: `${id}`,
            })),
          },
        },
        [MORE_INSTANCES_INPUT_ID]: {
          [MORE_INSTANCES_INPUT_ID]: { type: "checkboxes", selected_options: [] },
        },
      },
    });
    await bulkUndoSubmission(h.deps)(submission.args);
    expect(submission.ack).toHaveBeenCalledTimes(1);
    return submission.ack.mock.lastCall?.[0] as Record<string, unknown>;
  }

  it("requests the undos and replaces the modal with the result", async () => {
    const ids = [
      await h.action("quarantine_file", { status: "completed" }),
      await h.action("quarantine_file", { status: "completed" }),
    ];
    const answer = await submitUndo(ids);
    expect(answer).toMatchObject({ response_action: "update", view: { title: { text: "Undo requested" } } });
    for (const id of ids) expect((await getAction(h.db, id))?.status).toBe("undo_requested");
  });

  it("asks for a selection when nothing is checked", async () => {
    expect(await submitUndo([])).toEqual({
      response_action: "errors",
      errors: { [undoPickInputId(0)]: "Select at least one action to undo." },
    });
  });

  it("refuses a bystander in the modal and changes nothing", async () => {
    const id = await h.action("quarantine_file", { status: "completed" });
    expect(await submitUndo([id], { user: BYSTANDER })).toEqual({
      response_action: "errors",
      errors: {
        [undoPickInputId(0)]:
          "You are not allowed to undo actions: only the approvers listed in APPROVERS are.",
      },
    });
    expect((await getAction(h.db, id))?.status).toBe("completed");
  });

  it("says a form with metadata not of ours is out of date", async () => {
    expect(await submitUndo([1], { metadata: "{" })).toEqual({
      response_action: "errors",
      errors: { [undoPickInputId(0)]: "This form is out of date; open it again." },
    });
  });
});
