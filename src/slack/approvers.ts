// Who may decide, from the verified Slack user id, APPROVERS and the policy's per-type approver
// lists, which narrow APPROVERS (e.g. only a tier-2 group may isolate). Group membership comes from
// usergroups.users.list and is cached for a few minutes; a failed look-up keeps the last known
// members rather than locking everybody out, and never lets anybody in.
import type { WebClient } from "@slack/web-api";
import type { ActionType } from "../domain/actionTypes.ts";
import { type ApproverList, isApprover } from "../domain/permissions.ts";
import { approversFor, mayDecide, type Policy } from "../domain/policy.ts";
import type { Logger } from "../telemetry/log.ts";
import { mentionList } from "./text.ts";

const GROUP_CACHE_MS = 5 * 60_000;

export type ApproverCheck = {
  isApprover(userId: string): Promise<boolean>;
  /** Whether the person may decide actions of `type`: an approver, and on the type's own list if it has one. */
  mayDecide(userId: string, type: ActionType): Promise<boolean>;
  /** The list to quote when refusing someone: `<@U…>` and `<!subteam^S…>` mentions. */
  describe(): string;
  /** Who may decide actions of `type`, as mentions. */
  describeFor(type: ActionType): string;
};

export function createApproverCheck(
  client: WebClient,
  approvers: ApproverList,
  log: Logger,
  policy: Policy,
): ApproverCheck {
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
    async mayDecide(userId, type) {
      const candidates = [
        ...new Set([...approvers.groupIds, ...approversFor(policy, type, approvers).groupIds]),
      ];
      const memberships = await Promise.all(
        candidates.map(async (groupId) => ((await members(groupId)).has(userId) ? [groupId] : [])),
      );
      return mayDecide(policy, type, approvers, { id: userId, groups: new Set(memberships.flat()) });
    },
    describe() {
      return mentionList(approvers) || "nobody (APPROVERS is empty)";
    },
    describeFor(type) {
      return mentionList(approversFor(policy, type, approvers)) || "nobody (APPROVERS is empty)";
    },
  };
}
