// The Bolt app: listeners grouped by Slack surface, one callback per file, wired here. HTTP
// mode uses Bolt's own receiver (signature checks, 401 on bad or stale signatures), which the
// server puts in front of Express; Socket Mode connects out with the app token instead.
import { App, HTTPReceiver } from "@slack/bolt";
import { buttonRoutes, viewRoutes } from "./actionIds.ts";
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

  app.action(buttonRoutes.decision.matcher, decisionButton(withClient));
  app.action(buttonRoutes.reject.matcher, rejectButton(withClient));
  app.action(buttonRoutes.goHunt.matcher, goHuntButton(withClient));
  app.action(buttonRoutes.group.matcher, groupButton(withClient));
  app.action(buttonRoutes.openInvestigation.matcher, linkButton);
  app.action(buttonRoutes.openHunting.matcher, linkButton);
  app.view(viewRoutes.reject.matcher, rejectSubmission(withClient));
  app.command("/action-center", actionCenterCommand(withClient));
  app.action(buttonRoutes.historyPage.matcher, historyPageButton(withClient));
  app.action(buttonRoutes.undoSeveral.matcher, undoSeveralButton(withClient));
  app.action(buttonRoutes.confirmUndo.matcher, confirmUndoButton(withClient));
  app.view(viewRoutes.bulkUndo.matcher, bulkUndoSubmission(withClient));
  app.event("app_home_opened", appHomeOpened(withClient));

  app.error(async (error) => {
    deps.ctx.log.error({ err: error }, "slack listener failed");
  });
  return { app, receiver };
}
