// The Bolt app: its construction and error handler; the listeners register themselves by Slack
// surface (listeners/<surface>/index.ts), one callback per file. HTTP mode uses Bolt's own
// receiver (signature checks, 401 on bad or stale signatures), which the server puts in front of
// Express; Socket Mode connects out with the app token instead.
import { App, HTTPReceiver } from "@slack/bolt";
import { boltLogger } from "./boltLogger.ts";
import type { SlackConnection } from "./connection.ts";
import type { SlackDeps } from "./deps.ts";
import * as actions from "./listeners/actions/index.ts";
import * as commands from "./listeners/commands/index.ts";
import * as events from "./listeners/events/index.ts";
import * as views from "./listeners/views/index.ts";

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
  actions.register(app, withClient);
  commands.register(app, withClient);
  events.register(app, withClient);
  views.register(app, withClient);

  app.error(async (error) => {
    deps.ctx.log.error({ err: error }, "slack listener failed");
  });
  return { app, receiver };
}
