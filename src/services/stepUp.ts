// Step-up sign-in: the decisions the policy marks risky commit only after the person has signed
// in afresh with the identity provider, as the Slack user who clicked. The click holds the
// decision (`holdForSignIn`, called by the decision service before its transition) and gives a
// single-use link; the link starts the sign-in once (`startSignIn`); the provider's answer
// finishes it (`finishSignIn`): the decision then commits through the same decision service,
// with the same checks, and its audit event records who signed in, when and how.
import type { Db } from "../db/client.ts";
import { getAction, lockAction } from "../db/queries/actions.ts";
import {
  finishStepUp,
  lockStepUp,
  startStepUp,
  stepUpById,
  stepUpByState,
  stepUpByToken,
} from "../db/queries/stepUps.ts";
import type { ActionRow, StepUpRow } from "../db/schema.ts";
import { recordChange } from "../db/transitions.ts";
import { matchIdentity, type Policy, type SignedInClaims } from "../domain/policy.ts";
import { type Refusal, type Result, refuse } from "../domain/result.ts";
import { decideInTransaction } from "./decide.ts";
import { randomSecret, secretHash } from "./stepUpGate.ts";

// --- The link and the sign-in -------------------------------------------------------------

export type LinkRefusal = "no_such_link" | "link_expired" | "link_used";

/** What the link's page shows: the held decision and its action, or why the link does not work. */
export async function stepUpForLink(
  db: Db,
  token: string,
): Promise<Result<{ stepUp: StepUpRow; action: ActionRow }, LinkRefusal>> {
  const stepUp = await stepUpByToken(db, secretHash(token));
  if (!stepUp) return refuse("no_such_link", "This sign-in link is not known here.");
  const refusal = await refuseUnusable(db, stepUp);
  if (refusal) return refusal;
  return { ok: true, stepUp, action: (await getAction(db, stepUp.actionId))! };
}

/** A link that cannot start a sign-in any more: audited and refused. */
async function refuseUnusable(db: Db, stepUp: StepUpRow): Promise<Refusal<LinkRefusal> | null> {
  if (stepUp.status === "open" && stepUp.expiresAt > new Date()) return null;
  // Past its time (its timer may not have run yet), or ended by it, or replaced by a later link.
  const expired = stepUp.status === "open" || stepUp.status === "expired";
  await db.transaction(async (tx) => {
    const action = await lockAction(tx, stepUp.actionId);
    if (stepUp.status === "open") await finishStepUp(tx, stepUp.id, "expired");
    await recordChange(tx, action!, {
      kind: "step_up_refused",
      actor: stepUp.slackUserId,
      detail: {
        decision: stepUp.decision,
        stepUpId: stepUp.id,
        reason: expired ? "the link had expired" : "the link had been used already",
      },
    });
  });
  return expired
    ? refuse(
        "link_expired",
        "This sign-in link has expired; nothing was done. Click the button in Slack again.",
      )
    : refuse(
        "link_used",
        "This sign-in link has been used already; each link works once. Click the button in Slack again.",
      );
}

/**
 * A step-up's time is up (its timer): a link never used, or a sign-in never finished, ends as
 * expired, in the audit trail, and the action's message stops saying it awaits the sign-in.
 * `later`: the sign-in started and has until then (the timer waits again).
 */
export async function expireStepUpIfDue(
  db: Db,
  stepUpId: number,
): Promise<{ outcome: "expired" | "ended" } | { outcome: "later"; at: Date }> {
  return db.transaction(async (tx) => {
    const stepUp = await lockStepUp(tx, stepUpId);
    if (stepUp?.status !== "open" && stepUp?.status !== "signing_in") return { outcome: "ended" };
    if (stepUp.expiresAt > new Date()) return { outcome: "later", at: stepUp.expiresAt };
    const action = (await lockAction(tx, stepUp.actionId))!;
    await finishStepUp(tx, stepUp.id, "expired");
    await recordChange(tx, action, {
      kind: "step_up_expired",
      actor: stepUp.slackUserId,
      detail: {
        decision: stepUp.decision,
        stepUpId: stepUp.id,
        reason: stepUp.status === "open" ? "the link was not used in time" : "the sign-in took too long",
      },
    });
    return { outcome: "expired" };
  });
}

