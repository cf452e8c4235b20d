// POST /slack/events in HTTP mode. A button click is acked the moment its signature checks, and
// Bolt runs its middleware and our listener right after: every block_actions listener here acks
// with an empty body before doing anything else, so the answer Slack gets is the same, but under a
// burst of clicks no click waits behind Bolt's work on the others (docs/BENCHMARK-NOTES.md).
// Everything else — slash commands and modal submissions, whose ack carries an answer, URL
// verification, bad signatures (401) — goes through Bolt's receiver unchanged.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type App, HTTPModuleFunctions, type HTTPReceiver, isValidSlackRequest } from "@slack/bolt";
import type { Logger } from "../telemetry/log.ts";
import { SLACK_EVENTS_PATH } from "./boltApp.ts";

type SlackEndpoint = {
  path: string;
  listener: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** Finishes the clicks acked and still being handled. */
  close(): Promise<void>;
};

/** Slack's payloads are a few kilobytes; a megabyte is generous. */
const BODY_LIMIT = 1024 * 1024;

export function slackEndpoint(
  bolt: { app: App; receiver: HTTPReceiver },
  signingSecret: string,
  log: Logger,
): SlackEndpoint {
  const afterBurst = quietScheduler(QUIET_MS, MAX_WAIT_MS);
  // Clicks acked and not yet handled: shutdown waits for them, since Slack will not send them again.
  const inFlight = new Set<Promise<unknown>>();
  return {
    async close() {
      afterBurst.flush();
      await Promise.allSettled([...inFlight]);
    },
    path: SLACK_EVENTS_PATH,
    async listener(req, res) {
      let buffered: IncomingMessage & { rawBody: Buffer };
      try {
        buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, BODY_LIMIT);
      } catch (error) {
        const tooLarge = HTTPModuleFunctions.isRawBodyError(error) && error.type === "entity.too.large";
        log.warn({ err: error }, "unreadable request to the Slack endpoint");
        HTTPModuleFunctions.buildNoBodyResponse(res, tooLarge ? 413 : 400);
        return;
      }
      const click = verifiedClick(buffered, signingSecret);
      // Bolt finds the body already read (rawBody) and checks it again itself.
      if (!click) return bolt.receiver.requestListener(buffered, res);
      HTTPModuleFunctions.buildNoBodyResponse(res, 200);
      afterBurst(() => {
        const handled = bolt.app
          .processEvent({
            body: click,
            ack: async () => {},
            retryNum: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(buffered),
            retryReason: HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(buffered),
          })
          .catch((error: unknown) => log.error({ err: error }, "slack click failed after its ack"))
          .finally(() => inFlight.delete(handled));
        inFlight.add(handled);
      });
    },
  };
}

/** Clicks are handled once none has arrived for QUIET_MS, or at the latest MAX_WAIT_MS after the first. */
const QUIET_MS = 3;
const MAX_WAIT_MS = 100;

/**
 * Runs work once the burst it arrived in is over: while clicks keep arriving, acking them comes
 * first; a lone click waits only `quietMs`, and a steady stream at most `maxWaitMs`.
 */
export function quietScheduler(quietMs: number, maxWaitMs: number) {
  let batch: (() => unknown)[] = [];
  let firstAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    const due = batch;
    batch = [];
    timer = undefined;
    for (const work of due) work();
  };
  const schedule = (work: () => unknown) => {
    if (batch.length === 0) firstAt = Date.now();
    batch.push(work);
    clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, Math.min(quietMs, firstAt + maxWaitMs - Date.now())));
  };
  /** Runs what waits now (shutdown). */
  schedule.flush = () => {
    clearTimeout(timer);
    run();
  };
  return schedule;
}

type Click = { type: "block_actions"; [key: string]: unknown };

/** The payload of a correctly signed, fresh block_actions request; undefined for anything else. */
function verifiedClick(req: IncomingMessage & { rawBody: Buffer }, signingSecret: string): Click | undefined {
  if (req.headers["content-type"] !== "application/x-www-form-urlencoded") return undefined;
  const signature = req.headers["x-slack-signature"];
  const timestamp = Number(req.headers["x-slack-request-timestamp"]);
  if (typeof signature !== "string" || !Number.isFinite(timestamp)) return undefined;
  const body = req.rawBody.toString();
  const headers = { "x-slack-signature": signature, "x-slack-request-timestamp": timestamp };
  if (!isValidSlackRequest({ signingSecret, body, headers })) return undefined;
  try {
    const payload: unknown = HTTPModuleFunctions.parseHTTPRequestBody(req);
    return isClick(payload) ? payload : undefined;
  } catch {
    return undefined; // Not JSON: Bolt's receiver answers it as it would any malformed request.
  }
}

function isClick(payload: unknown): payload is Click {
  return typeof payload === "object" && payload !== null && (payload as Click).type === "block_actions";
}
