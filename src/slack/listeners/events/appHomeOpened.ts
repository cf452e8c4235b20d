// The Home tab, published afresh each time the person opens it.
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from "@slack/bolt";
import { listActions } from "../../../db/queries/actions.ts";
import { pendingSummary, recentDecisions } from "../../../db/queries/history.ts";
import { homeUnavailableView, homeView } from "../../blocks/home.ts";
import type { SlackDeps } from "../../deps.ts";

const RECENT_DECISIONS = 10;
const DONE_IN_DEFENDER = 5;

export function appHomeOpened(deps: SlackDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<"app_home_opened"> & AllMiddlewareArgs) => {
    if (event.tab !== "home") return;
    const { db, log } = deps.ctx;
    const userId = event.user;
    let view: ReturnType<typeof homeView>;
    try {
      const [isApprover, pending, decisions, doneInDefender] = await Promise.all([
        deps.approvers.isApprover(userId),
        pendingSummary(db),
        recentDecisions(db, userId, RECENT_DECISIONS),
        listActions(db, { source: ["defender_machine_action"] }, { limit: DONE_IN_DEFENDER }),
      ]);
      view = homeView({
        isApprover,
        approvers: deps.approvers.describe(),
        pending,
        decisions,
        doneInDefender: doneInDefender.actions,
        now: new Date(),
      });
    } catch (error) {
      log.error({ err: error, userId }, "could not read the Home tab's figures");
      view = homeUnavailableView();
    }
    await deps.client.views.publish({ user_id: userId, view });
  };
}
