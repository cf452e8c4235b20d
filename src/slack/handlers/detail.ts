// `show`'s answer: the action as its channel message shows it, then its audit trail. Also what an
// ephemeral `show` reply is replaced with after a click on it, so its buttons are never stale.
import { getAction, getActionEvents, withUndoRequests } from "../../db/queries/actions.ts";
import type { SlackMessage } from "../blocks/actionMessage.ts";
import { actionDetailMessage } from "../blocks/history.ts";
import type { ReplyDeps } from "../deps.ts";

/** The detail of action `id`; null if it is gone. */
export async function actionDetail(deps: ReplyDeps, id: number): Promise<SlackMessage | null> {
  const { db } = deps.ctx;
  const found = await getAction(db, id);
  if (!found) return null;
  const [action] = await withUndoRequests(db, [found]);
  const events = await getActionEvents(db, found.id);
  return actionDetailMessage(action!, events, { publicUrl: deps.ctx.config.publicUrl });
}
