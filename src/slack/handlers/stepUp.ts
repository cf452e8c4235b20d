// A decision held for a fresh sign-in (policy `stepUp`): the person is given the link, which only
// they see, and Slack's address for them is kept to match the identity provider's.
import { setStepUpEmail } from "../../db/queries/stepUps.ts";
import type { Decision } from "../../domain/status.ts";
import { type HeldForSignIn, SIGN_IN_PATH } from "../../services/stepUpGate.ts";
import type { SlackDeps } from "../deps.ts";
import { slackDate } from "../text.ts";

export async function signInAnswer(
  deps: SlackDeps,
  request: { userId: string; decision: Decision; label: string; held: HeldForSignIn },
): Promise<{ ok: true; privately: true; message: string }> {
  const { ctx } = deps;
  const { userId, held } = request;
  await setStepUpEmail(ctx.db, held.stepUpId, await slackEmail(deps, userId));
  const base = ctx.config.signIn?.baseUrl ?? ctx.config.publicUrl;
  const url = `${base}${SIGN_IN_PATH}/${held.token}`;
  const verb = request.decision === "approve" ? "approve" : "undo";
  return {
    ok: true,
    privately: true,
    message:
      `:closed_lock_with_key: To ${verb} ${request.label} you must first sign in again: <${url}|sign in to ${verb}>. ` +
      `Nothing happens until you do. The link is yours alone, works once, until ${slackDate(held.expiresAt)}.`,
  };
}

/** Slack's address for the person (users:read.email); null when Slack has none or cannot say. */
async function slackEmail(deps: SlackDeps, userId: string): Promise<string | null> {
  try {
    const answer = await deps.client.users.info({ user: userId });
    return answer.user?.profile?.email ?? null;
  } catch (error) {
    deps.ctx.log.warn(
      { err: error, userId },
      "could not read the person's address from Slack for the sign-in",
    );
    return null;
  }
}
