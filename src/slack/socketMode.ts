// Socket Mode: the process connects out to Slack with the app-level token and Slack sends clicks,
// commands and events over that WebSocket. Built here rather than by Bolt so the connection's Web
// API calls (apps.connections.open) follow SLACK_API_URL like every other call, and so /readyz
// can say when the connection is down.
import { type Logger as BoltLogger, SocketModeReceiver } from "@slack/bolt";
import type { ReadinessCheck } from "../context.ts";
import type { Logger } from "../telemetry/log.ts";

export type SocketModeLink = {
  receiver: SocketModeReceiver;
  /** Up once Slack's `hello` arrived; down, with the reason, from a close until the next `hello`. */
  status: ReadinessCheck;
  /** Called on every (re)connection. */
  onConnected(listener: () => void): void;
  /** Closes the connection and stops reconnecting. */
  stop(): Promise<void>;
};

export function socketModeLink(options: {
  appToken: string;
  apiUrl: string;
  pingTimeoutMs: number;
  logger: BoltLogger;
  log: Logger;
}): SocketModeLink {
  const receiver = new SocketModeReceiver({
    appToken: options.appToken,
    logger: options.logger,
    // The client reconnects after this delay times the failures in a row, and drops a
    // connection whose pong is this late.
    clientPingTimeout: options.pingTimeoutMs,
    installerOptions: { clientOptions: { slackApiUrl: options.apiUrl } },
  });
  const log = options.log.child({ component: "socket-mode" });
  const client = receiver.client;
  let problem: string | null = "not connected to Slack yet";
  // What Slack said in its last `disconnect` message, until the connection it closed is replaced.
  let disconnectReason: string | undefined;

  client.on("connected", () => {
    if (problem !== null) log.info({ after: problem }, "Socket Mode connected");
    problem = null;
    disconnectReason = undefined;
  });
  client.on("ws_message", (data: unknown) => {
    const text = typeof data === "string" ? data : Buffer.from(data as ArrayBuffer).toString("utf8");
    if (!text.includes('"disconnect"')) return;
    try {
      const message = JSON.parse(text) as { type?: string; reason?: string };
      if (message.type === "disconnect") {
        disconnectReason = message.reason ?? "unknown";
        log.info({ reason: disconnectReason }, "Slack asked this connection to close");
      }
    } catch (error) {
      log.warn({ err: error }, "an unreadable Socket Mode message");
    }
  });
  client.on("close", () => {
    problem = disconnectReason
      ? `Socket Mode connection closed by Slack (${disconnectReason}); reconnecting`
      : "Socket Mode connection lost without warning; reconnecting";
    log.warn({ problem }, "Socket Mode connection down");
  });
  client.on("disconnected", () => {
    problem = "Socket Mode disconnected";
  });

  return {
    receiver,
    status: { name: "slack", problem: () => problem },
    onConnected(listener) {
      client.on("connected", listener);
    },
    async stop() {
      await client.disconnect();
    },
  };
}
