// `history … export`: the filtered history as a CSV file in the person's direct messages with the
// app, through Slack's external upload (files.getUploadURLExternal, the upload, then
// files.completeUploadExternal, which filesUploadV2 makes).
import { exportHistory, MAX_EXPORT_ROWS } from "../../../services/historyExport.ts";
import type { SlackDeps } from "../../deps.ts";
import { escapeInline } from "../../text.ts";
import { resolveFilters } from "./listing.ts";
import { type CommandFilters, filtersText, type ListView } from "./parse.ts";

/** Uploads the export to `userId`; returns the answer (mrkdwn) to show where the command ran. */
export async function exportToUser(
  deps: SlackDeps,
  request: { userId: string; view: ListView; filters: CommandFilters; now: Date },
): Promise<string> {
  const resolved = await resolveFilters(deps.ctx.db, request.view, request.filters);
  if (!resolved.ok) return resolved.message;
  const result = await exportHistory(deps.ctx.db, resolved.filters);
  const query = filtersText(request.filters);
  const shownQuery = query ? ` · \`${escapeInline(query, 600)}\`` : "";
  const cut = result.truncated
    ? ` Only the newest ${MAX_EXPORT_ROWS.toLocaleString("en")} are in the file: narrow the filters for the rest.`
    : "";
  const count = `${result.rows.toLocaleString("en")} action${result.rows === 1 ? "" : "s"}`;
  await deps.client.filesUploadV2({
    // A user ID as the channel puts the file in the person's direct messages with the app.
    channel_id: request.userId,
    content: result.csv,
    filename: `action-center-${request.view}-${request.now.toISOString().slice(0, 19).replaceAll(":", "")}Z.csv`,
    title: `Action center ${request.view}`,
    initial_comment: `Action center ${request.view} export: ${count}${shownQuery}.${cut}`,
  });
  return `Sent ${count} as a CSV file to your direct messages with the app.${cut}`;
}
