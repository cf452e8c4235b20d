// The audit export: filtered history as CSV (RFC 4180), safe to open in a spreadsheet.
import type { DbOrTx } from "../db/client.ts";
import type { ActionFilters } from "../db/queries/actions.ts";
import { eachAction } from "../db/queries/history.ts";
import type { ActionRow } from "../db/schema.ts";

export const EXPORT_COLUMNS = [
  "id",
  "createdAt",
  "type",
  "source",
  "status",
  "device",
  "entity",
  "investigationId",
  "decidedBy",
  "decidedAt",
  "decisionComment",
  "completedAt",
  "error",
] as const;

/** More would be a data dump, not an audit export: the person is asked to narrow the filters. */
export const MAX_EXPORT_ROWS = 100_000;
const BATCH = 1000;

/**
 * One CSV cell. Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, and tab or carriage
 * return, which some spreadsheets skip before one) gets a leading apostrophe; then the cell is
 * quoted when it holds a quote, comma or line break.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function device(row: ActionRow): string | null {
  if (row.deviceName && row.deviceId) return `${row.deviceName} (${row.deviceId})`;
  return row.deviceName ?? row.deviceId;
}

export function csvRow(row: ActionRow): string {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  const entity = Object.keys(row.entity).length > 0 ? JSON.stringify(row.entity) : null;
  return [
    row.id,
    iso(row.createdAt),
    row.type,
    row.source,
    row.status,
    device(row),
    entity,
    row.investigationId,
    row.decidedBy,
    iso(row.decidedAt),
    row.decisionComment,
    iso(row.completedAt),
    row.error,
  ]
    .map(csvCell)
    .join(",");
}

export type HistoryExport = { csv: string; rows: number; truncated: boolean };

/** The actions of `filters`, newest first, as CSV with a header line; at most MAX_EXPORT_ROWS. */
export async function exportHistory(db: DbOrTx, filters: ActionFilters): Promise<HistoryExport> {
  const lines = [EXPORT_COLUMNS.join(",")];
  for await (const row of eachAction(db, filters, { batch: BATCH, max: MAX_EXPORT_ROWS + 1 })) {
    lines.push(csvRow(row));
  }
  const truncated = lines.length - 1 > MAX_EXPORT_ROWS;
  if (truncated) lines.pop();
  return { csv: `${lines.join("\r\n")}\r\n`, rows: lines.length - 1, truncated };
}
