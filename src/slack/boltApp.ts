// The Bolt app: its construction and error handler; the listeners register themselves by Slack
// surface (listeners/<surface>/index.ts), one callback per file. HTTP mode uses Bolt's own
// receiver (signature checks, 401 on bad or stale signatures), which the server puts in front of
// Express; Socket Mode connects out with the app token instead (socketMode.ts), where Slack
// redelivers what it saw no ack for, so each delivery is claimed once (deliveries.ts).
import { App, HTTPReceiver } from "@slack/bolt";
import { boltLogger } from "./boltLogger.ts";
import type { SlackConnection } from "./connection.ts";
import { forgetOldDeliveries, handleEachDeliveryOnce } from "./deliveries.ts";
import type { SlackDeps } from "./deps.ts";
import * as actions from "./listeners/actions/index.ts";
import * as commands from "./listeners/commands/index.ts";
import * as events from "./listeners/events/index.ts";
import * as views from "./listeners/views/index.ts";
import { type SocketModeLink, socketModeLink } from "./socketMode.ts";

export const SLACK_EVENTS_PATH = "/slack/events";

/**
 * `receiver`: in HTTP mode, the request listener for `POST /slack/events`. Bolt's HTTPReceiver on
 * plain node:http acks a click in about half the time of its Express receiver behind our routes
 * (docs/BENCHMARK-NOTES.md), and Slack's 3-second budget is what a burst of clicks spends.
 */
export function createBoltApp(
  connection: SlackConnection,
  deps: Omit<SlackDeps, "client">,
): { app: App; receiver?: HTTPReceiver; socketMode?: SocketModeLink } {
  const logger = boltLogger(deps.ctx.log);
  const socketMode =
    connection.appToken === undefined
      ? undefined
      : socketModeLink({
          appToken: connection.appToken,
          apiUrl: connection.apiUrl,
          pingTimeoutMs: deps.ctx.config.slack.socketPingTimeoutMs,
          logger,
          log: deps.ctx.log,
        });
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
    receiver: socketMode?.receiver ?? receiver,
  });
  if (socketMode) {
    app.use(handleEachDeliveryOnce(deps.ctx));
    socketMode.onConnected(() => void forgetOldDeliveries(deps.ctx));
  }
  const withClient: SlackDeps = { ...deps, client: app.client };
  actions.register(app, withClient);
  commands.register(app, withClient);
  events.register(app, withClient);
  views.register(app, withClient);

  app.error(async (error) => {
    deps.ctx.log.error({ err: error }, "slack listener failed");
  });
  return { app, receiver, socketMode };
}
