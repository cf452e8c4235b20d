// The modals' submissions, each listener registered on its modal's callback_id (actionIds.ts).
import type { App } from "@slack/bolt";
import { viewRoutes } from "../../actionIds.ts";
import type { SlackDeps } from "../../deps.ts";
import { approveAllSubmission } from "./approveAllSubmission.ts";
import { bulkUndoSubmission } from "./bulkUndoSubmission.ts";
import { decisionSubmission } from "./decisionSubmission.ts";
import { rejectAllSubmission } from "./rejectAllSubmission.ts";
import { rejectSubmission } from "./rejectSubmission.ts";

export function register(app: App, deps: SlackDeps): void {
  app.view(viewRoutes.reject.matcher, rejectSubmission(deps));
  app.view(viewRoutes.bulkUndo.matcher, bulkUndoSubmission(deps));
  app.view(viewRoutes.rejectAll.matcher, rejectAllSubmission(deps));
  app.view(viewRoutes.decision.matcher, decisionSubmission(deps));
  app.view(viewRoutes.approveAll.matcher, approveAllSubmission(deps));
}