/** The secrets a sign-in sends to the provider, and the one the browser keeps (a cookie). */
export type SignInSecrets = { state: string; nonce: string; codeVerifier: string; browserSecret: string };

/** Uses the link, once: the sign-in may start. The caller sends the person to the provider. */
export async function startSignIn(
  db: Db,
  token: string,
  policy: Policy,
): Promise<Result<{ stepUp: StepUpRow; secrets: SignInSecrets }, LinkRefusal>> {
  const found = await stepUpForLink(db, token);
  if (!found.ok) return found;
  const secrets = {
    state: randomSecret(),
    nonce: randomSecret(),
    codeVerifier: randomSecret(),
    browserSecret: randomSecret(),
  };
  const started = await startStepUp(
    db,
    found.stepUp.id,
    {
      stateHash: secretHash(secrets.state),
      nonce: secrets.nonce,
      codeVerifier: secrets.codeVerifier,
      browserHash: secretHash(secrets.browserSecret),
    },
    policy.signIn.linkValidFor,
  );
  // Used or expired between the read and now: refused as any later use is.
  if (!started) return (await refuseUnusable(db, (await stepUpByToken(db, secretHash(token)))!))!;
  return { ok: true, stepUp: started, secrets };
}

/** The sign-in in progress that the provider's answer carrying `state` belongs to. */
export async function signInInProgress(
  db: Db,
  state: string,
  browserSecret: string | undefined,
): Promise<Result<{ stepUp: StepUpRow }, "unknown_sign_in" | "other_browser" | "expired">> {
  const stepUp = await stepUpByState(db, secretHash(state));
  if (endedByItsTimer(stepUp)) return SIGN_IN_TOO_LONG;
  if (stepUp?.status !== "signing_in")
    return refuse(
      "unknown_sign_in",
      "This sign-in is not in progress (finished already, or never started here).",
    );
  if (!browserSecret || secretHash(browserSecret) !== stepUp.browserHash)
    return refuse("other_browser", "This sign-in was started in another browser; nothing was done.");
  return { ok: true, stepUp };
}

/** The click's per-person checks, asked again at the finish: why not, or what the decision needs. */
export type Recheck = { ok: true; approvalsAtLeast: number } | { ok: false; reason: string };

/** What the identity provider answered, as the OIDC client verified it. */
export type ProviderAnswer =
  | { kind: "signed_in"; issuer: string; claims: SignedInClaims }
  /** The person cancelled, or the provider refused (`error` from the redirect). */
  | { kind: "cancelled"; error: string; description?: string }
  /** The answer did not verify (token exchange, signature, nonce, max_age…). */
  | { kind: "failed"; message: string };

export type SignInOutcome = Result<
  {
    action: ActionRow;
    decision: StepUpRow["decision"];
    /** Under the two-person rule: the approval counted, the action waits for more. */
    approvals?: { count: number; needed: number };
  },
  "identity_mismatch" | "cancelled" | "failed" | "expired" | "unknown_sign_in" | "decision_refused"
>;

/** A sign-in that ended while the person was at the provider (`expireStepUpIfDue`, audited then). */
const endedByItsTimer = (stepUp: StepUpRow | undefined) =>
  stepUp?.status === "expired" && stepUp.startedAt !== null;

const SIGN_IN_TOO_LONG = refuse(
  "expired",
  "The sign-in took too long; nothing was done. Click the button in Slack again.",
);

/**
 * Finishes a sign-in started here: commits the held decision when the provider signed in the
 * Slack user who clicked, through the decision service; otherwise commits nothing. Either way
 * the outcome is in the action's audit trail. `mayStillDecide`: the caller's per-person check
 * (approver lists, own requests), asked again now, as at the click.
 */
