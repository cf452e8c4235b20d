// The bot's Slack when no workspace is configured: the sandbox's stand-in for Slack's Web API,
// started in this process, and a connection to it of the same shape as a workspace's.
import { randomBytes } from "node:crypto";
import type { Config } from "../config/env.ts";
import { DEMO_REQUESTERS } from "../demo/feed.ts";
import { validateMessage, validateView } from "../slack/blockLimits.ts";
import type { SlackConnection } from "../slack/connection.ts";
import { type FakeSlackApi, type FakeUserInput, startFakeSlackApi } from "./fakeSlackApi.ts";
import { SANDBOX_USER } from "./sandboxUser.ts";

const SANDBOX_BOT_TOKEN = "xoxb-local-sandbox";

// The demo's requesters are the sandbox person's colleagues: Slack can name them, so their manual
// actions are not "requester unknown" and the one person trying the sandbox can approve them.
const COLLEAGUES: FakeUserInput[] = DEMO_REQUESTERS.map((email, i) => ({
  id: `U0COLLEAG${i + 1}`,
  name: email.split("@")[0]!,
  email,
}));

export async function startSandboxSlack(
  config: Config,
): Promise<{ connection: SlackConnection; fake: FakeSlackApi }> {
  const fake = await startFakeSlackApi({
    validateMessage,
    validateView,
    users: [SANDBOX_USER, ...COLLEAGUES],
  });
  const { userIds, groupIds } = config.approvers;
  return {
    fake,
    connection: {
      botToken: SANDBOX_BOT_TOKEN,
      // Only this process signs the sandbox's requests; a fresh secret each start is enough.
      signingSecret: config.slack.signingSecret ?? randomBytes(32).toString("hex"),
      appToken: undefined,
      apiUrl: fake.url,
      // With APPROVERS empty nobody may decide, and the sandbox's one person could try nothing out:
      // there, that person is the approver. A real workspace never gets this default.
      approvers:
        userIds.length + groupIds.length > 0
          ? config.approvers
          : { userIds: [SANDBOX_USER.id], groupIds: [] },
    },
  };
}
