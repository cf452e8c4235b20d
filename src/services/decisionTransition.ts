// The status change each decision makes and the work it starts, shared by people's decisions
// (services/decide.ts) and the policy's own auto-approval at ingest, so that an approval starts
// its run the same way whoever gives it.

import type { TransitionRequest } from "../db/transitions.ts";
import type { Decision } from "../domain/status.ts";

export type DecisionRequest = {
  actionId: number;
  decision: Decision;
  /** The verified Slack user ID, or `policy`. */
  actor: string;
  comment?: string;
  /** More for the audit event, e.g. the request id that the undos of one confirmation share. */
  detail?: Record<string, unknown>;
  /**
   * Distinct approvers an approval needs at least, over what the action itself needs: 2 when
   * nobody can tell whether this approver requested it (policy `unknownRequester`).
   */
  approvalsAtLeast?: number;
};

export function decisionTransition(request: DecisionRequest): TransitionRequest {
  const { actionId, decision, actor, comment } = request;
  const detail = { ...request.detail, ...(comment ? { comment } : {}) };
  switch (decision) {
    case "approve":
    case "reject":
      return {
        actionId,
        transition: decision,
        actor,
        detail,
        set: () => ({ decidedBy: actor, decidedAt: new Date(), decisionComment: comment ?? null }),
        enqueue: (action) =>
          decision === "approve"
            ? [{ topic: "execute", payload: { actionId, operation: "apply", attempt: action.attempt } }]
            : [],
      };
    case "retry":
      return {
        actionId,
        transition: "retry",
        actor,
        detail,
        set: (current) => ({ attempt: current.attempt + 1, error: null }),
        enqueue: (action) => [
          { topic: "execute", payload: { actionId, operation: "apply", attempt: action.attempt } },
        ],
      };
    case "request_undo":
    case "retry_undo":
      return {
        actionId,
        transition: decision,
        actor,
        detail,
        set: (current) => ({ undoAttempt: current.undoAttempt + 1, error: null }),
        enqueue: (action) => [
          { topic: "execute", payload: { actionId, operation: "undo", attempt: action.undoAttempt } },
        ],
      };
  }
}
