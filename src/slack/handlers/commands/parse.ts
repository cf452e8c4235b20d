// The text of `/action-center`, parsed without I/O: what the person asked for, or an answer in
// mrkdwn (their own text escaped) saying what is wrong and what would be right.

import {
  ACTION_TYPES,
  type ActionType,
  isActionType,
  isSource,
  SOURCES,
  type Source,
} from "../../../domain/actionTypes.ts";
import { type Result, refuse } from "../../../domain/result.ts";
import { isStatus, STATUSES, type Status } from "../../../domain/status.ts";
import { escapeInline } from "../../text.ts";

export type CommandFilters = {
  type?: ActionType[];
  status?: Status[];
  source?: Source[];
  /** A device name (any case) or id, resolved against the fleet by the caller. */
  device?: string;
  /** A Slack user ID. */
  by?: string;
  investigation?: string;
  sha256?: string;
  since?: Date;
};

export type ListView = "pending" | "history";

export type Command =
  | { kind: "help" }
  | { kind: "list"; view: ListView; filters: CommandFilters; export: boolean }
  | { kind: "show"; actionId: number }
  | { kind: "undo"; actionIds: number[] };

export type ParseResult = Result<{ command: Command }, "bad_command">;

/** Who runs the command and when: `by:me` and relative `since:` values need them. */
export type ParseContext = { userId: string; now: Date };

export const MAX_COMMAND_LENGTH = 1000;
export const MAX_UNDO_IDS = 100;
const MAX_SINCE_DAYS = 3660;

export const FILTER_NAMES = [
  "type",
  "device",
  "source",
  "status",
  "by",
  "investigation",
  "sha256",
  "since",
] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

const FILTER_EXAMPLES: Record<FilterName, string> = {
  type: "type:quarantine_file",
  device: "device:LAPTOP-7",
  source: "source:antivirus",
  status: "status:completed",
  by: "by:@alice",
  investigation: "investigation:inv-42",
  sha256: "sha256:9f86d081…",
  since: "since:24h",
};

const code = (text: string) => `\`${text}\``;
/** The person's own text, shown back safely: no mention, link or formatting can come of it. */
const quote = (text: string) => code(escapeInline(text, 80));

export const USAGE = [
  "*`/action-center` — the Action center in Slack*",
  "• `/action-center pending [filters]` — actions waiting for approval, newest first",
  "• `/action-center history [filters]` — every decided or finished action, newest first",
  "• `/action-center history [filters] export` — the same as a CSV file, sent to you",
  "• `/action-center show 123` — one action with its audit trail",
  "• `/action-center undo 123 124 125` — undo completed actions of one type, after a confirmation",
  `*Filters* (combine them; separate several values with commas): ${FILTER_NAMES.map((name) => code(FILTER_EXAMPLES[name])).join(" ")}`,
  "`since:` takes `24h`, `7d`, `2w` or a date such as `2026-11-01`; `by:` takes a mention, a user ID or `me`.",
  "*Examples*",
  "• `/action-center history type:quarantine_file since:7d`",
  "• `/action-center history device:LAPTOP-7 status:completed,undone by:me`",
  "• `/action-center pending investigation:inv-42 source:automated_investigation`",
].join("\n");

const FILTERS_HELP = `Valid filters: ${FILTER_NAMES.map((name) => code(`${name}:`)).join(" ")} — for example ${code("history type:quarantine_file since:7d")}.`;

const fail = (message: string): ParseResult => refuse("bad_command", message);

// Words, keeping Slack's `<@U123|name>` escapes whole even when the name holds spaces.
const TOKEN = /(?:[^\s<]+|<[^>]*>?)+/g;
const ACTION_ID = /^#?([1-9][0-9]{0,15})$/;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const MENTION = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/;
const SHA256 = /^[0-9a-f]{64}$/i;
const RELATIVE = /^([1-9][0-9]{0,4})([hdw])$/i;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function parseCommand(text: string, context: ParseContext): ParseResult {
  if (text.length > MAX_COMMAND_LENGTH) {
    return fail(`That command is too long: at most ${MAX_COMMAND_LENGTH.toLocaleString("en")} characters.`);
  }
  const [verb = "", ...rest] = text.match(TOKEN) ?? [];
  switch (verb.toLowerCase()) {
    case "":
    case "help":
      return { ok: true, command: { kind: "help" } };
    case "pending":
    case "history":
      return parseList(verb.toLowerCase() as ListView, rest, context);
    case "show":
      return parseShow(rest);
    case "undo":
      return parseUndo(rest);
    default:
      return fail(`Unknown command ${quote(verb)}.\n${USAGE}`);
  }
}

function parseShow(words: string[]): ParseResult {
  const id = words.length === 1 ? ACTION_ID.exec(words[0]!)?.[1] : undefined;
  if (id === undefined) return fail("Say which action to show, e.g. `/action-center show 123`.");
  return { ok: true, command: { kind: "show", actionId: Number(id) } };
}

function parseUndo(words: string[]): ParseResult {
  const ids = new Set<number>();
  for (const word of words.flatMap((w) => w.split(",")).filter(Boolean)) {
    const id = ACTION_ID.exec(word)?.[1];
    if (id === undefined)
      return fail(`${quote(word)} is not an action number. Example: \`/action-center undo 123 124\`.`);
    ids.add(Number(id));
  }
  if (ids.size === 0) return fail("Say which actions to undo, e.g. `/action-center undo 123 124`.");
  if (ids.size > MAX_UNDO_IDS) return fail(`Undo at most ${MAX_UNDO_IDS} actions at a time.`);
  return { ok: true, command: { kind: "undo", actionIds: [...ids] } };
}

