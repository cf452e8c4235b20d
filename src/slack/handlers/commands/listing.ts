// The pending and history listings, shared by the command and its buttons: filters as the store
// understands them, and one page as a private answer.

import type { Db } from "../../../db/client.ts";
import { type ActionFilters, withUndoRequests } from "../../../db/queries/actions.ts";
import { findDeviceIds, listHistoryPage, type PagePosition } from "../../../db/queries/history.ts";
import { type Result, refuse } from "../../../domain/result.ts";
import { STATUSES } from "../../../domain/status.ts";
import { historyMessage, PAGE_SIZE, plainAnswer } from "../../blocks/history.ts";
import type { ReplyContent } from "../../blocks/privateReply.ts";
import { escapeInline } from "../../text.ts";
import type { CommandFilters, ListView } from "./parse.ts";

/** History is what has been decided or has run; what waits for approval is `pending`. */
const HISTORY_STATUSES = STATUSES.filter((status) => status !== "pending");

export type ResolvedFilters = Result<{ filters: ActionFilters }, "unknown_device">;

/** The store's filters for a listing; a device filter is looked up by name or id first. */
export async function resolveFilters(
  db: Db,
  view: ListView,
  filters: CommandFilters,
): Promise<ResolvedFilters> {
  let deviceIds: string[] | undefined;
  if (filters.device !== undefined) {
    deviceIds = await findDeviceIds(db, filters.device);
    if (deviceIds.length === 0) {
      return refuse(
        "unknown_device",
        `No device is named or has the id \`${escapeInline(filters.device, 100)}\`. Device names are matched whatever their case.`,
      );
    }
  }
  return {
    ok: true,
    filters: {
      status: view === "pending" ? ["pending"] : (filters.status ?? HISTORY_STATUSES),
      type: filters.type,
      source: filters.source,
      deviceIds,
      decidedBy: filters.by,
      investigationId: filters.investigation,
      sha256: filters.sha256,
      since: filters.since,
    },
  };
}

/** One page of a listing. */
export async function listingPage(
  db: Db,
  view: ListView,
  filters: CommandFilters,
  position: PagePosition,
): Promise<ReplyContent> {
  const resolved = await resolveFilters(db, view, filters);
  if (!resolved.ok) return { message: plainAnswer(resolved.message), actionIds: [] };
  const page = await listHistoryPage(db, resolved.filters, position, PAGE_SIZE);
  const actions = await withUndoRequests(db, page.actions);
  return {
    message: historyMessage({ view, filters, actions, newer: page.newer, older: page.older }),
    actionIds: actions.map((action) => action.id),
  };
}
