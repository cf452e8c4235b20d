// Each Slack delivery handled once. Slack redelivers an envelope it saw no ack for (a connection
// dropped or refreshed in between, a slow ack), with `retry_attempt` counting up, on whichever of
// the app's connections it picks, possibly another process's. Handled twice, a Retry click would
// start another attempt and an Approve would answer "already approved" to the person who approved.
// Deliveries are claimed in Postgres (db/queries/deliveries.ts) by what identifies the gesture,
// which a redelivery carries unchanged: a click's, submission's or command's trigger_id, an
// event's event_id.
import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { AppContext } from "../context.ts";
import {
  claimDelivery,
  markDeliveryHandled,
  purgeDeliveries,
  releaseDelivery,
} from "../db/queries/deliveries.ts";

// A listener acks within Slack's 3 s and leaves slow work to the workers; a claim this old and
// never marked handled was held by a process that died before acking, so its redelivery is taken.
const STALE_CLAIM_SECONDS = 30;
// Slack gives up redelivering within the hour; a day keeps every claim a retry could meet.
const KEEP_DELIVERIES_SECONDS = 24 * 60 * 60;

type Body = {
  type?: string;
  event_id?: unknown;
  trigger_id?: unknown;
  command?: unknown;
  user?: { id?: unknown };
  actions?: { action_id?: unknown; action_ts?: unknown }[];
};

/** What identifies the gesture behind a delivery; undefined when nothing does (then no dedupe). */
export function deliveryKey(body: Body): string | undefined {
  if (typeof body.event_id === "string") return `event:${body.event_id}`;
  const kind = typeof body.command === "string" ? "command" : (body.type ?? "unknown");
  if (typeof body.trigger_id === "string") return `${kind}:${body.trigger_id}`;
  const [action] = body.actions ?? [];
  if (typeof action?.action_id === "string" && typeof action.action_ts === "string")
    return `${kind}:${String(body.user?.id)}:${action.action_id}:${action.action_ts}`;
  return undefined;
}

/** Bolt global middleware: a delivery already handled is acked and dropped; one in hand elsewhere is left unacked. */
export function handleEachDeliveryOnce(ctx: Pick<AppContext, "db" | "log">): Middleware<AnyMiddlewareArgs> {
  const log = ctx.log.child({ component: "slack-deliveries" });
  return async (args) => {
    const key = deliveryKey(args.body as Body);
    if (key === undefined) return args.next();
    let claim: Awaited<ReturnType<typeof claimDelivery>>;
    try {
      claim = await claimDelivery(ctx.db, key, STALE_CLAIM_SECONDS);
    } catch (error) {
      // Without Postgres nothing can be decided either: the listener tells the person so.
      log.error({ err: error, key }, "could not claim a Slack delivery; handling it unchecked");
      return args.next();
    }
    if (claim === "claimed") {
      try {
        await args.next();
      } catch (error) {
        // Most often the ack itself failed (the connection closed under it) before anything was
        // decided: Slack sends the envelope again, and that delivery must be handled.
        await releaseDelivery(ctx.db, key).catch((releaseError: unknown) =>
          log.error({ err: releaseError, key }, "could not release a failed Slack delivery"),
        );
        throw error;
      }
      await markDeliveryHandled(ctx.db, key).catch((error: unknown) =>
        log.error({ err: error, key }, "could not mark a Slack delivery handled"),
      );
      return;
    }
    if (claim === "handled") {
      log.info({ key }, "a Slack redelivery of what was already handled: acked, not handled again");
      if ("ack" in args && typeof args.ack === "function") await args.ack();
      return;
    }
    // Another listener is on it right now. No ack: if it finishes, Slack's next retry is acked
    // as handled; if its process died, the next retry after the claim goes stale is handled.
    log.info({ key }, "a Slack redelivery of what another listener is handling: left unacked");
  };
}

/** Forgets old claims; run on each Socket Mode (re)connection, which Slack renews every few hours. */
export async function forgetOldDeliveries(ctx: Pick<AppContext, "db" | "log">): Promise<void> {
  try {
    const forgotten = await purgeDeliveries(ctx.db, KEEP_DELIVERIES_SECONDS);
    if (forgotten > 0) ctx.log.debug({ forgotten }, "forgot old Slack deliveries");
  } catch (error) {
    ctx.log.warn(
      { err: error },
      "could not forget old Slack deliveries; trying again on the next connection",
    );
  }
}