function parseList(view: ListView, words: string[], context: ParseContext): ParseResult {
  const filters: CommandFilters = {};
  let exportAsked = false;
  for (const word of words) {
    if (word.toLowerCase() === "export") {
      exportAsked = true;
      continue;
    }
    const colon = word.indexOf(":");
    if (colon <= 0) {
      return fail(`${quote(word)} is not a filter. Filters look like ${code("name:value")}. ${FILTERS_HELP}`);
    }
    const name = word.slice(0, colon).toLowerCase();
    const value = word.slice(colon + 1);
    if (!(FILTER_NAMES as readonly string[]).includes(name)) {
      return fail(`Unknown filter ${quote(`${word.slice(0, colon)}:`)}. ${FILTERS_HELP}`);
    }
    const error = applyFilter(filters, name as FilterName, value, context);
    if (error) return fail(error);
  }
  if (view === "pending" && filters.status) {
    return fail(
      "`pending` shows actions waiting for approval only; use `history status:…` for other statuses.",
    );
  }
  return { ok: true, command: { kind: "list", view, filters, export: exportAsked } };
}

/** Adds one `name:value` to `filters`; returns what is wrong with it, if anything. */
function applyFilter(
  filters: CommandFilters,
  name: FilterName,
  value: string,
  context: ParseContext,
): string | undefined {
  if (value === "") return `${code(`${name}:`)} needs a value, e.g. ${code(FILTER_EXAMPLES[name])}.`;
  switch (name) {
    case "type":
      return addValues(filters, "type", value, ACTION_TYPES, isActionType, "action type");
    case "status":
      return addValues(filters, "status", value, STATUSES, isStatus, "status");
    case "source":
      return addValues(filters, "source", value, SOURCES, isSource, "source");
  }
  if (filters[name] !== undefined) return `${code(`${name}:`)} is given twice; give it once.`;
  switch (name) {
    case "device":
    case "investigation": {
      const max = name === "device" ? 255 : 200;
      if (value.length > max || CONTROL.test(value)) {
        return `${quote(value)} is not a valid ${name}: at most ${max} characters, no control characters.`;
      }
      filters[name] = value;
      return undefined;
    }
    case "by": {
      const user = value.toLowerCase() === "me" ? context.userId : userIdOf(value);
      if (!user) {
        return `${quote(value)} is not a Slack user. Pick the person from the @ menu (${code("by:@alice")}), give a user ID such as ${code("by:U0123ABCD")}, or ${code("by:me")}.`;
      }
      filters.by = user;
      return undefined;
    }
    case "sha256":
      if (!SHA256.test(value))
        return `${quote(value)} is not a SHA-256: it must be 64 hexadecimal characters.`;
      filters.sha256 = value.toLowerCase();
      return undefined;
    case "since": {
      const since = sinceOf(value, context.now);
      if (!since) {
        return `${quote(value)} is not a time. ${code("since:")} takes ${code("24h")}, ${code("7d")}, ${code("2w")} (up to ${MAX_SINCE_DAYS} days) or a date such as ${code("2026-11-01")}.`;
      }
      filters.since = since;
      return undefined;
    }
  }
}

/** `type:`, `status:` and `source:` take comma-separated values, and may be repeated. */
function addValues<K extends "type" | "status" | "source", V extends string>(
  filters: CommandFilters,
  key: K,
  value: string,
  valid: readonly V[],
  isValid: (candidate: string) => candidate is V,
  what: string,
): string | undefined {
  const values = filters[key] ? [...(filters[key] as V[])] : [];
  for (const raw of value.split(",").filter(Boolean)) {
    const candidate = raw.toLowerCase();
    if (!isValid(candidate)) {
      return `${quote(raw)} is not a valid ${what}. Valid: ${valid.map(code).join(", ")}.`;
    }
    if (!values.includes(candidate)) values.push(candidate);
  }
  (filters as Record<K, V[]>)[key] = values;
  return undefined;
}

function userIdOf(value: string): string | undefined {
  const mention = MENTION.exec(value)?.[1];
  if (mention) return mention;
  const bare = value.startsWith("@") ? value.slice(1) : value;
  return USER_ID.test(bare) ? bare : undefined;
}

function sinceOf(value: string, now: Date): Date | undefined {
  const relative = RELATIVE.exec(value);
  if (relative) {
    const hours =
      Number(relative[1]) * { h: 1, d: 24, w: 24 * 7 }[relative[2]!.toLowerCase() as "h" | "d" | "w"];
    return hours <= MAX_SINCE_DAYS * 24 ? new Date(now.getTime() - hours * 3_600_000) : undefined;
  }
  const day = DAY.exec(value);
  if (day) {
    const date = new Date(`${value}T00:00:00Z`);
    // `2026-02-31` parses as a date in March: only a date that round-trips is one.
    return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value ? undefined : date;
  }
  if (INSTANT.test(value)) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

/**
 * The filters as command text that parses back to the same filters. Relative times become the
 * instant they meant, so that the pages of one listing stay the pages of one query.
 */
export function filtersText(filters: CommandFilters): string {
  const parts: string[] = [];
  if (filters.type?.length) parts.push(`type:${filters.type.join(",")}`);
  if (filters.status?.length) parts.push(`status:${filters.status.join(",")}`);
  if (filters.source?.length) parts.push(`source:${filters.source.join(",")}`);
  if (filters.device !== undefined) parts.push(`device:${filters.device}`);
  if (filters.by !== undefined) parts.push(`by:${filters.by}`);
  if (filters.investigation !== undefined) parts.push(`investigation:${filters.investigation}`);
  if (filters.sha256 !== undefined) parts.push(`sha256:${filters.sha256}`);
  if (filters.since !== undefined) parts.push(`since:${filters.since.toISOString()}`);
  return parts.join(" ");
}
