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

/**
 * Standard output is written synchronously: the process exits right after its last words
 * ("stopped", "could not start"), and an asynchronous write still in flight then lands after
 * them or not at all, so the log would not end with what ended the process.
 */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    { level, base: { service: "action-center" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    destination,
  );
}
