// The button listeners, called as Bolt calls them: each acks once before anything else, then
// decides through the services on a real store and answers through the Slack client.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { getAction, getActionEvents } from "../../../src/db/queries/actions.ts";
import {
  APPROVE_ALL_CALLBACK_ID,
  actionId,
  buttonRoutes,
  DECISION_CALLBACK_ID,
  NEXT_PAGE_ACTION_ID,
  UNDO_SEVERAL_ACTION_ID,
} from "../../../src/slack/actionIds.ts";
import { encodeListing } from "../../../src/slack/blocks/history.ts";
import { OUT_OF_DATE_TEXT } from "../../../src/slack/handlers/commands/respond.ts";
import { decideInSlack, STORE_DOWN_TEXT } from "../../../src/slack/handlers/decide.ts";
import { confirmUndoButton } from "../../../src/slack/listeners/actions/confirmUndoButton.ts";
import { decisionButton } from "../../../src/slack/listeners/actions/decisionButton.ts";
import { goHuntButton } from "../../../src/slack/listeners/actions/goHuntButton.ts";
import { groupButton } from "../../../src/slack/listeners/actions/groupButton.ts";
import { historyPageButton } from "../../../src/slack/listeners/actions/historyPageButton.ts";
import { register } from "../../../src/slack/listeners/actions/index.ts";
import { linkButton } from "../../../src/slack/listeners/actions/linkButton.ts";
import { rejectButton } from "../../../src/slack/listeners/actions/rejectButton.ts";
import { undoSeveralButton } from "../../../src/slack/listeners/actions/undoSeveralButton.ts";
import { approveAllSubmission } from "../../../src/slack/listeners/views/approveAllSubmission.ts";
import { actionBody } from "../../support/fixtures.ts";
import {
  APPROVER,
  BYSTANDER,
  buttonClick,
  CHANNEL,
  decisionCount,
  expectAckedFirst,
  GROUP_APPROVER,
  type Harness,
  registered,
  startHarness,
  TRIGGER_ID,
  viewSubmission,
} from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("listeners_actions");
});
afterAll(() => h?.close());
beforeEach(() => {
  vi.clearAllMocks();
});

const statusOf = async (id: number) => (await getAction(h.db, id))?.status;

describe("register", () => {
  it("puts a listener on each button route, once", () => {
    const matchers = registered(register, h.deps, "action");
    expect(matchers).toHaveLength(Object.keys(buttonRoutes).length);
    expect(new Set(matchers)).toEqual(new Set(Object.values(buttonRoutes).map((route) => route.matcher)));
  });
});

/** The modal the last views.open opened, with its memory read back. */
function openedView() {
  const { trigger_id, view } = h.client.views.open.mock.lastCall![0] as {
    trigger_id: string;
    view: { callback_id: string; private_metadata: string; submit: { text: string } };
  };
  return { trigger_id, view, metadata: JSON.parse(view.private_metadata) as Record<string, unknown> };
}

