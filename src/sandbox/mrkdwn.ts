// Slack's mrkdwn as HTML, the way a Slack client shows it: *bold*, _italic_, ~strike~, `code`, ```blocks```,
// > quotes, mentions, links, localised dates and the emoji the bot uses. Everything from the message is
// escaped; only markup built here is HTML.
import { escapeHtml, Html, html } from "../http/pages/html.ts";

/** A user's display name for `<@U…>`; undefined shows the ID, as Slack does for unknown users. */
export type Names = (userId: string) => string | undefined;

// The shortcodes the bot and its listeners post, and a few common ones; others stay as `:name:`.
const EMOJI: Record<string, string> = {
  hourglass_flowing_sand: "⏳",
  white_check_mark: "✅",
  heavy_check_mark: "✔️",
  gear: "⚙️",
  x: "❌",
  no_entry_sign: "🚫",
  no_entry: "⛔",
  alarm_clock: "⏰",
  leftwards_arrow_with_hook: "↩️",
  warning: "⚠️",
  information_source: "ℹ️",
  mag: "🔍",
  shield: "🛡️",
  rotating_light: "🚨",
  lock: "🔒",
  unlock: "🔓",
  tada: "🎉",
  eyes: "👀",
  thumbsup: "👍",
  "+1": "👍",
  wave: "👋",
  red_circle: "🔴",
  large_green_circle: "🟢",
  large_yellow_circle: "🟡",
  computer: "💻",
  package: "📦",
  clipboard: "📋",
  memo: "📝",
  bell: "🔔",
  link: "🔗",
  hammer_and_wrench: "🛠️",
  stopwatch: "⏱️",
  repeat: "🔁",
};

export function emoji(name: string): string | undefined {
  return EMOJI[name];
}

/** Replaces known `:shortcodes:` in already escaped text. */
export function withEmoji(escaped: string): string {
  return escaped.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole);
}

/** Slack's three entities, the only escapes in message text. */
function decode(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

/** A `<…>` control sequence: a mention, a channel, a broadcast, a date or a link. */
function control(inner: string, names: Names): Html {
  const bar = inner.indexOf("|");
  const head = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : decode(inner.slice(bar + 1));
  if (head.startsWith("@")) {
    const id = head.slice(1);
    return html`<span class="mention">@${names(id) ?? label ?? id}</span>`;
  }
  if (head.startsWith("#")) return html`<span class="mention">#${label ?? head.slice(1)}</span>`;
  if (head.startsWith("!subteam^")) {
    return html`<span class="mention">${label ?? `@${head.slice("!subteam^".length)}`}</span>`;
  }
  if (head.startsWith("!date^")) {
    const [, seconds, format] = head.split("^");
    const at = new Date(Number(seconds) * 1000);
    if (Number.isNaN(at.getTime())) return html`${label ?? inner}`;
    return html`<time datetime="${at.toISOString()}" data-format="${format ?? ""}">${label ?? at.toISOString()}</time>`;
  }
  if (/^!(here|channel|everyone)$/.test(head)) return html`<span class="mention">@${head.slice(1)}</span>`;
  const url = decode(head);
  if (SAFE_URL.test(url)) {
    return html`<a href="${url}" target="_blank" rel="noopener noreferrer">${label ?? url}</a>`;
  }
  return html`${decode(`<${inner}>`)}`;
}

// A marker formats only between a boundary and a non-space, as in Slack. The zero-width spaces that
// src/slack/text.ts puts around user text's markers are neither, so escaped markers never format.
const OPEN = `(^|[\\s(\\[{;:,.!?'"\\-]|\\uE001)`;
const CLOSE = `(?=$|[\\s)\\]};:,.!?'"\\-&]|\\uE000)`;
function format(text: string, marker: string, tag: string): string {
  const m = marker === "*" ? "\\*" : marker;
  const pattern = new RegExp(
    `${OPEN}${m}([^\\s${m}\\u200B](?:[^${m}\\n]*?[^\\s${m}\\u200B])?)${m}${CLOSE}`,
    "gm",
  );
  return text.replace(pattern, (_, before: string, body: string) => `${before}<${tag}>${body}</${tag}>`);
}

/** Lines beginning with `>` become one quote per run of lines. */
function quotes(escaped: string): string {
  const out: string[] = [];
  let quoted: string[] = [];
  const flush = () => {
    if (quoted.length > 0) out.push(`<blockquote>${quoted.join("<br>")}</blockquote>`);
    quoted = [];
  };
  for (const line of escaped.split("\n")) {
    const body = /^&gt;\s?(.*)$/.exec(line)?.[1];
    if (body !== undefined) {
      quoted.push(body);
      continue;
    }
    flush();
    out.push(`${line}<br>`);
  }
  flush();
  return out.join("").replace(/<br>$/, "");
}

export function mrkdwnToHtml(text: string, names: Names): Html {
  // Finished pieces are parked in slots marked with private-use characters, so later steps leave them be.
  const slots: string[] = [];
  const park = (piece: Html | string) => `\uE000${slots.push(String(piece)) - 1}\uE001`;
  let out = text.replace(/[\uE000\uE001]/g, "\uFFFD");
  out = out.replace(/```([\s\S]*?)```/g, (_, body: string) => park(html`<pre>${decode(body)}</pre>`));
  out = out.replace(/<([^<>\n]*)>/g, (_, inner: string) => park(control(inner, names)));
  out = out.replace(
    /(^|[^\w`\u200B])`([^`\n\u200B][^`\n]*)`(?![\w`\u200B])/g,
    (_, before: string, body: string) => `${before}${park(html`<code>${decode(body)}</code>`)}`,
  );
  out = escapeHtml(decode(out));
  out = format(out, "*", "strong");
  out = format(out, "_", "em");
  out = format(out, "~", "del");
  out = withEmoji(quotes(out));
  // Every character from `text` was escaped above or inside a slot: the result is markup.
  return new Html(out.replace(/\uE000(\d+)\uE001/g, (_, index: string) => slots[Number(index)] ?? ""));
}
