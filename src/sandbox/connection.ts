// The bot's Slack when no workspace is configured: the sandbox's stand-in for Slack's Web API,
// started in this process from the workspace saved in Postgres, and a connection to it of the
// same shape as a workspace's.
import { randomBytes } from "node:crypto";
import type { Config } from "../config/env.ts";
import type { Db } from "../db/client.ts";
import { validateMessage, validateView } from "../slack/blockLimits.ts";
import type { SlackConnection } from "../slack/connection.ts";
import type { Logger } from "../telemetry/log.ts";
import { type FakeSlackApi, startFakeSlackApi } from "./fakeSlackApi.ts";
import { keepWorkspace, loadWorkspace } from "./persistence.ts";
import { SANDBOX_USER } from "./sandboxUser.ts";

const SANDBOX_BOT_TOKEN = "xoxb-local-sandbox";

export async function startSandboxSlack(
  config: Config,
  db: Db,
  log: Logger,
): Promise<{ connection: SlackConnection; fake: FakeSlackApi; stop(): Promise<void> }> {
  const initialState = await loadWorkspace(db);
  const fake = await startFakeSlackApi({
    validateMessage,
    validateView,
    users: [SANDBOX_USER],
    ...(initialState && { initialState }),
  });
  const kept = keepWorkspace(fake, db, log);
  const { userIds, groupIds } = config.approvers;
  return {
    fake,
    async stop() {
      await kept.stop();
      await fake.close();
    },
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
