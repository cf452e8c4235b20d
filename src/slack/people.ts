// People's names as Slack shows them (the display name, else the real name, else the handle), for
// the pages outside Slack that name who decided what. users.info per person, cached for a while; a
// person Slack does not answer for keeps their user id, and the page still shows.
import type { WebClient } from "@slack/web-api";
import type { Logger } from "../telemetry/log.ts";

const CACHE_MS = 10 * 60_000;
// A look-up that failed is tried again sooner: Slack may only have been slow.
const FAILED_CACHE_MS = 30_000;
// A page names a handful of people; more than this many look-ups at once would only queue.
const LOOKUPS_AT_ONCE = 8;
const MAX_CACHED = 5000;

export type DisplayNames = (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;

export function slackDisplayNames(client: WebClient, log: Logger): DisplayNames {
  const cache = new Map<string, { name: string | null; fetchedAt: number }>();

  async function lookUp(userId: string): Promise<string | null> {
    const cached = cache.get(userId);
    if (cached && Date.now() - cached.fetchedAt < (cached.name ? CACHE_MS : FAILED_CACHE_MS))
      return cached.name;
    let name: string | null = null;
    try {
      const { user } = await client.users.info({ user: userId });
      name = user?.profile?.display_name || user?.profile?.real_name || user?.real_name || user?.name || null;
    } catch (error) {
      log.debug({ err: error, userId }, "users.info failed; the page shows the user id");
    }
    cache.delete(userId);
    cache.set(userId, { name, fetchedAt: Date.now() });
    if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
    return name;
  }

  return async (userIds) => {
    const names = new Map<string, string>();
    const unique = [...new Set(userIds)];
    for (let i = 0; i < unique.length; i += LOOKUPS_AT_ONCE) {
      const batch = unique.slice(i, i + LOOKUPS_AT_ONCE);
      const found = await Promise.all(batch.map(lookUp));
      batch.forEach((id, k) => {
        const name = found[k];
        if (name) names.set(id, name);
      });
    }
    return names;
  };
}
