// The slash command, as the app's manifest (slack/manifest.yml) declares it.
import type { App } from "@slack/bolt";
import type { SlackDeps } from "../../deps.ts";
import { actionCenterCommand } from "./actionCenterCommand.ts";

export function register(app: App, deps: SlackDeps): void {
  app.command("/action-center", actionCenterCommand(deps));
}
