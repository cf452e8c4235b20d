// POST /slack/events in HTTP mode. Every signed request is written to the inbox before it is
// answered (slack/inbox.ts), so an answer is a promise kept even if the process dies right after:
//   - the signature and its timestamp are checked first: a bad signature, or a timestamp more
//     than 5 minutes from now either way, gets 401 (Bolt itself refuses only old ones);
//   - the inbox's unique key is the memory of requests received: a second delivery of the same
//     signed request is refused with 401 without acting, and Slack's own retries
//     (X-Slack-Retry-Num) of one already received get an empty 200, also without acting;
//   - a button click, and the submission of a decision's confirmation, is answered with an empty
//     200 once written (their listeners ack with an empty body, so the answer is the same) and
//     handled once the burst is over, so that no click waits behind Bolt's work on the others
//     (docs/BENCHMARK-NOTES.md);
//   - slash commands and the other modal submissions, whose ack carries an answer, are written
//     first and answered by their listener, as Bolt's receiver would;
//   - without Postgres nothing is acted on (fail closed): the person is told that nothing was
//     done, an event gets 503 so that Slack sends it again.
// URL verification and SSL checks, which act on nothing, go through Bolt's receiver unchanged.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type App,
  HTTPModuleFunctions,
  type HTTPReceiver,
  HTTPResponseAck,
  isValidSlackRequest,
} from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { AppContext } from "../context.ts";
import { NOT_STORABLE_MESSAGE, unstorableTextPath } from "../domain/storableText.ts";
import { EMPTY_ACK_CALLBACK_IDS } from "./actionIds.ts";
import { noticeModal } from "./blocks/modals.ts";
import { SLACK_EVENTS_PATH } from "./boltApp.ts";
import { boltLogger } from "./boltLogger.ts";
import { STORE_DOWN_TEXT } from "./handlers/decide.ts";
import { createSlackInbox, type InboxEntry, inboxRequestOf, type SlackRetry } from "./inbox.ts";
import { replyPrivately } from "./reply.ts";

type SlackEndpoint = {
  path: string;
  listener: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** Recovers requests a stopped process acknowledged, at once and then every few seconds. */
  startRecovery(): { stop(): Promise<void> };
  /** Finishes the requests acked and still being handled. */
  close(): Promise<void>;
};

/** Slack's payloads are a few kilobytes; a megabyte is generous. */
const BODY_LIMIT = 1024 * 1024;
/** Slack's rule for a fresh request, applied both ways: a timestamp ahead of us is no fresher. */
export const MAX_CLOCK_SKEW_S = 5 * 60;

type Buffered = IncomingMessage & { rawBody: Buffer };