describe("decisionButton", () => {
  it("opens the confirmation for an approver on the click's trigger, after the ack; the click decides nothing", async () => {
    const id = await h.action("isolate_device");
    const click = buttonClick(h.client, actionId.approve(id));
    await decisionButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(click.ack).toHaveBeenCalledWith();
    const opened = openedView();
    expect(opened.trigger_id).toBe(TRIGGER_ID);
    expect(opened.view).toMatchObject({ callback_id: DECISION_CALLBACK_ID, submit: { text: "Approve" } });
    expect(opened.metadata).toEqual({ id, kind: "approve", channel: CHANNEL });
    expect(await statusOf(id)).toBe("pending");
    expect(h.client.chat.postEphemeral).not.toHaveBeenCalled();
  });

  it("refuses a bystander in the channel at once, opens nothing, audits it and counts it", async () => {
    const id = await h.action("isolate_device");
    const forbidden = await decisionCount(h, { decision: "approve", outcome: "forbidden" });
    const click = buttonClick(h.client, actionId.approve(id), { user: BYSTANDER });
    await decisionButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith({
      channel: CHANNEL,
      user: BYSTANDER,
      text: expect.stringContaining(":no_entry: You are not allowed to approve actions."),
    });
    expect(await statusOf(id)).toBe("pending");
    const events = await getActionEvents(h.db, id);
    expect(events.at(-1)).toMatchObject({
      kind: "decision_refused",
      actor: BYSTANDER,
      detail: { decision: "approve", reason: "not an approver" },
    });
    expect(await decisionCount(h, { decision: "approve", outcome: "forbidden" })).toBe(forbidden + 1);
  });

  it("answers a click from outside a channel in a direct message", async () => {
    const id = await h.action("isolate_device");
    const click = buttonClick(h.client, actionId.approve(id), { user: BYSTANDER, channel: false });
    await decisionButton(h.deps)(click.args);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postMessage).toHaveBeenLastCalledWith({
      channel: BYSTANDER,
      text: expect.stringContaining("You are not allowed to approve"),
    });
  });

  it("says what became of an action its status no longer lets decide, and opens nothing", async () => {
    const id = await h.action("isolate_device");
    await decideInSlack(h.deps, { userId: GROUP_APPROVER, actionId: id, decision: "approve" });
    const click = buttonClick(h.client, actionId.approve(id));
    await decisionButton(h.deps)(click.args);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: expect.stringMatching(`^Already approved by <@${GROUP_APPROVER}>`) }),
    );
  });

  it("opens Undo's confirmation for a completed action", async () => {
    const id = await h.action("quarantine_file", { status: "completed" });
    const click = buttonClick(h.client, actionId.undo(id));
    await decisionButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(openedView()).toMatchObject({
      view: { submit: { text: "Undo" } },
      metadata: { id, kind: "undo" },
    });
    expect(await statusOf(id)).toBe("completed");
  });

  it("logs a confirmation that could not open and tells the person to try again", async () => {
    const id = await h.action("isolate_device");
    h.client.views.open.mockRejectedValueOnce(new Error("expired_trigger_id"));
    await decisionButton(h.deps)(buttonClick(h.client, actionId.approve(id)).args);
    expect(h.logs.at(-1)).toMatchObject({ msg: "could not open the decision's confirmation", actionId: id });
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: STORE_DOWN_TEXT }),
    );
    expect(await statusOf(id)).toBe("pending");
  });

  it("acks a malformed id and does nothing else", async () => {
    const click = buttonClick(h.client, "approve:0");
    await decisionButton(h.deps)(click.args);
    expect(click.ack).toHaveBeenCalledTimes(1);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postEphemeral).not.toHaveBeenCalled();
    expect(h.client.chat.postMessage).not.toHaveBeenCalled();
  });
});

describe("rejectButton", () => {
  it("opens the reason modal on the click's trigger", async () => {
    const id = await h.action("stop_service");
    const click = buttonClick(h.client, actionId.reject(id));
    await rejectButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(h.client.views.open).toHaveBeenLastCalledWith({
      trigger_id: TRIGGER_ID,
      view: expect.objectContaining({ callback_id: "reject_action", private_metadata: String(id) }),
    });
  });

  it("refuses a bystander at once, before any reason modal, audited", async () => {
    const id = await h.action("stop_service");
    const click = buttonClick(h.client, actionId.reject(id), { user: BYSTANDER });
    await rejectButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ user: BYSTANDER, text: expect.stringContaining("not allowed to reject") }),
    );
    expect((await getActionEvents(h.db, id)).at(-1)).toMatchObject({
      kind: "decision_refused",
      detail: { decision: "reject", reason: "not an approver" },
    });
  });

  it("says privately when there is nothing left to reject", async () => {
    const id = await h.action("stop_service");
    await decideInSlack(h.deps, { userId: APPROVER, actionId: id, decision: "approve" });
    const click = buttonClick(h.client, actionId.reject(id));
    await rejectButton(h.deps)(click.args);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith({
      channel: CHANNEL,
      user: APPROVER,
      text: "Nothing to reject: it was approved already.",
    });
  });
});

