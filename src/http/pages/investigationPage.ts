// The investigation page that "Open investigation" links to: each action with its status and its
// audit trail (who decided what, and when), kept up to date by live.ts. Pure rendering from rows;
// every value is escaped by `html`.
import type { ActionWithEvents, InvestigationView } from "../../db/queries/investigations.ts";
import type { ActionEventRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, type Entity, SOURCE_LABELS } from "../../domain/actionTypes.ts";
import { EVENT_WORDS } from "../../domain/auditEvents.ts";
import { describeStatus, STATUSES, type Status } from "../../domain/status.ts";
import { type Html, html, trusted, utcTime } from "./html.ts";
import { LIVE_SCRIPT_PATH } from "./live.ts";

/** Colour families of the status badges. */
const BADGE: Record<Status, string> = {
  pending: "wait",
  approved: "busy",
  running: "busy",
  completed: "good",
  failed: "bad",
  rejected: "off",
  expired: "off",
  undo_requested: "busy",
  undoing: "busy",
  undone: "undone",
  undo_failed: "bad",
};

const ENTITY_LABELS: [keyof Entity, string][] = [
  ["path", "Path"],
  ["sha256", "SHA-256"],
  ["sha1", "SHA-1"],
  ["key", "Registry key"],
  ["valueName", "Value name"],
  ["name", "Name"],
  ["imagePath", "Image path"],
  ["pid", "Process ID"],
  ["url", "URL"],
];

function badge(status: Status): Html {
  return html`<span class="badge ${BADGE[status]}">${describeStatus(status)}</span>`;
}

/** People's names as Slack shows them, by user id; an id not in it shows as the id. */
export type Names = ReadonlyMap<string, string>;

const SLACK_USER = /^[UW][A-Z0-9]+$/;

/** Slack user IDs as mentions, by name where Slack gave one; `system` and `api` in words. */
function actor(id: string | null, names: Names): Html {
  if (id === null) return html`—`;
  if (id === "system") return html`the system`;
  if (id === "api") return html`the ingest API`;
  return SLACK_USER.test(id)
    ? html`<span class="user" title="${id}">@${names.get(id) ?? id}</span>`
    : html`${id}`;
}

/** The Slack users a page names: who decided, and every actor of the trails. */
export function namedUsers(items: readonly ActionWithEvents[]): string[] {
  const ids = items.flatMap(({ action, events }) => [action.decidedBy, ...events.map((e) => e.actor)]);
  return [...new Set(ids.filter((id): id is string => id !== null && SLACK_USER.test(id)))];
}

function detailText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The event's detail in words: a comment or reason as it was written, other fields as `name: value`; the
 * status change itself (`from`, `to`) is what the event's name already says.
 */
function eventDetail(detail: Record<string, unknown>): Html[] {
  return Object.entries(detail).flatMap(([name, value]) => {
    if (value === undefined || value === null || name === "from" || name === "to") return [];
    if (name === "attempt") return typeof value === "number" && value > 1 ? [html`attempt ${value}`] : [];
    if (name === "comment" || name === "reason") return [html`<q>${detailText(value)}</q>`];
    return [html`${name}: ${detailText(value)}`];
  });
}

function eventLine(event: ActionEventRow, names: Names): Html {
  const fallback = event.kind.replaceAll("_", " ");
  const words = EVENT_WORDS[event.kind] ?? fallback.charAt(0).toUpperCase() + fallback.slice(1);
  const details = eventDetail(event.detail);
  return html`<li>
    <div class="when">${utcTime(event.at)}</div>
    <div><strong>${words}</strong> by ${actor(event.actor, names)}${
      details.length > 0
        ? html`<div class="detail">${details.map((d, i) => html`${i > 0 ? " · " : ""}${d}`)}</div>`
        : ""
    }</div>
  </li>`;
}

function row(label: string, value: Html | string): Html {
  return html`<div class="row"><dt>${label}</dt><dd>${value}</dd></div>`;
}