export function slackEndpoint(
  bolt: { app: App; receiver: HTTPReceiver },
  signingSecret: string,
  deps: { ctx: AppContext; client: WebClient },
): SlackEndpoint {
  const { ctx } = deps;
  const { log, metrics } = ctx;
  const logger = boltLogger(log);
  const inbox = createSlackInbox(bolt.app, ctx);
  const afterBurst = quietScheduler(QUIET_MS, MAX_WAIT_MS);
  // Work started after an answer (clicks, the store-down replies): shutdown waits for it.
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const answer = (res: ServerResponse, status: number, outcome: string) => {
    metrics.slackRequests.inc({ outcome });
    HTTPModuleFunctions.buildNoBodyResponse(res, status);
  };

  /** Postgres is gone: nothing is acted on, and whoever asked hears so. */
  function storeDown(entry: { kind: string; payload: Record<string, unknown> }, res: ServerResponse) {
    metrics.slackRequests.inc({ outcome: "store_down" });
    const { kind, payload } = entry;
    const input = kind === "view_submission" ? firstInputBlock(payload) : undefined;
    if (kind === "block_actions") {
      HTTPModuleFunctions.buildNoBodyResponse(res, 200);
      track(replyPrivately(deps, payload as Parameters<typeof replyPrivately>[1], STORE_DOWN_TEXT));
    } else if (kind === "command") {
      HTTPModuleFunctions.buildContentResponse(res, { response_type: "ephemeral", text: STORE_DOWN_TEXT });
    } else if (input) {
      HTTPModuleFunctions.buildContentResponse(res, {
        response_action: "errors",
        errors: { [input]: STORE_DOWN_PLAIN },
      });
    } else if (kind === "view_submission") {
      // A confirmation (nothing to type in): the modal itself says so, in place of Slack's
      // generic "trouble connecting"; the person closes it and asks again from the message.
      HTTPModuleFunctions.buildContentResponse(res, {
        response_action: "update",
        view: noticeModal(viewTitle(payload) ?? "Action center", STORE_DOWN_TEXT),
      });
    } else {
      // Events and the rest: Slack sends them again later.
      HTTPModuleFunctions.buildNoBodyResponse(res, 503);
    }
  }

  return {
    path: SLACK_EVENTS_PATH,
    startRecovery: () => inbox.startRecovery(),
    async close() {
      afterBurst.flush();
      await Promise.allSettled([...inFlight]);
      await inbox.drain();
    },
    async listener(req, res) {
      let buffered: Buffered;
      try {
        buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, BODY_LIMIT);
      } catch (error) {
        const tooLarge = HTTPModuleFunctions.isRawBodyError(error) && error.type === "entity.too.large";
        log.warn({ err: error }, "unreadable request to the Slack endpoint");
        HTTPModuleFunctions.buildNoBodyResponse(res, tooLarge ? 413 : 400);
        return;
      }
      const signed = verifySignature(buffered, signingSecret, Date.now());
      if (!signed.ok) {
        log.warn({ reason: signed.reason }, "refused a request to the Slack endpoint");
        return answer(res, 401, signed.reason);
      }
      let body: unknown;
      try {
        body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
      } catch {
        return answer(res, 400, "malformed");
      }
      // Acts on nothing: Bolt answers the challenge and the SSL check as it always has.
      if (isRecord(body) && (body.ssl_check === "1" || body.type === "url_verification")) {
        return bolt.receiver.requestListener(buffered, res);
      }
      const request = inboxRequestOf(body, signed.signature);
      if (!request) return answer(res, 400, "malformed");
      // Text Postgres cannot store (a NUL, an unpaired surrogate) could not enter the inbox: said
      // so with its path, rather than as the store being down.
      const unstorable = unstorableTextPath(request.payload);
      if (unstorable) {
        log.warn(
          { path: unstorable, kind: request.kind },
          "refused a Slack request with text Postgres cannot store",
        );
        metrics.slackRequests.inc({ outcome: "unstorable" });
        res.writeHead(400, { "content-type": "application/json" }).end(
          JSON.stringify({
            error: "invalid_request",
            issues: [{ path: unstorable, message: NOT_STORABLE_MESSAGE }],
          }),
        );
        return;
      }
      const retry: SlackRetry = {
        retryNum: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(buffered),
        retryReason: HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(buffered),
      };
      // A click being written keeps the handling of the clicks before it waiting: acks first.
      const atOnce = answeredOnceWritten(request);
      const release = atOnce ? afterBurst.hold() : () => {};
      let entry: InboxEntry | null;
      try {
        entry = await inbox.record(request);
      } catch (error) {
        release();
        log.error({ err: error, kind: request.kind }, "could not write a Slack request to the inbox");
        return storeDown(request, res);
      }
      if (entry === null) {
        release();
        // Slack's own retry of a request it already delivered: answered, and not acted on again.
        if (retry.retryNum !== undefined) return answer(res, 200, "retry_of_received");
        log.warn({ kind: request.kind }, "refused a second delivery of a signed Slack request");
        return answer(res, 401, "replayed");
      }
      metrics.slackRequests.inc({ outcome: "accepted" });
      if (atOnce) {
        HTTPModuleFunctions.buildNoBodyResponse(res, 200);
        const click = entry;
        afterBurst(() => track(inbox.handle(click, async () => {}, retry)));
        release();
        return;
      }
      // The listener's ack is the answer, given once the request is written.
      const ack = new HTTPResponseAck({
        logger,
        processBeforeResponse: false,
        httpRequest: buffered,
        httpRequestBody: body as Record<string, unknown>,
        httpResponse: res,
      });
      await inbox.handle(entry, ack.bind(), retry);
    },
  };
}