describe("goHuntButton", () => {
  it("opens the hunt modal with the query for the action's entity", async () => {
    const id = await h.action("stop_service");
    const click = buttonClick(h.client, actionId.goHunt(id));
    await goHuntButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    const { trigger_id, view } = h.client.views.open.mock.lastCall![0] as {
      trigger_id: string;
      view: { title: { text: string } };
    };
    expect(trigger_id).toBe(TRIGGER_ID);
    expect(view.title.text).toBe("Go hunt");
    const { entity } = (await getAction(h.db, id))!;
    expect(JSON.stringify(view)).toContain(`ServiceName =~ \\"${entity.name}\\"`);
  });

  it("says so when the action does not exist", async () => {
    const click = buttonClick(h.client, actionId.goHunt(999_999));
    await goHuntButton(h.deps)(click.args);
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: "That action does not exist (any more)." }),
    );
  });

  it("logs a failed modal and tells the person to try again", async () => {
    const id = await h.action("stop_service");
    h.client.views.open.mockRejectedValueOnce(new Error("expired_trigger_id"));
    const click = buttonClick(h.client, actionId.goHunt(id));
    await goHuntButton(h.deps)(click.args);
    expect(h.logs.at(-1)).toMatchObject({ msg: "could not open the hunt modal", actionId: id });
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: "Could not open the hunting query; try again." }),
    );
  });
});

describe("groupButton", () => {
  /** Three pending actions of one investigation, arrived together: one message shows them. */
  let groups = 0;
  async function investigation() {
    groups += 1;
    const investigationId = `inv-group-${groups}`;
    const ids = await h.ingest(
      [1, 2, 3].map((n) => actionBody("quarantine_file", 1000 * groups + n, { investigationId })),
    );
    const messageKey = (await getAction(h.db, ids[0]!))!.slackMessageId!;
    return { investigationId, ids, messageKey };
  }

  it("Approve all opens its confirmation for an approver; its submission approves every waiting action", async () => {
    const { ids, messageKey } = await investigation();
    const click = buttonClick(h.client, actionId.approveAll(messageKey));
    await groupButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    const opened = openedView();
    expect(opened.view).toMatchObject({
      callback_id: APPROVE_ALL_CALLBACK_ID,
      submit: { text: "Approve all" },
    });
    expect(JSON.stringify(opened.view)).toContain("Approve 3 actions?");
    expect(opened.metadata).toEqual({ messageKey, channel: CHANNEL });
    for (const id of ids) expect(await statusOf(id)).toBe("pending");

    vi.clearAllMocks();
    const submission = viewSubmission(h.client, APPROVE_ALL_CALLBACK_ID, {
      privateMetadata: opened.view.private_metadata,
      values: {},
    });
    await approveAllSubmission(h.deps)(submission.args);
    expectAckedFirst(submission.ack, h.client);
    // With nothing: the endpoint answers this submission once written (EMPTY_ACK_CALLBACK_IDS).
    expect(submission.ack).toHaveBeenCalledWith();
    for (const id of ids) expect(await statusOf(id)).toBe("approved");
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith({
      channel: CHANNEL,
      user: APPROVER,
      text: "Approved 3 actions.",
    });
  });

  it("Approve all by a bystander is refused at once, opens nothing, and audits each action's refusal once", async () => {
    const { ids, messageKey } = await investigation();
    const forbidden = await decisionCount(h, { decision: "approve", outcome: "forbidden" });
    const click = buttonClick(h.client, actionId.approveAll(messageKey), { user: BYSTANDER });
    await groupButton(h.deps)(click.args);
    expect(h.client.views.open).not.toHaveBeenCalled();
    const { text } = h.client.chat.postEphemeral.mock.lastCall![0] as { text: string };
    expect(text).toMatch(/^:no_entry: You are not allowed to approve actions\./);
    for (const id of ids) {
      expect(await statusOf(id)).toBe("pending");
      expect((await getActionEvents(h.db, id)).filter((e) => e.kind === "decision_refused")).toHaveLength(1);
    }
    expect(await decisionCount(h, { decision: "approve", outcome: "forbidden" })).toBe(forbidden + 3);
  });

  it("Review opens the modal that lists every action of the message, each with its decisions", async () => {
    const { investigationId, ids, messageKey } = await investigation();
    const click = buttonClick(h.client, actionId.review(messageKey));
    await groupButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    const { trigger_id, view } = h.client.views.open.mock.lastCall![0] as {
      trigger_id: string;
      view: { callback_id: string; blocks: unknown[] };
    };
    expect(trigger_id).toBe(TRIGGER_ID);
    expect(view.callback_id).toBe("review_message");
    const json = JSON.stringify(view.blocks);
    expect(json).toContain(`Investigation ${investigationId}`);
    for (const id of ids) expect(json).toContain(`review_decide:${id}`);
  });

  it("says so when the message is not ours", async () => {
    const click = buttonClick(h.client, actionId.approveAll(999_999));
    await groupButton(h.deps)(click.args);
    expect(h.client.chat.postEphemeral).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: "That message is not ours any more." }),
    );
  });
});

