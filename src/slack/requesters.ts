// Who requested a manual action, as a Slack user, so that they cannot approve it themselves: the
// policy's explicit mapping first, else Slack's users.lookupByEmail, cached so that a burst of
// clicks asks Slack once.
import type { WebClient } from "@slack/web-api";
import { type Policy, requesterUserId } from "../domain/policy.ts";
import type { Logger } from "../telemetry/log.ts";

const CACHE_MS = 10 * 60_000;

/** `userId` null: nobody in the workspace has that address. Not ok: Slack could not be asked. */
export type RequesterAnswer = { ok: true; userId: string | null } | { ok: false };

export type RequesterLookup = { slackUserFor(requestedBy: string): Promise<RequesterAnswer> };

export function createRequesterLookup(client: WebClient, policy: Policy, log: Logger): RequesterLookup {
  const cache = new Map<string, { userId: string | null; fetchedAt: number }>();
  return {
    async slackUserFor(requestedBy) {
      const mapped = requesterUserId(policy, requestedBy);
      if (mapped !== undefined) return { ok: true, userId: mapped };
      // Not an address: only the policy's mapping could have named a Slack user for it.
      if (!requestedBy.includes("@")) return { ok: true, userId: null };
      const key = requestedBy.toLowerCase();
      const cached = cache.get(key);
      if (cached && Date.now() - cached.fetchedAt < CACHE_MS) return { ok: true, userId: cached.userId };
      try {
        const answer = await client.users.lookupByEmail({ email: requestedBy });
        const userId = answer.user?.id ?? null;
        cache.set(key, { userId, fetchedAt: Date.now() });
        return { ok: true, userId };
      } catch (error) {
        if ((error as { data?: { error?: string } }).data?.error === "users_not_found") {
          cache.set(key, { userId: null, fetchedAt: Date.now() });
          return { ok: true, userId: null };
        }
        log.warn({ err: error }, "could not look up the requester of an action in Slack");
        return { ok: false };
      }
    },
  };
}