const STORE_DOWN_PLAIN = "Could not record your request, nothing was done — try again in a moment.";

/** Clicks are handled once none has arrived for QUIET_MS, or at the latest MAX_WAIT_MS after the first. */
const QUIET_MS = 3;
const MAX_WAIT_MS = 100;

/**
 * Runs work once the burst it arrived in is over: while clicks keep arriving, acking them comes
 * first; a lone click waits only `quietMs`, and a steady stream at most `maxWaitMs`. A click
 * still being written to the inbox `hold`s the burst open: its ack is not answered yet.
 */
export function quietScheduler(quietMs: number, maxWaitMs: number) {
  let batch: (() => unknown)[] = [];
  let firstAt = 0;
  let held = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    const due = batch;
    batch = [];
    timer = undefined;
    for (const work of due) work();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const untilLongest = firstAt + maxWaitMs - Date.now();
    timer = setTimeout(run, Math.max(0, held > 0 ? untilLongest : Math.min(quietMs, untilLongest)));
  };
  const schedule = (work: () => unknown) => {
    if (batch.length === 0) firstAt = Date.now();
    batch.push(work);
    arm();
  };
  /** Keeps the burst open until the returned release is called (once). */
  schedule.hold = () => {
    held += 1;
    arm();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held -= 1;
      arm();
    };
  };
  /** Runs what waits now (shutdown). */
  schedule.flush = () => {
    clearTimeout(timer);
    run();
  };
  return schedule;
}

export type SignatureCheck =
  | { ok: true; signature: string }
  | { ok: false; reason: "bad_signature" | "stale" | "future" };

/**
 * Slack's v0 signature over the raw body and timestamp, with the timestamp within
 * MAX_CLOCK_SKEW_S of `nowMs` in either direction: a request signed for the future would
 * otherwise stay fresh, and replayable, for as long as its timestamp is ahead.
 */
export function verifySignature(req: Buffered, signingSecret: string, nowMs: number): SignatureCheck {
  const signature = req.headers["x-slack-signature"];
  const timestamp = Number(req.headers["x-slack-request-timestamp"]);
  if (typeof signature !== "string" || !Number.isInteger(timestamp))
    return { ok: false, reason: "bad_signature" };
  const skew = timestamp - Math.floor(nowMs / 1000);
  if (skew < -MAX_CLOCK_SKEW_S) return { ok: false, reason: "stale" };
  if (skew > MAX_CLOCK_SKEW_S) return { ok: false, reason: "future" };
  const headers = { "x-slack-signature": signature, "x-slack-request-timestamp": timestamp };
  if (
    !isValidSlackRequest({ signingSecret, body: req.rawBody.toString(), headers, nowMilliseconds: nowMs })
  ) {
    return { ok: false, reason: "bad_signature" };
  }
  return { ok: true, signature };
}

/**
 * Whether the request's answer is an empty 200 whatever its listener does: a click (every
 * block_actions listener acks with nothing), or a confirmation whose listener acks with nothing
 * first. Those are answered once written and handled once the burst is over.
 */
export function answeredOnceWritten(request: { kind: string; payload: Record<string, unknown> }): boolean {
  if (request.kind === "block_actions") return true;
  if (request.kind !== "view_submission") return false;
  const callbackId = (request.payload.view as { callback_id?: unknown } | undefined)?.callback_id;
  return typeof callbackId === "string" && EMPTY_ACK_CALLBACK_IDS.has(callbackId);
}

function viewTitle(payload: Record<string, unknown>): string | undefined {
  const title = (payload.view as { title?: { text?: unknown } } | undefined)?.title?.text;
  return typeof title === "string" && title.length > 0 ? title : undefined;
}

/** The block id of a submitted modal's first input, where a modal shows an error. */
function firstInputBlock(payload: Record<string, unknown>): string | undefined {
  const view = payload.view as { blocks?: { type?: string; block_id?: string }[] } | undefined;
  return view?.blocks?.find((block) => block.type === "input" && typeof block.block_id === "string")
    ?.block_id;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
