// Every action_id and callback_id the app puts into Slack, in one place: the block builders take
// them from here, Bolt registers these matchers, and the listeners parse clicks back with these
// parsers. Messages already posted carry the strings, and clicks on them keep arriving: a string
// here must never change.

/** Slack's limit on an action_id, a block_id and a callback_id. */
export const MAX_ID_LENGTH = 255;

/**
 * Ids of the form `verb:42`. Slack wants action_ids unique within a message, and an investigation's
 * message holds many actions, so the number is part of the id. The matcher lets Bolt route any
 * `verb:<digits>` to the listener, which acks it; the parser is strict, so a forged `approve:0`
 * is acked and then ignored.
 */
function numberedIds<const V extends string, const K extends string>(verbs: readonly V[], key: K) {
  type Parsed = { kind: V } & Record<K, number>;
  return {
    matcher: new RegExp(`^(${verbs.join("|")}):\\d+$`),
    build: (kind: V, id: number): string => `${kind}:${id}`,
    parse(value: string): Parsed | null {
      const match = /^([a-z_]+):([1-9][0-9]{0,15})$/.exec(value);
      const kind = verbs.find((verb) => verb === match?.[1]);
      const id = Number(match?.[2]);
      return kind !== undefined && Number.isSafeInteger(id) ? ({ kind, [key]: id } as Parsed) : null;
    },
  };
}

/** Ids that are the same in every message; Bolt matches a single one as a plain string. */
function fixedIds<const I extends string>(...ids: I[]) {
  return {
    matcher: ids.length === 1 ? ids[0]! : new RegExp(`^(${ids.join("|")})$`),
    parse: (value: string): { kind: I } | null =>
      ids.some((id) => id === value) ? { kind: value as I } : null,
  };
}

export const PREVIOUS_PAGE_ACTION_ID = "history_previous";
export const NEXT_PAGE_ACTION_ID = "history_next";
export const UNDO_SEVERAL_ACTION_ID = "history_undo_several";
/** The link button of the hunt modal: Slack still sends its click, which only needs an ack. */
export const OPEN_HUNTING_ACTION_ID = "open_advanced_hunting";

export const REJECT_CALLBACK_ID = "reject_action";
export const BULK_UNDO_CALLBACK_ID = "bulk_undo";
/** The reason modal of Reject all on a message. */
export const REJECT_ALL_CALLBACK_ID = "reject_all";
/** The confirmation modal of Approve, Undo, Retry and Retry undo on one action. */
export const DECISION_CALLBACK_ID = "confirm_decision";
/** The confirmation modal of Approve all on a message. */
export const APPROVE_ALL_CALLBACK_ID = "confirm_approve_all";
/** The Review modal of a message: every action, page by page, each decided on its own. */
export const REVIEW_CALLBACK_ID = "review_message";
/**
 * The confirmations whose listeners ack with nothing before any work (the modal closes; the answer
 * comes where the person clicked), so the endpoint answers them once written, as it does clicks.
 */
export const EMPTY_ACK_CALLBACK_IDS: ReadonlySet<string> = new Set([
  DECISION_CALLBACK_ID,
  APPROVE_ALL_CALLBACK_ID,
]);

/** What each button listener registers with Bolt (`matcher`) and reads its clicks with (`parse`). */
export const buttonRoutes = {
  /** Approve, Undo, Retry and Retry undo on one action. */
  decision: numberedIds(["approve", "undo", "retry", "retry_undo"], "actionId"),
  reject: numberedIds(["reject"], "actionId"),
  goHunt: numberedIds(["go_hunt"], "actionId"),
  /** A link button: the browser opens the page, the click only needs an ack. */
  openInvestigation: numberedIds(["open_investigation"], "actionId"),
  /** Undo on a history row or under `show`: opens the undo confirmation. */
  confirmUndo: numberedIds(["confirm_undo"], "actionId"),
  /** Approve all and Review on an investigation's or a threat's message, by our message row id. */
  group: numberedIds(["approve_all", "review"], "messageKey"),
  /** Reject all on a threat's message: opens the reason modal. */
  rejectAll: numberedIds(["reject_all"], "messageKey"),
  /** A row's overflow menu (Approve / Reject) in the Review modal, by action id. */
  reviewDecision: numberedIds(["review_decide"], "actionId"),
  /** Previous / Next in the Review modal, by the page they go to (1 is the first). */
  reviewPage: numberedIds(["review_page"], "page"),
  historyPage: fixedIds(PREVIOUS_PAGE_ACTION_ID, NEXT_PAGE_ACTION_ID),
  undoSeveral: fixedIds(UNDO_SEVERAL_ACTION_ID),
  openHunting: fixedIds(OPEN_HUNTING_ACTION_ID),
};

/** What each modal's submission listener registers with Bolt. */
export const viewRoutes = {
  reject: fixedIds(REJECT_CALLBACK_ID),
  bulkUndo: fixedIds(BULK_UNDO_CALLBACK_ID),
  rejectAll: fixedIds(REJECT_ALL_CALLBACK_ID),
  decision: fixedIds(DECISION_CALLBACK_ID),
  approveAll: fixedIds(APPROVE_ALL_CALLBACK_ID),
};

export type DecisionKind = NonNullable<ReturnType<typeof buttonRoutes.decision.parse>>["kind"];

/** The action_ids of the buttons about one action (or, for the group buttons, one message). */
export const actionId = {
  approve: (id: number) => buttonRoutes.decision.build("approve", id),
  undo: (id: number) => buttonRoutes.decision.build("undo", id),
  retry: (id: number) => buttonRoutes.decision.build("retry", id),
  retryUndo: (id: number) => buttonRoutes.decision.build("retry_undo", id),
  reject: (id: number) => buttonRoutes.reject.build("reject", id),
  goHunt: (id: number) => buttonRoutes.goHunt.build("go_hunt", id),
  openInvestigation: (id: number) => buttonRoutes.openInvestigation.build("open_investigation", id),
  confirmUndo: (id: number) => buttonRoutes.confirmUndo.build("confirm_undo", id),
  approveAll: (messageKey: number) => buttonRoutes.group.build("approve_all", messageKey),
  review: (messageKey: number) => buttonRoutes.group.build("review", messageKey),
  rejectAll: (messageKey: number) => buttonRoutes.rejectAll.build("reject_all", messageKey),
  reviewDecision: (id: number) => buttonRoutes.reviewDecision.build("review_decide", id),
  reviewPage: (page: number) => buttonRoutes.reviewPage.build("review_page", page),
};

/** The values of the Review modal's overflow options: what the row's menu decides. */
export const REVIEW_OPTION = { approve: "approve", reject: "reject" } as const;

/**
 * Inputs of our modals, where each input's block_id is also its element's action_id. They are
 * never routed (no input dispatches actions): the submission reads them from `view.state.values`.
 */
export const REASON_INPUT_ID = "reason";
export const MORE_INSTANCES_INPUT_ID = "undo_more";
const UNDO_PICK_PREFIX = "undo_pick_";

/** The undo confirmation's checkbox groups, `undo_pick_0`, `undo_pick_1`, …, by position. */
export const undoPickInputId = (index: number): string => `${UNDO_PICK_PREFIX}${index}`;
export const isUndoPickInputId = (blockId: string): boolean => blockId.startsWith(UNDO_PICK_PREFIX);
