// A person's decision on an action, committed with its audit event and the work it starts.
// Who may decide is checked by the caller (the Slack layer knows the verified user); this is
// the single place where a decision turns into a status change and queued work.
import type { Db } from "../db/client.ts";
import { type TransitionOutcome, transitionAction } from "../db/queries/actions.ts";
import type { Decision } from "../domain/status.ts";

export type DecisionRequest = {
  actionId: number;
  decision: Decision;
  /** The verified Slack user ID. */
  actor: string;
  comment?: string;
};

export async function decide(db: Db, request: DecisionRequest): Promise<TransitionOutcome> {
  const { actionId, decision, actor, comment } = request;
  const detail = comment ? { comment } : {};
  return db.transaction((tx) => {
    switch (decision) {
      case "approve":
      case "reject":
        return transitionAction(tx, {
          actionId,
          transition: decision,
          actor,
          detail,
          set: () => ({ decidedBy: actor, decidedAt: new Date(), decisionComment: comment ?? null }),
          enqueue: (action) =>
            decision === "approve"
              ? [{ topic: "execute", payload: { actionId, operation: "apply", attempt: action.attempt } }]
              : [],
        });
      case "retry":
        return transitionAction(tx, {
          actionId,
          transition: "retry",
          actor,
          detail,
          set: (current) => ({ attempt: current.attempt + 1, error: null }),
          enqueue: (action) => [
            { topic: "execute", payload: { actionId, operation: "apply", attempt: action.attempt } },
          ],
        });
      case "request_undo":
      case "retry_undo":
        return transitionAction(tx, {
          actionId,
          transition: decision,
          actor,
          detail,
          set: (current) => ({ undoAttempt: current.undoAttempt + 1, error: null }),
          enqueue: (action) => [
            { topic: "execute", payload: { actionId, operation: "undo", attempt: action.undoAttempt } },
          ],
        });
    }
  });
}
