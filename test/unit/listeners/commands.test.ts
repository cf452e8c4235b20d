// `/action-center`, called as Bolt calls it: acked at once with an empty body, then answered
// privately through `respond` (the command's response_url), or with a modal or a file.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { USAGE } from "../../../src/slack/handlers/commands/parse.ts";
import { COMMAND_FAILED_TEXT } from "../../../src/slack/handlers/commands/respond.ts";
import { actionCenterCommand } from "../../../src/slack/listeners/commands/actionCenterCommand.ts";
import { register } from "../../../src/slack/listeners/commands/index.ts";
import { actionBody } from "../../support/fixtures.ts";
import {
  APPROVER,
  BYSTANDER,
  expectAckedFirst,
  type Harness,
  PUBLIC_URL,
  registered,
  slashCommand,
  startHarness,
  TRIGGER_ID,
} from "./harness.ts";

let h: Harness;
let pending: number;
let completed: number;
beforeAll(async () => {
  h = await startHarness("listeners_commands");
  const ids = await h.ingest([
    actionBody("stop_service", 1),
    actionBody("quarantine_file", 2, { status: "completed" }),
  ]);
  [pending, completed] = [ids[0]!, ids[1]!];
});
afterAll(() => h?.close());
beforeEach(() => {
  vi.clearAllMocks();
});

/** Runs the command; returns the one private answer it sent, if any. */
async function run(text: string, user = APPROVER) {
  const command = slashCommand(h.client, text, user);
  await actionCenterCommand(h.deps)(command.args);
  expectAckedFirst(command.ack, h.client);
  expect(command.ack).toHaveBeenCalledWith();
  expect(command.respond.mock.calls.length).toBeLessThanOrEqual(1);
  return command.respond.mock.lastCall?.[0] as { response_type?: string; text: string } | undefined;
}

describe("register", () => {
  it("puts the listener on /action-center", () => {
    expect(registered(register, h.deps, "command")).toEqual(["/action-center"]);
  });
});

describe("actionCenterCommand", () => {
  it("answers help privately, also for no text at all", async () => {
    for (const text of ["", "help"]) {
      expect(await run(text)).toMatchObject({ response_type: "ephemeral", text: USAGE });
    }
  });

  it("lists what waits for approval", async () => {
    const answer = await run("pending");
    expect(answer).toMatchObject({
      response_type: "ephemeral",
      text: `Pending actions: #${pending} to #${pending}`,
    });
  });

  it("shows one action with its audit trail", async () => {
    const answer = await run(`show ${completed}`, BYSTANDER);
    expect(answer?.text).toMatch(new RegExp(`^#${completed}: Completed: Quarantine file`));
    expect(JSON.stringify(answer)).toContain("*Audit trail*");
    expect(JSON.stringify(answer)).toContain(`${PUBLIC_URL}/investigations/`);
  });

  it("opens the undo confirmation instead of answering", async () => {
    expect(await run(`undo ${completed}`)).toBeUndefined();
    expect(h.client.views.open).toHaveBeenCalledWith({
      trigger_id: TRIGGER_ID,
      view: expect.objectContaining({ callback_id: "bulk_undo" }),
    });
  });

  it("refuses the undo to a bystander, in words", async () => {
    expect((await run(`undo ${completed}`, BYSTANDER))?.text).toContain(
      "You are not allowed to undo actions.",
    );
    expect(h.client.views.open).not.toHaveBeenCalled();
  });

  it("sends an export as a file to the person's direct messages", async () => {
    const answer = await run("history export", BYSTANDER);
    expect(answer?.text).toBe("Sent 1 action as a CSV file to your direct messages with the app.");
    expect(h.client.filesUploadV2).toHaveBeenCalledWith(
      expect.objectContaining({ channel_id: BYSTANDER, content: expect.stringMatching(/^id,createdAt,/) }),
    );
  });

  it("says what is wrong with a command it cannot read", async () => {
    expect((await run("frobnicate"))?.text).toMatch(/^Unknown command `frobnicate`\./);
  });

  it("logs a failure and still tells the person that nothing was changed", async () => {
    h.client.filesUploadV2.mockRejectedValueOnce(new Error("not_in_channel"));
    const answer = await run("history export");
    expect(answer).toMatchObject({ response_type: "ephemeral", text: COMMAND_FAILED_TEXT });
    expect(h.logs.at(-1)).toMatchObject({ msg: "/action-center failed", command: "list", userId: APPROVER });
  });
});
