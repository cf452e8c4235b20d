// Who may decide. The `APPROVERS` list names users (U…/W…) and user groups (S…); group
// membership is looked up elsewhere and handed in, so this stays free of I/O.

export type ApproverList = { userIds: string[]; groupIds: string[] };

export const USER_ID = /^[UW][A-Z0-9]{2,}$/;
export const GROUP_ID = /^S[A-Z0-9]{2,}$/;

/** Parses `APPROVERS`; returns the offending entry instead of throwing so config can name it. */
export function parseApprovers(
  csv: string,
): { ok: true; value: ApproverList } | { ok: false; entry: string } {
  const userIds: string[] = [];
  const groupIds: string[] = [];
  for (const raw of csv.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (USER_ID.test(entry)) userIds.push(entry);
    else if (GROUP_ID.test(entry)) groupIds.push(entry);
    else return { ok: false, entry };
  }
  return { ok: true, value: { userIds, groupIds } };
}

/**
 * Whether `userId` may approve, reject, retry and undo. `groupMembers` holds the members of the
 * listed groups as last resolved; a user listed by id needs no group look-up.
 */
export function isApprover(
  userId: string,
  approvers: ApproverList,
  groupMembers: ReadonlySet<string>,
): boolean {
  return approvers.userIds.includes(userId) || groupMembers.has(userId);
}