function device(action: ActionWithEvents["action"]): Html {
  if (!ACTION_TYPE_INFO[action.type].needsDevice) return html`All devices (tenant-wide)`;
  const name = action.deviceName ?? action.deviceId ?? "unknown";
  return action.deviceId && action.deviceId !== name
    ? html`${name} <span class="muted mono">${action.deviceId}</span>`
    : html`${name}`;
}

function entity(value: Entity): Html | null {
  const rows = ENTITY_LABELS.filter(([key]) => value[key] !== undefined);
  if (rows.length === 0) return null;
  return html`<dl class="entity">${rows.map(
    ([key, label]) => html`<div><dt>${label}</dt><dd class="mono">${String(value[key])}</dd></div>`,
  )}</dl>`;
}

function decision(action: ActionWithEvents["action"], names: Names): Html | null {
  if (!action.decidedBy) return null;
  const verb = action.status === "rejected" ? "Rejected" : "Approved";
  return html`${verb} by ${actor(action.decidedBy, names)}${action.decidedAt ? html` at ${utcTime(action.decidedAt)}` : ""}${
    action.decisionComment ? html`<div class="detail"><q>${action.decisionComment}</q></div>` : ""
  }`;
}

/** Slack's link to a message: it opens in the workspace of whoever follows it. */
function slackMessageUrl(message: { channel: string; ts: string }): string {
  return `https://slack.com/archives/${encodeURIComponent(message.channel)}/p${message.ts.replace(".", "")}`;
}

function actionCard({ action, events, threatMessage }: ActionWithEvents, names: Names): Html {
  const info = ACTION_TYPE_INFO[action.type];
  const source =
    action.source === "manual" && action.requestedBy
      ? html`${SOURCE_LABELS[action.source]} · requested by ${action.requestedBy}`
      : html`${SOURCE_LABELS[action.source]}`;
  const entityRows = entity(action.entity);
  const decided = decision(action, names);
  return html`<article class="card" id="action-${action.id}">
    <header class="card-head">
      <h2>${info.label} <span class="muted">#${action.id}</span></h2>
      ${badge(action.status)}
    </header>
    <dl class="facts">
      ${row("Device", device(action))}
      ${entityRows ? row("Entity", entityRows) : ""}
      ${row("Source", source)}
      ${action.incidentId ? row("Incident", action.incidentId) : ""}
      ${row("Received", utcTime(action.createdAt))}
      ${action.comment ? row("Comment", html`<q>${action.comment}</q>`) : ""}
      ${decided ? row("Decision", decided) : ""}
      ${action.completedAt ? row("Completed", utcTime(action.completedAt)) : ""}
      ${action.error ? row("Error", html`<span class="error">${action.error}</span>`) : ""}
      ${row("Undo", info.undoLabel ?? "not possible")}
      ${threatMessage ? row("Threat", html`<a href="${slackMessageUrl(threatMessage)}">decided with the other devices in its threat message</a>`) : ""}
    </dl>
    <h3>Audit trail</h3>
    ${events.length > 0 ? html`<ol class="trail">${events.map((event) => eventLine(event, names))}</ol>` : html`<p class="muted">No events yet.</p>`}
  </article>`;
}

