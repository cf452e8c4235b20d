// The action object as the HTTP API shows it: every field it was sent with, plus its state.
import type { ActionEventRow, ActionRow } from "../../db/schema.ts";

export function presentAction(row: ActionRow, events?: ActionEventRow[]) {
  return {
    id: String(row.id),
    externalId: row.externalId,
    source: row.source,
    type: row.type,
    status: row.status,
    ...(row.investigationId !== null && { investigationId: row.investigationId }),
    ...(row.incidentId !== null && { incidentId: row.incidentId }),
    ...(row.deviceId !== null && { device: { id: row.deviceId, name: row.deviceName } }),
    entity: row.entity,
    ...(row.requestedBy !== null && { requestedBy: row.requestedBy }),
    ...(row.comment !== null && { comment: row.comment }),
    createdAt: row.createdAt.toISOString(),
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decisionComment: row.decisionComment,
    completedAt: row.completedAt?.toISOString() ?? null,
    error: row.error,
    attempt: row.attempt,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    approvalsNeeded: row.approvalsNeeded,
    undoApprovalsNeeded: row.undoApprovalsNeeded,
    ...(events && {
      events: events.map((event) => ({
        at: event.at.toISOString(),
        kind: event.kind,
        actor: event.actor,
        detail: event.detail,
      })),
    }),
  };
}