export async function finishSignIn(
  db: Db,
  deps: {
    policy: Policy;
    mayStillDecide: (stepUp: StepUpRow, action: ActionRow) => Promise<Recheck>;
  },
  stepUpId: number,
  answer: ProviderAnswer,
): Promise<SignInOutcome> {
  // Asked before the transaction: it may ask Slack, which must not hold the action's lock.
  const pre = await stepUpById(db, stepUpId);
  const preAction = pre && (await getAction(db, pre.actionId));
  const recheck =
    answer.kind === "signed_in" && pre && preAction ? await deps.mayStillDecide(pre, preAction) : null;
  const forbidden = recheck && !recheck.ok ? recheck.reason : null;
  return db.transaction(async (tx) => {
    const stepUp = await lockStepUp(tx, stepUpId);
    if (endedByItsTimer(stepUp)) return SIGN_IN_TOO_LONG;
    if (stepUp?.status !== "signing_in") {
      return refuse(
        "unknown_sign_in",
        "This sign-in is not in progress (finished already, or never started here).",
      );
    }
    const action = (await lockAction(tx, stepUp.actionId))!;
    const base = { decision: stepUp.decision, stepUpId: stepUp.id };
    const end = async (
      status: "refused" | "cancelled" | "expired",
      kind: string,
      detail: Record<string, unknown>,
      refusal: Refusal<Exclude<SignInOutcome, { ok: true }>["code"]>,
    ): Promise<SignInOutcome> => {
      await finishStepUp(tx, stepUp.id, status);
      await recordChange(tx, action, { kind, actor: stepUp.slackUserId, detail: { ...base, ...detail } });
      return refusal;
    };
    if (stepUp.expiresAt <= new Date()) {
      return end("expired", "step_up_refused", { reason: "the sign-in took too long" }, SIGN_IN_TOO_LONG);
    }
    if (answer.kind === "cancelled") {
      return end(
        "cancelled",
        "step_up_cancelled",
        { error: answer.error, ...(answer.description && { description: answer.description }) },
        refuse("cancelled", "The sign-in was cancelled; nothing was done."),
      );
    }
    if (answer.kind === "failed") {
      return end(
        "refused",
        "step_up_refused",
        { reason: answer.message },
        refuse("failed", "The sign-in could not be verified; nothing was done."),
      );
    }
    const signedIn = signInRecord(answer.issuer, answer.claims);
    const match = matchIdentity(
      deps.policy,
      { userId: stepUp.slackUserId, email: stepUp.slackEmail },
      answer.claims,
    );
    if (!match.ok) {
      return end(
        "refused",
        "step_up_refused",
        { reason: match.message, signIn: signedIn },
        refuse(
          "identity_mismatch",
          "You signed in as somebody other than the Slack user who clicked; nothing was done.",
        ),
      );
    }
    if (forbidden) {
      return end(
        "refused",
        "step_up_refused",
        { reason: forbidden, signIn: signedIn },
        refuse("decision_refused", `Nothing was done: ${forbidden}`),
      );
    }
    const outcome = await decideInTransaction(
      tx,
      {
        actionId: action.id,
        decision: stepUp.decision,
        actor: stepUp.slackUserId,
        detail: { stepUpId: stepUp.id, signIn: { ...signedIn, matchedBy: match.by } },
        ...(recheck?.ok && { approvalsAtLeast: recheck.approvalsAtLeast }),
      },
      { policy: deps.policy, mode: "signed_in" },
    );
    if (!outcome.ok) {
      return end(
        "refused",
        "step_up_refused",
        { reason: outcome.message, signIn: signedIn },
        refuse("decision_refused", `Nothing was done: ${outcome.message}.`),
      );
    }
    await finishStepUp(tx, stepUp.id, "committed");
    const counted = "approvals" in outcome && outcome.action.status === "pending";
    return {
      ok: true,
      action: outcome.action,
      decision: stepUp.decision,
      ...(counted && { approvals: { count: outcome.approvals.count, needed: outcome.approvals.needed } }),
    };
  });
}

/** What the audit trail keeps of a sign-in: who (issuer and subject), when, and how. */
function signInRecord(issuer: string, claims: SignedInClaims): Record<string, unknown> {
  const authTime =
    typeof claims.auth_time === "number" ? new Date(claims.auth_time * 1000).toISOString() : null;
  return {
    issuer,
    subject: claims.sub,
    authTime,
    ...(Array.isArray(claims.amr) && { amr: claims.amr.filter((m) => typeof m === "string") }),
    ...(typeof claims.acr === "string" && { acr: claims.acr }),
  };
}
