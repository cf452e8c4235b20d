// `show`'s answer: the action as its channel message shows it, then its audit trail. Also what an
// ephemeral `show` reply is replaced with after a click on it, so its buttons are never stale.
import { getAction, getActionEvents, withUndoRequests } from "../../db/queries/actions.ts";
import type { SlackMessage } from "../blocks/actionMessage.ts";
import { actionDetailMessage, withNote } from "../blocks/history.ts";
import type { SlackDeps } from "../deps.ts";

/** The detail of action `id`, with `note` (mrkdwn, escaped: the answer to a click) on top; null if it is gone. */
export async function actionDetail(deps: SlackDeps, id: number, note?: string): Promise<SlackMessage | null> {
  const { db } = deps.ctx;
  const found = await getAction(db, id);
  if (!found) return null;
  const [action] = await withUndoRequests(db, [found]);
  const events = await getActionEvents(db, found.id);
  const detail = actionDetailMessage(action!, events, { publicUrl: deps.ctx.config.publicUrl });
  return note ? withNote(detail, note) : detail;
}
