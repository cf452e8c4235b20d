// The clock of a pending action: its expiry, reminder and escalation are delayed jobs created with
// the action (through the outbox), so they survive restarts; the store decides whether each is
// still due, so a job that fires after a decision changes nothing.

import type { WebClient } from "@slack/web-api";
import { DelayedError, type Job, UnrecoverableError, type Worker } from "bullmq";
import type { AppContext } from "../../context.ts";
import type { Tx } from "../../db/client.ts";
import { transactionLock } from "../../db/locks.ts";
import { actionsWithEvent, getAction, lockPendingOfMessage } from "../../db/queries/actions.ts";
import { approversOf } from "../../db/queries/approvals.ts";
import { getMessage } from "../../db/queries/messages.ts";
import type { ActionRow } from "../../db/schema.ts";
import { appendEvents } from "../../db/transitions.ts";
import { ACTION_TYPE_INFO } from "../../domain/actionTypes.ts";
import type { ApproverList } from "../../domain/permissions.ts";
import { approversFor, remindersFor, toApproverList } from "../../domain/policy.ts";
import { expireAction } from "../../services/expiry.ts";
import { expireStepUpIfDue } from "../../services/stepUp.ts";
import { target } from "../../slack/blocks/actionMessage.ts";
import { escapeInline, mentionList, slackDate } from "../../slack/text.ts";
import type { TimerJob } from "../queues.ts";
import { slackCall } from "../slackCall.ts";
import type { JobProcessor } from "../worker.ts";

// A reminder due before its message is posted (the post gathers an investigation's batch first)
// looks again this much later, without spending one of the job's attempts.
const UNPOSTED_RECHECK_MS = 1000;

const SENT_EVENT = { remind: "reminded", escalate: "escalated" } as const;

/** `approvers`: who may decide (APPROVERS), mentioned by reminders that name nobody themselves. */
export function createTimerProcessor(
  ctx: AppContext,
  client: WebClient,
  approvers: ApproverList,
): JobProcessor<TimerJob> {
  return async function timer(job, { worker, token }) {
    const { data } = job;
    if (data.kind === "sign_in_expiry") return endSignInIfDue(ctx, job, data.stepUpId, token);
    const { actionId, kind } = data;
    if (kind === "expire") return expireIfDue(ctx, actionId);
    return ctx.db.transaction((tx) => remind({ ctx, client, worker, approvers }, tx, job, token, kind));
  };
}

async function endSignInIfDue(
  ctx: AppContext,
  job: Job<TimerJob>,
  stepUpId: number,
  token: string | undefined,
): Promise<string> {
  const ended = await expireStepUpIfDue(ctx.db, stepUpId);
  if (ended.outcome !== "later") return ended.outcome;
  // The link was used: the sign-in it started has until then.
  await job.moveToDelayed(ended.at.getTime(), token);
  throw new DelayedError();
}

async function expireIfDue(ctx: AppContext, actionId: number): Promise<string> {
  const action = await getAction(ctx.db, actionId);
  if (!action) throw new UnrecoverableError(`action ${actionId} does not exist`);
  if (action.status !== "pending") return "not_pending";
  // Only a clock running behind the dispatcher's fires early; the sweep expires it a little later.
  if (action.expiresAt === null || action.expiresAt > new Date()) return "not_due";
  return (await expireAction(ctx, actionId)).ok ? "expired" : "not_pending";
}

type Poster = { ctx: AppContext; client: WebClient; worker: Worker; approvers: ApproverList };

// The message's other actions due this soon are reminded in the same post: a little early beats a
// second post, and it absorbs clock differences between the machines.
const REMINDER_GRACE_MS = 60_000;

/**
 * Posts the reminder (or escalation) of one action, and with it those of the other actions of its
 * message that are due too, so that an investigation's batch gets one post, not one per action.
 */
