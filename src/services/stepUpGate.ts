// The step-up gate in the decision path (policy `stepUp`): called by the decision service with
// the action locked, before its transition, it holds a decision that needs a fresh sign-in
// instead of committing it, and gives the single-use link's secret. services/stepUp.ts finishes
// what is held here.
import { createHash, randomBytes } from "node:crypto";
import type { Tx } from "../db/client.ts";
import { approversOf } from "../db/queries/approvals.ts";
import { holdStepUp } from "../db/queries/stepUps.ts";
import type { ActionRow, ApprovalOperation } from "../db/schema.ts";
import { recordChange } from "../db/transitions.ts";
import { needsStepUp, type Policy } from "../domain/policy.ts";
import { type Refusal, refuse } from "../domain/result.ts";
import { nextStatus } from "../domain/status.ts";
import type { DecisionRequest } from "./decisionTransition.ts";

/** How a decision service treats a decision the policy says needs a fresh sign-in. */
export type StepUpGate =
  /** A click on one action: hold the decision and give the person a link. */
  | { policy: Policy; mode: "offer" }
  /** Many actions at once: refuse it (each needs a sign-in of its own, from its own message). */
  | { policy: Policy; mode: "refuse" }
  /** The sign-in is done and matched: let it commit. */
  | { policy: Policy; mode: "signed_in" };

/** A decision held for a sign-in: the link's secret (shown once, never stored) and its end. */
export type HeldForSignIn = { stepUpId: number; token: string; expiresAt: Date };

/** The gate's answer instead of the decision: held for a sign-in, or refused (many at once). */
export type Held =
  | { ok: true; action: ActionRow; signIn: HeldForSignIn }
  | (Refusal<"sign_in_needed"> & { action: ActionRow });

/** Where the sign-in pages live: the link given in Slack, and the provider's redirect URI. */
export const SIGN_IN_PATH = "/sign-in";
export const SIGN_IN_CALLBACK_PATH = `${SIGN_IN_PATH}/callback`;

const STEP_UP_DECISION = { approve: "approve", request_undo: "undo" } as const;

export const SIGN_IN_NEEDED = "needs a fresh sign-in: approve or undo it from its own message";

/** A value's hash, as the store keeps the link's token and the OAuth state (never the values). */
export function secretHash(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

export function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Called by the decision service with the action locked, before its transition: null when the
 * decision goes ahead; otherwise the answer instead of it (held for a sign-in, or refused).
 */
export async function holdForSignIn(
  tx: Tx,
  action: ActionRow,
  request: DecisionRequest,
  gate: StepUpGate,
  /** The approval it gives, when the action waits for several (decide.ts `countedApproval`). */
  counted: { operation: ApprovalOperation; needed: number } | null | undefined,
): Promise<Held | null> {
  if (gate.mode === "signed_in") return null;
  if (request.decision !== "approve" && request.decision !== "request_undo") return null;
  // A decision the status machine refuses anyway is refused by it, with its own words.
  if (!nextStatus(action, request.decision).ok) return null;
  let lastApproval = true;
  if (counted) {
    const by = await approversOf(tx, action.id, counted.operation);
    // A second approval by the same person is refused by the count, sign-in or not.
    if (by.includes(request.actor)) return null;
    lastApproval = by.length + 1 >= counted.needed;
  }
  if (!needsStepUp(gate.policy, action, STEP_UP_DECISION[request.decision], lastApproval)) return null;
  if (gate.mode === "refuse") return { ...refuse("sign_in_needed", SIGN_IN_NEEDED), action };
  const token = randomSecret();
  const expiresAt = new Date(Date.now() + gate.policy.signIn.linkValidFor);
  const held = await holdStepUp(tx, {
    tokenHash: secretHash(token),
    actionId: action.id,
    decision: request.decision,
    slackUserId: request.actor,
    expiresAt,
  });
  // At the link's end the message stops saying it awaits the sign-in (services/stepUp.ts).
  const end = {
    actionId: action.id,
    kind: "sign_in_expiry",
    stepUpId: held.id,
    dueAt: expiresAt.getTime(),
  } as const;
  await recordChange(
    tx,
    action,
    {
      kind: "step_up_requested",
      actor: request.actor,
      detail: { decision: request.decision, stepUpId: held.id, expiresAt: expiresAt.toISOString() },
    },
    [{ topic: "timers", payload: { timers: [end] } }],
  );
  return { ok: true, action, signIn: { stepUpId: held.id, token, expiresAt } };
}
