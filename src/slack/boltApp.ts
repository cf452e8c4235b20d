// The Bolt app: listeners grouped by Slack surface, one callback per file, wired here. HTTP
// mode uses Bolt's own receiver (signature checks, 401 on bad or stale signatures), which the
// server puts in front of Express; Socket Mode connects out with the app token instead.
import { App, HTTPReceiver } from "@slack/bolt";
import { BULK_UNDO_CALLBACK_ID } from "./blocks/bulkUndo.ts";
import { NEXT_PAGE_ACTION_ID, PREVIOUS_PAGE_ACTION_ID, UNDO_SEVERAL_ACTION_ID } from "./blocks/history.ts";
import { OPEN_HUNTING_ACTION_ID, REJECT_CALLBACK_ID } from "./blocks/modals.ts";
import { boltLogger } from "./boltLogger.ts";
import type { SlackConnection } from "./connection.ts";
import type { SlackDeps } from "./deps.ts";
import { confirmUndoButton } from "./listeners/actions/confirmUndoButton.ts";
import { decisionButton } from "./listeners/actions/decisionButton.ts";
import { goHuntButton } from "./listeners/actions/goHuntButton.ts";
import { groupButton } from "./listeners/actions/groupButton.ts";
import { historyPageButton } from "./listeners/actions/historyPageButton.ts";
import { linkButton } from "./listeners/actions/linkButton.ts";
import { rejectButton } from "./listeners/actions/rejectButton.ts";
import { undoSeveralButton } from "./listeners/actions/undoSeveralButton.ts";
import { actionCenterCommand } from "./listeners/commands/actionCenterCommand.ts";
import { appHomeOpened } from "./listeners/events/appHomeOpened.ts";
import { bulkUndoSubmission } from "./listeners/views/bulkUndoSubmission.ts";
import { rejectSubmission } from "./listeners/views/rejectSubmission.ts";

export const SLACK_EVENTS_PATH = "/slack/events";

/**
 * `receiver`: in HTTP mode, the request listener for `POST /slack/events`. Bolt's HTTPReceiver on
 * plain node:http acks a click in about half the time of its Express receiver behind our routes
 * (docs/BENCHMARK-NOTES.md), and Slack's 3-second budget is what a burst of clicks spends.
 */
export function createBoltApp(
  connection: SlackConnection,
  deps: Omit<SlackDeps, "client">,
): { app: App; receiver?: HTTPReceiver } {
  const logger = boltLogger(deps.ctx.log);
  const socketMode = connection.appToken !== undefined;
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: connection.signingSecret,
        endpoints: SLACK_EVENTS_PATH,
        logger,
      });
  const app = new App({
    token: connection.botToken,
    logger,
    clientOptions: { slackApiUrl: connection.apiUrl },
    // No listener reads Bolt's conversation context; its store would be read on every request.
    convoStore: false,
    ...(socketMode ? { socketMode: true, appToken: connection.appToken } : { receiver }),
  });
  const withClient: SlackDeps = { ...deps, client: app.client };

  app.action(/^(approve|undo|retry|retry_undo):\d+$/, decisionButton(withClient));
  app.action(/^reject:\d+$/, rejectButton(withClient));
  app.action(/^go_hunt:\d+$/, goHuntButton(withClient));
  app.action(/^(approve_all|review):\d+$/, groupButton(withClient));
  app.action(/^open_investigation:\d+$/, linkButton);
  app.action(OPEN_HUNTING_ACTION_ID, linkButton);
  app.view(REJECT_CALLBACK_ID, rejectSubmission(withClient));
  app.command("/action-center", actionCenterCommand(withClient));
  app.action(
    new RegExp(`^(${PREVIOUS_PAGE_ACTION_ID}|${NEXT_PAGE_ACTION_ID})$`),
    historyPageButton(withClient),
  );
  app.action(UNDO_SEVERAL_ACTION_ID, undoSeveralButton(withClient));
  app.action(/^confirm_undo:\d+$/, confirmUndoButton(withClient));
  app.view(BULK_UNDO_CALLBACK_ID, bulkUndoSubmission(withClient));
  app.event("app_home_opened", appHomeOpened(withClient));

  app.error(async (error) => {
    deps.ctx.log.error({ err: error }, "slack listener failed");
  });
  return { app, receiver };
}