describe("linkButton", () => {
  it("only acks: the browser opens the link", async () => {
    const click = buttonClick(h.client, actionId.openInvestigation(1));
    await linkButton(click.args);
    expect(click.ack).toHaveBeenCalledTimes(1);
    expect(click.ack).toHaveBeenCalledWith();
    expect(click.respond).not.toHaveBeenCalled();
  });
});

describe("historyPageButton", () => {
  it("replaces the answer with the page the button names", async () => {
    const id = await h.action("stop_service", { status: "completed" });
    const value = encodeListing({ view: "history", filters: "type:stop_service", before: id + 1 });
    const click = buttonClick(h.client, NEXT_PAGE_ACTION_ID, { value });
    await historyPageButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    expect(click.respond).toHaveBeenCalledTimes(1);
    const answer = click.respond.mock.lastCall![0] as { replace_original: boolean; text: string };
    expect(answer.replace_original).toBe(true);
    expect(answer.text).toMatch(new RegExp(`^History: #${id} to #\\d+$`));
  });

  it("says the listing is out of date when the value is not one of ours", async () => {
    const click = buttonClick(h.client, NEXT_PAGE_ACTION_ID, { value: "{}" });
    await historyPageButton(h.deps)(click.args);
    expect(click.respond).toHaveBeenCalledWith(
      expect.objectContaining({ replace_original: true, text: OUT_OF_DATE_TEXT }),
    );
  });
});

describe("undoSeveralButton", () => {
  it("opens the undo confirmation listing the listing's undoable actions", async () => {
    const id = await h.action("quarantine_file", { status: "completed" });
    const value = encodeListing({ view: "history", filters: "type:quarantine_file" });
    const click = buttonClick(h.client, UNDO_SEVERAL_ACTION_ID, { value });
    await undoSeveralButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    const { view } = h.client.views.open.mock.lastCall![0] as { view: { callback_id: string } };
    expect(view.callback_id).toBe("bulk_undo");
    expect(JSON.stringify(view)).toContain(`"value":"${id}"`);
    expect(click.respond).not.toHaveBeenCalled();
  });

  it("answers a bystander that only approvers may undo, and opens nothing", async () => {
    const value = encodeListing({ view: "history", filters: "" });
    const click = buttonClick(h.client, UNDO_SEVERAL_ACTION_ID, { value, user: BYSTANDER });
    await undoSeveralButton(h.deps)(click.args);
    expect(h.client.views.open).not.toHaveBeenCalled();
    expect(click.respond).toHaveBeenCalledWith(
      expect.objectContaining({
        replace_original: false,
        text: expect.stringContaining(":no_entry: You are not allowed to undo actions."),
      }),
    );
  });
});

describe("confirmUndoButton", () => {
  it("opens the undo confirmation with that action checked", async () => {
    const id = await h.action("quarantine_file", { status: "completed" });
    const click = buttonClick(h.client, actionId.confirmUndo(id), { value: String(id) });
    await confirmUndoButton(h.deps)(click.args);
    expectAckedFirst(click.ack, h.client);
    const { trigger_id, view } = h.client.views.open.mock.lastCall![0] as {
      trigger_id: string;
      view: { callback_id: string };
    };
    expect(trigger_id).toBe(TRIGGER_ID);
    expect(view.callback_id).toBe("bulk_undo");
    expect(JSON.stringify(view)).toContain(`"initial_options":[{"text":{"type":"plain_text","text":"#${id} `);
  });

  it("says why an action that cannot be undone is not offered", async () => {
    const id = await h.action("quarantine_file");
    const click = buttonClick(h.client, actionId.confirmUndo(id));
    await confirmUndoButton(h.deps)(click.args);
    expect(click.respond).toHaveBeenCalledWith(
      expect.objectContaining({
        replace_original: false,
        text: `Nothing to undo. Not listed — pending approval: #${id}`,
      }),
    );
  });
});