function statusSummary(items: ActionWithEvents[]): string {
  return STATUSES.map((status) => [status, items.filter((i) => i.action.status === status).length] as const)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${describeStatus(status)}`)
    .join(", ");
}

export function investigationPage(view: InvestigationView, names: Names = new Map()): Html {
  const count = view.actions.length;
  const incidents = [
    ...new Set(view.actions.flatMap((i) => (i.action.incidentId ? [i.action.incidentId] : []))),
  ];
  const devices = [
    ...new Set(view.actions.flatMap((i) => (i.action.deviceName ? [i.action.deviceName] : []))),
  ];
  return pageLayout(
    `Investigation ${view.id}`,
    html`<h1>Investigation <span class="mono">${view.id}</span></h1>
    <dl class="summary">
      ${row("Opened", utcTime(view.createdAt))}
      ${incidents.length > 0 ? row("Incident", incidents.join(", ")) : ""}
      ${devices.length > 0 ? row("Devices", devices.join(", ")) : ""}
      ${row("Actions", `${count}${view.more ? "+" : ""}${count > 0 ? ` (${statusSummary(view.actions)})` : ""}`)}
    </dl>
    ${count === 0 ? html`<p class="muted">No actions in this investigation yet.</p>` : ""}
    ${view.actions.map((item) => actionCard(item, names))}
    ${
      view.more
        ? html`<p class="muted">Only the first ${count} actions are shown; the API lists all of them with
          <code>GET /api/v1/actions?investigationId=${view.id}</code>.</p>`
        : ""
    }`,
  );
}

/** The page of one action, for actions that belong to no investigation. */
export function actionPage(item: ActionWithEvents, names: Names = new Map()): Html {
  const { action } = item;
  const investigation = action.investigationId;
  return pageLayout(
    `${ACTION_TYPE_INFO[action.type].label} #${action.id}`,
    html`<h1>Action <span class="mono">#${action.id}</span></h1>
    ${
      investigation
        ? html`<p>Part of investigation <a href="/investigations/${encodeURIComponent(investigation)}">${investigation}</a>.</p>`
        : ""
    }
    ${actionCard(item, names)}`,
  );
}

export function messagePage(title: string, message: string): Html {
  return pageLayout(title, html`<h1>${title}</h1><p>${message}</p>`);
}

export function pageLayout(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>${title} · Action Center</title>
<style>${STYLE}</style>
<script src="${LIVE_SCRIPT_PATH}" defer></script>
</head>
<body>
<div class="bar"><span class="brand">Action Center</span><span class="muted">for Slack</span></div>
<main>${body}</main>
</body>
</html>`;
}

const STYLE = trusted(`
:root { color-scheme: light; --ink: #1d1c1d; --muted: #616061; --line: #e2e2e2; --bg: #f6f6f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: var(--ink); background: var(--bg); }
.bar { background: #3f0e40; color: #fff; padding: 10px 16px; display: flex; gap: 8px; align-items: baseline; }
.bar .brand { font-weight: 700; }
.bar .muted { color: #cfc3cf; }
main { max-width: 860px; margin: 0 auto; padding: 16px 12px 40px; }
h1 { font-size: 22px; margin: 4px 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 16px 0 6px; }
a { color: #1264a3; }
.muted { color: var(--muted); font-weight: normal; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.summary, .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0 0 12px; }
.card-head { display: flex; gap: 8px; align-items: center; justify-content: space-between; flex-wrap: wrap; margin-bottom: 8px; }
dl { margin: 0; }
.row { display: grid; grid-template-columns: 110px 1fr; gap: 8px; padding: 4px 0; border-top: 1px solid #f0f0f0; }
.row:first-child { border-top: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.entity div { display: grid; grid-template-columns: 96px 1fr; gap: 6px; }
.entity dt { font-size: 13px; }
.badge { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: 13px; font-weight: 600; white-space: nowrap; }
.badge.wait { background: #fff4d6; color: #7a5200; }
.badge.busy { background: #e1efff; color: #0b4f8a; }
.badge.good { background: #ddf4e4; color: #0f6b33; }
.badge.bad { background: #fde2e4; color: #a0182a; }
.badge.off { background: #ececec; color: #4a4a4a; }
.badge.undone { background: #eee5fb; color: #5a2ea6; }
.user { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.error { color: #a0182a; }
q { quotes: "\\201C" "\\201D"; }
.trail { list-style: none; margin: 0; padding: 0 0 0 12px; border-left: 2px solid var(--line); }
.trail li { position: relative; padding: 4px 0 8px 8px; overflow-wrap: anywhere; }
.trail li::before { content: ""; position: absolute; left: -19px; top: 10px; width: 10px; height: 10px;
  border-radius: 50%; background: #fff; border: 2px solid #8d8d8d; }
.when { font-size: 13px; color: var(--muted); }
.detail { color: #3d3c3d; }
@media (max-width: 480px) {
  .row { grid-template-columns: 1fr; gap: 0; }
  .entity div { grid-template-columns: 1fr; gap: 0; }
}
`);