async function remind(
  { ctx, client, worker, approvers }: Poster,
  tx: Tx,
  job: Job<TimerJob>,
  token: string | undefined,
  kind: "remind" | "escalate",
): Promise<string> {
  const { actionId } = job.data;
  const found = await getAction(tx, actionId);
  if (!found) throw new UnrecoverableError(`action ${actionId} does not exist`);
  if (found.status !== "pending") return "not_pending";
  if (found.slackMessageId === null)
    throw new UnrecoverableError(`pending action ${actionId} has no message`);
  const message = await getMessage(tx, found.slackMessageId);
  if (!message?.ts) {
    await job.moveToDelayed(Date.now() + UNPOSTED_RECHECK_MS, token);
    throw new DelayedError();
  }
  // Held while posting: the message's other reminders wait and then find this one's events, and a
  // decision waits on the row locks, so no reminder follows a decision.
  await tx.execute(transactionLock("messageReminders", message.id));
  const pending = await lockPendingOfMessage(tx, message.id);
  if (!pending.some((a) => a.id === actionId)) return "not_pending";
  const sent = new Set(
    await actionsWithEvent(
      tx,
      pending.map((a) => a.id),
      SENT_EVENT[kind],
    ),
  );
  if (sent.has(actionId)) return "already_sent";
  // The policy in force now: a restart with a new policy file may have dropped this step.
  const stepOf = (action: ActionRow) => remindersFor(ctx.config.policy, action).find((s) => s.kind === kind);
  const step = stepOf(pending.find((a) => a.id === actionId)!);
  if (!step) return "not_configured";
  const until = Date.now() + REMINDER_GRACE_MS;
  const due = pending.flatMap((action) => {
    const own = action.id === actionId ? step : stepOf(action);
    const isDue = own && own.channel === step.channel && action.createdAt.getTime() + own.afterMs <= until;
    return !sent.has(action.id) && (action.id === actionId || isDue) ? [{ action, step: own! }] : [];
  });

  const mention = mentionList(
    mergeLists(
      due.map(({ action, step }) =>
        step.mention ? toApproverList(step.mention) : approversFor(ctx.config.policy, action.type, approvers),
      ),
    ),
  );
  const text = await reminderText(
    tx,
    due.map((d) => d.action),
    kind,
    mention,
  );
  if (step.channel) {
    const link = await slackCall(ctx, worker, "chat.getPermalink", () =>
      client.chat.getPermalink({ channel: message.channel, message_ts: message.ts! }),
    );
    await slackCall(ctx, worker, "chat.postMessage", () =>
      client.chat.postMessage({
        channel: step.channel!,
        text: `${text} <${link.permalink}|Open the request>`,
        unfurl_links: false,
      }),
    );
  } else {
    await slackCall(ctx, worker, "chat.postMessage", () =>
      client.chat.postMessage({
        channel: message.channel,
        thread_ts: message.ts!,
        text,
        // An escalation in the thread also shows in the channel, where more people see it.
        reply_broadcast: kind === "escalate",
      }),
    );
  }
  await appendEvents(
    tx,
    due.map(({ action }) => ({
      actionId: action.id,
      kind: SENT_EVENT[kind],
      actor: "system",
      detail: { channel: step.channel ?? message.channel, mention },
    })),
  );
  return "sent";
}

function mergeLists(lists: ApproverList[]): ApproverList {
  return {
    userIds: [...new Set(lists.flatMap((l) => l.userIds))],
    groupIds: [...new Set(lists.flatMap((l) => l.groupIds))],
  };
}

/** One action in words with its approvals so far, or how many of the message's actions wait. */
async function reminderText(
  tx: Tx,
  due: ActionRow[],
  kind: "remind" | "escalate",
  mention: string,
): Promise<string> {
  const lead = kind === "remind" ? ":bell: *Reminder:*" : ":rotating_light: *Escalation:*";
  const who = mention ? ` ${mention}` : "";
  const first = due[0]!;
  const since = slackDate(new Date(Math.min(...due.map((a) => a.createdAt.getTime()))));
  if (due.length > 1)
    return `${lead} ${due.length} actions are still waiting for approval, since ${since}.${who}`;
  let progress = "";
  if (first.approvalsNeeded > 1) {
    const given = (await approversOf(tx, first.id, "approve")).length;
    progress = ` (${given} of ${first.approvalsNeeded} approvals)`;
  }
  const what = `*${ACTION_TYPE_INFO[first.type].label}* ${target(first, escapeInline)}`;
  return `${lead} ${what} is still waiting for approval${progress}, since ${since}.${who}`;
}
