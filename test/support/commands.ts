// A person using `/action-center`: signed slash commands and clicks on the private answers, which
// the bot sends to the response_url Slack gave it (here a local catcher), and the modals it opens.
import { validateMessage } from "../../src/slack/blockLimits.ts";
import { TEST_CHANNEL, TEST_SIGNING_SECRET, type TestApp, waitFor } from "./app.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  type ResponseUrlCatcher,
  slashCommandBody,
  type ViewStateValues,
} from "./slackRequests.ts";
import { buttonsOf } from "./slackUser.ts";

export type Answer = {
  text: string;
  blocks: { type: string; text?: { text: string }; [key: string]: unknown }[];
  response_type?: string;
  replace_original?: boolean;
};

/** The answer posted to `responseUrl`, checked against Slack's message limits. */
export async function answerAt(catcher: ResponseUrlCatcher, responseUrl: string): Promise<Answer> {
  const path = new URL(responseUrl).pathname;
  const caught = await waitFor(
    async () => catcher.requests.find((request) => request.path === path),
    15_000,
    `an answer at ${path}`,
  );
  const answer = caught.body as Answer;
  const violations = validateMessage(answer);
  if (violations.length > 0) throw new Error(`the answer breaks Slack's limits: ${violations.join("; ")}`);
  return answer;
}

/** Runs `/action-center <text>` as `userId`; returns the response_url the answer goes to. */
export async function sendCommand(
  app: TestApp,
  catcher: ResponseUrlCatcher,
  userId: string,
  text: string,
): Promise<string> {
  const responseUrl = catcher.newUrl();
  const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
    kind: "command",
    body: slashCommandBody({ userId, text, channelId: TEST_CHANNEL, responseUrl }),
  });
  if (res.status !== 200) throw new Error(`the command got HTTP ${res.status}`);
  return responseUrl;
}

export async function runCommand(
  app: TestApp,
  catcher: ResponseUrlCatcher,
  userId: string,
  text: string,
): Promise<Answer> {
  return answerAt(catcher, await sendCommand(app, catcher, userId, text));
}

/** Clicks a button of a private answer; returns the response_url its own answer goes to. */
export async function clickInAnswer(
  app: TestApp,
  catcher: ResponseUrlCatcher,
  userId: string,
  answer: Answer,
  actionId: string,
  value?: string,
): Promise<string> {
  const button = buttonsOf(answer).find((b) => b.action_id === actionId);
  if (!button)
    throw new Error(`no button ${actionId} in ${JSON.stringify(buttonsOf(answer).map((b) => b.action_id))}`);
  const responseUrl = catcher.newUrl();
  const res = await postToSlackEndpoint(app.url, TEST_SIGNING_SECRET, {
    kind: "interactive",
    body: blockActionsPayload({
      userId,
      actionId,
      value: value ?? button.value ?? "",
      channelId: TEST_CHANNEL,
      messageTs: "1700000000.000100",
      message: answer,
      responseUrl,
      isEphemeral: true,
    }),
  });
  if (res.status !== 200) throw new Error(`the click got HTTP ${res.status}`);
  return responseUrl;
}

/** The action ids of a listing's rows, in the order shown. */
export function rowIds(answer: Answer): number[] {
  return answer.blocks.flatMap((block) => {
    const id = /^\*#(\d+) /.exec(block.text?.text ?? "")?.[1];
    return id ? [Number(id)] : [];
  });
}

type Modal = {
  callback_id: string;
  private_metadata: string;
  blocks: {
    type: string;
    block_id?: string;
    element?: { type: string; action_id: string; options: { value: string }[]; initial_options?: unknown[] };
  }[];
};

/** The modal opened by the `nth` views.open call (counting from 0). */
export async function openedModal(app: TestApp, nth: number): Promise<Modal> {
  const call = await waitFor(async () => app.slackApi.callsTo("views.open")[nth], 10_000, "views.open");
  if ((call.response as { ok: boolean }).ok !== true)
    throw new Error(`views.open failed: ${JSON.stringify(call.response)}`);
  return (call.args as { view: Modal }).view;
}

/** A submission's state with the given options checked in each checkbox group of `modal`. */
export function checked(modal: Modal, choose: (blockId: string, value: string) => boolean): ViewStateValues {
  const values: ViewStateValues = {};
  for (const block of modal.blocks) {
    if (block.type !== "input" || block.element?.type !== "checkboxes" || !block.block_id) continue;
    const selected = block.element.options.filter((option) => choose(block.block_id!, option.value));
    values[block.block_id] = {
      [block.element.action_id]: { type: "checkboxes", selected_options: selected },
    };
  }
  return values;
}
