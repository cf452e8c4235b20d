// The buttons, each listener registered on the action_ids it takes (actionIds.ts).
import type { App } from "@slack/bolt";
import { buttonRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { confirmUndoButton } from "./confirmUndoButton.ts";
import { decisionButton } from "./decisionButton.ts";
import { goHuntButton } from "./goHuntButton.ts";
import { groupButton } from "./groupButton.ts";
import { historyPageButton } from "./historyPageButton.ts";
import { linkButton } from "./linkButton.ts";
import { rejectAllButton } from "./rejectAllButton.ts";
import { rejectButton } from "./rejectButton.ts";
import { reviewDecisionMenu, reviewPageButton } from "./reviewButtons.ts";
import { undoSeveralButton } from "./undoSeveralButton.ts";

export function register(app: App, deps: SlackDeps): void {
  app.action(buttonRoutes.decision.matcher, decisionButton(deps));
  app.action(buttonRoutes.reject.matcher, rejectButton(deps));
  app.action(buttonRoutes.goHunt.matcher, goHuntButton(deps));
  app.action(buttonRoutes.group.matcher, groupButton(deps));
  app.action(buttonRoutes.openInvestigation.matcher, linkButton);
  app.action(buttonRoutes.openHunting.matcher, linkButton);
  app.action(buttonRoutes.historyPage.matcher, historyPageButton(deps));
  app.action(buttonRoutes.undoSeveral.matcher, undoSeveralButton(deps));
  app.action(buttonRoutes.confirmUndo.matcher, confirmUndoButton(deps));
  app.action(buttonRoutes.rejectAll.matcher, rejectAllButton(deps));
  app.action(buttonRoutes.reviewDecision.matcher, reviewDecisionMenu(deps));
  app.action(buttonRoutes.reviewPage.matcher, reviewPageButton(deps));
}
