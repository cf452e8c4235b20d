import pino from "pino";

// Field names whose values never reach a log line, wherever they appear.
const REDACTED_PATHS = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "botToken",
  "*.botToken",
  "signingSecret",
  "*.signingSecret",
  "appToken",
  "*.appToken",
  "ingestToken",
  "*.ingestToken",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "access_token",
  "*.access_token",
];

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: "action-center" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    destination,
  );
}
