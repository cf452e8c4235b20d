// Approve all and Review on an investigation's message, answered in words for the person who
// clicked; the store and the rules are the service's.
import { approveAll, waitingOnMessage } from "../../services/approveAll.ts";
import type { SlackDeps } from "../deps.ts";
import { refusalFor } from "./decide.ts";

const NOT_OURS_TEXT = "That message is not ours any more.";

export async function approveAllInSlack(
  deps: SlackDeps,
  request: { userId: string; messageKey: number },
): Promise<string> {
  const { userId, messageKey } = request;
  const outcome = await approveAll(deps.ctx, {
    messageKey,
    actor: userId,
    refusalFor: (action) => refusalFor(deps, action, userId, "approve"),
  });
  if (!outcome.ok) return outcome.message;
  const { approved, recorded, skipped } = outcome;
  const lines = [
    `Approved ${approved} action${approved === 1 ? "" : "s"}.`,
    recorded ? `${recorded} need another approver (two-person rule); your approval is recorded.` : "",
    skipped ? `${skipped} had been decided meanwhile.` : "",
    ...new Set(outcome.refusals.map((refusal) => refusal.text)),
  ];
  return lines.filter(Boolean).join(" ");
}

export async function reviewInSlack(deps: SlackDeps, messageKey: number): Promise<string> {
  const waiting = await waitingOnMessage(deps.ctx.db, messageKey);
  if (!waiting) return NOT_OURS_TEXT;
  const filter = waiting.investigationId ? ` investigation:${waiting.investigationId}` : "";
  return `${waiting.pending.length} still waiting. Review them one by one with \`/action-center pending${filter}\`.`;
}
