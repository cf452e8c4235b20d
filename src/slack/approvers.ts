// Who may decide, from the verified Slack user id and APPROVERS. Group membership comes from
// usergroups.users.list and is cached for a few minutes; a failed look-up keeps the last known
// members rather than locking everybody out, and never lets anybody in.
import type { WebClient } from "@slack/web-api";
import { type ApproverList, isApprover } from "../domain/permissions.ts";
import type { Logger } from "../log.ts";

const GROUP_CACHE_MS = 5 * 60_000;

export type ApproverCheck = {
  isApprover(userId: string): Promise<boolean>;
  /** The list to quote when refusing someone: `<@U…>` and `<!subteam^S…>` mentions. */
  describe(): string;
};

export function createApproverCheck(client: WebClient, approvers: ApproverList, log: Logger): ApproverCheck {
  const cache = new Map<string, { members: Set<string>; fetchedAt: number }>();

  async function members(groupId: string): Promise<Set<string>> {
    const cached = cache.get(groupId);
    if (cached && Date.now() - cached.fetchedAt < GROUP_CACHE_MS) return cached.members;
    try {
      const answer = await client.usergroups.users.list({ usergroup: groupId });
      const fresh = { members: new Set(answer.users ?? []), fetchedAt: Date.now() };
      cache.set(groupId, fresh);
      return fresh.members;
    } catch (error) {
      log.warn({ err: error, groupId }, "could not resolve user group; using the last known members");
      return cached?.members ?? new Set();
    }
  }

  return {
    async isApprover(userId) {
      if (approvers.userIds.includes(userId)) return true;
      const groups = await Promise.all(approvers.groupIds.map(members));
      return isApprover(userId, approvers, new Set(groups.flatMap((g) => [...g])));
    },
    describe() {
      const names = [
        ...approvers.userIds.map((id) => `<@${id}>`),
        ...approvers.groupIds.map((id) => `<!subteam^${id}>`),
      ];
      return names.length > 0 ? names.join(", ") : "nobody (APPROVERS is empty)";
    },
  };
}
