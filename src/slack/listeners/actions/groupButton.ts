// The buttons of an investigation too large for per-action rows: Approve all and Review.
import { and, asc, eq } from "drizzle-orm";
import { actions, slackMessages } from "../../../db/schema.ts";
import { appendEvent } from "../../../db/transitions.ts";
import { decideInTransaction } from "../../../services/decide.ts";
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { refusalFor, STORE_DOWN_TEXT } from "../../handlers/decide.ts";
import { replyPrivately } from "../../reply.ts";
import type { ButtonArgs } from "./actionButton.ts";

// Approvals per transaction: big enough to spare thousands of commits, small enough that the
// row locks are held briefly while people click elsewhere.
const APPROVE_ALL_BATCH = 200;

export function groupButton(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const parsed = buttonRoutes.group.parse(action.action_id);
    if (!parsed) return;
    const { db } = deps.ctx;
    try {
      const [message] = await db.select().from(slackMessages).where(eq(slackMessages.id, parsed.messageKey));
      if (!message) return await replyPrivately(deps, body, "That message is not ours any more.");
      const pending = await db
        .select()
        .from(actions)
        .where(and(eq(actions.slackMessageId, message.id), eq(actions.status, "pending")))
        .orderBy(asc(actions.id));
      if (parsed.kind === "review") {
        const filter = message.investigationId ? ` investigation:${message.investigationId}` : "";
        return await replyPrivately(
          deps,
          body,
          `${pending.length} still waiting. Review them one by one with \`/action-center pending${filter}\`.`,
        );
      }
      if (pending.length === 0)
        return await replyPrivately(deps, body, "Nothing is waiting for approval here.");
      // The same checks as a single Approve (per-type approvers, no self-approval), each refusal
      // audited; then the approvals commit in batches rather than one transaction per action.
      const userId = body.user.id;
      const allowed: number[] = [];
      const refusals: string[] = [];
      for (const row of pending) {
        const refusal = await refusalFor(deps, row, userId, "approve");
        if (!refusal) {
          allowed.push(row.id);
          continue;
        }
        await appendEvent(db, {
          actionId: row.id,
          kind: "decision_refused",
          actor: userId,
          detail: { decision: "approve", reason: refusal.reason },
        });
        deps.ctx.metrics.decisions.inc({ decision: "approve", outcome: refusal.outcome });
        if (!refusals.includes(refusal.text)) refusals.push(refusal.text);
      }
      let approved = 0;
      let recorded = 0;
      for (let i = 0; i < allowed.length; i += APPROVE_ALL_BATCH) {
        await db.transaction(async (tx) => {
          for (const actionId of allowed.slice(i, i + APPROVE_ALL_BATCH)) {
            const outcome = await decideInTransaction(tx, { actionId, decision: "approve", actor: userId });
            // Under the two-person rule a first approval is recorded; the action waits for a second.
            if (outcome.ok && "approvals" in outcome) recorded += 1;
            else if (outcome.ok) approved += 1;
          }
        });
      }
      deps.ctx.metrics.decisions.inc({ decision: "approve", outcome: "done" }, approved);
      const skipped = allowed.length - approved - recorded;
      const lines = [
        `Approved ${approved} action${approved === 1 ? "" : "s"}.`,
        recorded ? `${recorded} need another approver (two-person rule); your approval is recorded.` : "",
        skipped ? `${skipped} had been decided meanwhile.` : "",
        ...refusals,
      ];
      await replyPrivately(deps, body, lines.filter(Boolean).join(" "));
    } catch (error) {
      deps.ctx.log.error({ err: error, messageKey: parsed.messageKey }, "approve all failed");
      await replyPrivately(deps, body, STORE_DOWN_TEXT);
    }
  };
}
