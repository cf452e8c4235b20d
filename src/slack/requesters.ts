// Whether the person deciding requested the action, so that they cannot approve it themselves.
// The requester's text is read by domain/requester.ts; it is compared with the approver's Slack
// identity (users.info: id, email, handle) and, for an address, with the Slack user Slack has for
// it (users.lookupByEmail) unless the policy's `requesters` names one. Both look-ups are cached,
// each keyed by exactly what Slack was asked, so that a burst of clicks asks once and an answer
// is never reused for a question that was not asked.
import type { WebClient } from "@slack/web-api";
import { type Policy, requesterUserId } from "../domain/policy.ts";
import {
  type ApproverIdentity,
  compareRequester,
  parseRequester,
  type RequesterMatch,
} from "../domain/requester.ts";
import type { Logger } from "../telemetry/log.ts";

const CACHE_MS = 10 * 60_000;

/** Not ok: Slack could not be asked, so nobody can tell. */
export type RequesterAnswer = { ok: true; match: RequesterMatch } | { ok: false };

export type RequesterLookup = {
  /** Whether `userId` (the verified decider) is who `requestedBy` names. */
  compare(requestedBy: string, userId: string): Promise<RequesterAnswer>;
};

const slackError = (error: unknown) => (error as { data?: { error?: string } }).data?.error;

/** A look-up whose answers are kept for a while under exactly the argument it was asked with. */
function cached<T>(ask: (question: string) => Promise<T>): (question: string) => Promise<T> {
  const answers = new Map<string, { value: T; at: number }>();
  return async (question) => {
    const hit = answers.get(question);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
    const value = await ask(question);
    answers.set(question, { value, at: Date.now() });
    return value;
  };
}

export function createRequesterLookup(client: WebClient, policy: Policy, log: Logger): RequesterLookup {
  // A user Slack does not know has no email or handle to compare; any other failure is thrown.
  const identityOf = cached(async (userId): Promise<ApproverIdentity> => {
    try {
      const { user } = await client.users.info({ user: userId });
      return { userId, email: user?.profile?.email ?? null, handle: user?.name ?? null };
    } catch (error) {
      if (slackError(error) === "user_not_found") return { userId };
      throw error;
    }
  });
  const userWithEmail = cached(async (email): Promise<string | null> => {
    try {
      return (await client.users.lookupByEmail({ email })).user?.id ?? null;
    } catch (error) {
      if (slackError(error) === "users_not_found") return null;
      throw error;
    }
  });

  return {
    async compare(requestedBy, userId) {
      const requester = parseRequester(requestedBy);
      const mapped = requesterUserId(policy, requestedBy);
      const byId = compareRequester(requester, { userId }, mapped);
      // A Slack id (given, or the policy's) settles it unless the text could also be a user name.
      if (byId === "same" || (byId === "different" && requester?.name === undefined)) {
        return { ok: true, match: byId };
      }
      if (!requester) return { ok: true, match: "unknown" };
      try {
        const approver = await identityOf(userId);
        const byIdentity = compareRequester(requester, approver, mapped);
        if (byIdentity === "same" || requester.email === undefined || mapped !== undefined) {
          return { ok: true, match: byIdentity };
        }
        return {
          ok: true,
          match: compareRequester(requester, approver, await userWithEmail(requester.email)),
        };
      } catch (error) {
        log.warn({ err: error }, "could not ask Slack who requested an action or who is deciding it");
        return { ok: false };
      }
    },
  };
}
