// The Events API events the app subscribes to (slack/manifest.yml).
import type { App } from "@slack/bolt";
import type { SlackDeps } from "../../deps.ts";
import { appHomeOpened } from "./appHomeOpened.ts";

export function register(app: App, deps: SlackDeps): void {
  app.event("app_home_opened", appHomeOpened(deps));
}
