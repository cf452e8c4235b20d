// Block Kit as HTML for the sandbox page: the blocks of messages and modals as a Slack client lays them out.
// Interactive elements carry only the ids the page posts back (a button's action_id, an input's block_id and
// action_id); what a click sends to the bot is rebuilt on the server from the stored message or view.
//
// Why one long file: one renderer per Block Kit element type, side by side, as Slack's reference lists them.
import { escapeHtml, Html, html } from "../http/pages/html.ts";
import type { FakeEphemeral, FakeMessage, FakeView, Json } from "./fakeSlackApi.ts";
import { emoji, mrkdwnToHtml, type Names, withEmoji } from "./mrkdwn.ts";

export type RenderOptions = {
  names: Names;
  /** The bot's display name, shown on its messages. */
  botName: string;
  /** Where the page downloads a shared file (Slack's own links need the bot token). */
  fileHref: (fileId: string) => string;
};

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const records = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");
const optionValue = (option: Json) => str(option.value);

/** A plain_text or mrkdwn text object. */
function textObject(value: unknown, names: Names): Html {
  if (!isRecord(value)) return html``;
  if (value.type === "mrkdwn") return mrkdwnToHtml(str(value.text), names);
  const escaped = escapeHtml(str(value.text)).replace(/\n/g, "<br>");
  // Escaped above; only line breaks and emoji are added.
  return new Html(value.emoji === false ? escaped : withEmoji(escaped));
}

/** Slack's ts as a time of day the page localises (`data-format` as in `<!date>`), UTC until then. */
function tsTime(ts: string): Html {
  const at = new Date(Number(ts.split(".")[0]) * 1000);
  return html`<time datetime="${at.toISOString()}" data-format="{time}">${at.toISOString().slice(11, 16)} UTC</time>`;
}

function confirmDialog(confirm: unknown, names: Names): Html {
  if (!isRecord(confirm)) return html``;
  const danger = confirm.style === "danger";
  return html`<template class="confirm-template"><div class="confirm" role="alertdialog" aria-modal="true">
    <h2>${textObject(confirm.title, names)}</h2>
    <div class="confirm-text">${textObject(confirm.text, names)}</div>
    <div class="confirm-buttons">
      <button type="button" class="btn" data-deny>${textObject(confirm.deny ?? { type: "plain_text", text: "Cancel" }, names)}</button>
      <button type="button" class="btn ${danger ? "danger" : "primary"}" data-ok>${textObject(confirm.confirm ?? { type: "plain_text", text: "Yes" }, names)}</button>
    </div>
  </div></template>`;
}

const SAFE_URL = /^https?:\/\//i;

function button(element: Json, names: Names): Html {
  const style = element.style === "primary" || element.style === "danger" ? element.style : "";
  const label = textObject(element.text, names);
  const aria = str(element.accessibility_label);
  const url = str(element.url);
  // A link button opens its URL and still sends the click, as in Slack.
  const control = SAFE_URL.test(url)
    ? html`<a class="btn ${style}" href="${url}" target="_blank" rel="noopener noreferrer" data-action-id="${str(element.action_id)}"${aria ? html` aria-label="${aria}"` : ""}>${label}</a>`
    : html`<button type="button" class="btn ${style}" data-action-id="${str(element.action_id)}"${aria ? html` aria-label="${aria}"` : ""}>${label}</button>`;
  return html`<span class="btn-wrap">${control}${confirmDialog(element.confirm, names)}</span>`;
}

/**
 * Slack's overflow menu: a "…" button that opens a small menu of its options. The menu carries the
 * action_id and each option its value; a choice is sent as the element's `selected_option`.
 */
function overflow(element: Json, names: Names): Html {
  const actionId = str(element.action_id);
  const options = records(element.options).map(
    (option) =>
      html`<button type="button" class="overflow-option" role="menuitem" data-option="${optionValue(option)}">${textObject(option.text, names)}</button>`,
  );
  return html`<span class="btn-wrap overflow">
    <button type="button" class="btn overflow-toggle" data-overflow-toggle aria-haspopup="menu" aria-expanded="false" aria-label="More actions">…</button>
    <div class="overflow-menu" role="menu" data-action-id="${actionId}" hidden>${options}</div>${confirmDialog(element.confirm, names)}
  </span>`;
}

function unsupported(what: string): Html {
  return html`<span class="unsupported">[${what} is not shown in the sandbox]</span>`;
}

function element(value: Json, names: Names): Html {
  if (value.type === "button") return button(value, names);
  if (value.type === "overflow") return overflow(value, names);
  return unsupported(str(value.type) || "element");
}

function contextElement(value: Json, names: Names): Html {
  if (value.type === "mrkdwn" || value.type === "plain_text") return textObject(value, names);
  return unsupported(str(value.type) || "element");
}

// --- rich text ---------------------------------------------------------------------------------------------

function richInline(value: Json, names: Names): Html {
  const style = isRecord(value.style) ? value.style : {};
  let out: Html;
  switch (value.type) {
    case "text":
      out = html`${str(value.text)}`;
      break;
    case "link":
      out = SAFE_URL.test(str(value.url))
        ? html`<a href="${str(value.url)}" target="_blank" rel="noopener noreferrer">${str(value.text) || str(value.url)}</a>`
        : html`${str(value.text) || str(value.url)}`;
      break;
    case "user":
      out = html`<span class="mention">@${names(str(value.user_id)) ?? str(value.user_id)}</span>`;
      break;
    case "usergroup":
      out = html`<span class="mention">@${str(value.usergroup_id)}</span>`;
      break;
    case "channel":
      out = html`<span class="mention">#${str(value.channel_id)}</span>`;
      break;
    case "broadcast":
      out = html`<span class="mention">@${str(value.range)}</span>`;
      break;
    case "emoji":
      out = html`${emoji(str(value.name)) ?? `:${str(value.name)}:`}`;
      break;
    default:
      return unsupported(str(value.type) || "rich text element");
  }
  if (style.code) out = html`<code>${out}</code>`;
  if (style.bold) out = html`<strong>${out}</strong>`;
  if (style.italic) out = html`<em>${out}</em>`;
  if (style.strike) out = html`<del>${out}</del>`;
  return out;
}

function richElement(value: Json, names: Names): Html {
  const inline = () => records(value.elements).map((e) => richInline(e, names));
  switch (value.type) {
    case "rich_text_section":
      return html`<div class="rt-section">${inline()}</div>`;
    case "rich_text_preformatted":
      return html`<pre>${inline()}</pre>`;
    case "rich_text_quote":
      return html`<blockquote>${inline()}</blockquote>`;
    case "rich_text_list": {
      const items = records(value.elements).map(
        (e) => html`<li>${records(e.elements).map((i) => richInline(i, names))}</li>`,
      );
      return value.style === "ordered" ? html`<ol>${items}</ol>` : html`<ul>${items}</ul>`;
    }
    default:
      return unsupported(str(value.type) || "rich text element");
  }
}

// --- blocks ------------------------------------------------------------------------------------------------

/** An option's label and its description under it, as Slack's checkboxes and radio buttons show them. */
function optionLabel(option: Json, names: Names): Html {
  const description = isRecord(option.description)
    ? html`<span class="choice-description">${textObject(option.description, names)}</span>`
    : "";
  return html`<span class="choice-text">${textObject(option.text, names)}${description}</span>`;
}

/** The values an element starts with: `initial_options` or `initial_option`. */
function initialValues(value: Json): Set<string> {
  const initial = [
    ...records(value.initial_options),
    ...(isRecord(value.initial_option) ? [value.initial_option] : []),
  ];
  return new Set(initial.map(optionValue));
}

/** A select's options, flat or in `option_groups`, as <option>s. */
function selectOptions(value: Json, chosen: Set<string>, names: Names): Html {
  const one = (option: Json) =>
    html`<option value="${optionValue(option)}"${chosen.has(optionValue(option)) ? html` selected` : ""}>${textObject(option.text, names)}</option>`;
  const groups = records(value.option_groups);
  if (groups.length > 0) {
    return html`${groups.map((group) => html`<optgroup label="${str(isRecord(group.label) ? group.label.text : "")}">${records(group.options).map(one)}</optgroup>`)}`;
  }
  return html`${records(value.options).map(one)}`;
}

/**
 * An input block's element. Every control carries `data-input` with its block_id and action_id and
 * `data-kind` (the element type), from which the page builds what it submits; the server turns that into
 * the `state.values` Slack sends, taking the option objects from the view itself.
 */
function inputControl(block: Json, value: Json, names: Names, error: string | undefined): Html | null {
  const blockId = str(block.block_id);
  const actionId = str(value.action_id);
  const kind = str(value.type);
  const common = html`data-input data-kind="${kind}" data-block-id="${blockId}" data-action-id="${actionId}"`;
  const invalid = error ? html` aria-invalid="true"` : "";
  const required = block.optional ? "" : html` required`;
  const chosen = initialValues(value);
  switch (kind) {
    case "plain_text_input": {
      const placeholder = isRecord(value.placeholder) ? str(value.placeholder.text) : "";
      const attributes = html`id="input-${blockId}" ${common}${required}${
        typeof value.max_length === "number" ? html` maxlength="${value.max_length}"` : ""
      }${typeof value.min_length === "number" ? html` minlength="${value.min_length}"` : ""}${
        placeholder ? html` placeholder="${placeholder}"` : ""
      }${invalid}`;
      const initial = str(value.initial_value);
      return value.multiline
        ? html`<textarea rows="4" ${attributes}>${initial}</textarea>`
        : html`<input type="text" ${attributes} value="${initial}">`;
    }
    case "checkboxes":
    case "radio_buttons": {
      const type = kind === "checkboxes" ? "checkbox" : "radio";
      // A checkbox group has no native "required"; the page checks it on submit, as Slack's client does.
      const choices = records(value.options).map(
        (option, n) =>
          html`<label class="choice"><input type="${type}" id="input-${blockId}-${n}" name="${blockId}" value="${optionValue(option)}" ${common}${
            chosen.has(optionValue(option)) ? html` checked` : ""
          }${type === "radio" ? required : ""}>${optionLabel(option, names)}</label>`,
      );
      return html`<div class="choices" role="group" aria-labelledby="label-${blockId}" id="input-${blockId}"${
        block.optional || type === "radio" ? "" : html` data-required-group`
      }${invalid}>${choices}</div>`;
    }
    case "static_select":
    case "multi_static_select": {
      const multiple = kind === "multi_static_select";
      const placeholder = isRecord(value.placeholder) ? str(value.placeholder.text) : "Select an item";
      return html`<select id="input-${blockId}" ${common}${required}${multiple ? html` multiple` : ""}${invalid}>${
        multiple ? "" : html`<option value="">${placeholder}</option>`
      }${selectOptions(value, chosen, names)}</select>`;
    }
    default:
      return null;
  }
}

function input(block: Json, names: Names, error: string | undefined): Html {
  const value = isRecord(block.element) ? block.element : {};
  const blockId = str(block.block_id);
  const label = html`<label class="input-label" id="label-${blockId}" for="input-${blockId}">${textObject(block.label, names)}${
    block.optional ? html` <span class="optional">(optional)</span>` : ""
  }</label>`;
  const hint = block.hint ? html`<div class="hint">${textObject(block.hint, names)}</div>` : "";
  const problem = error ? html`<div class="input-error" role="alert">${error}</div>` : "";
  const control = inputControl(block, value, names, error);
  return html`<div class="b-input${error ? " has-error" : ""}" data-block="${blockId}">${label}${
    control ?? unsupported(str(value.type) || "input")
  }${hint}${problem}</div>`;
}

export function renderBlock(block: Json, names: Names, errors: Record<string, string> = {}): Html {
  switch (block.type) {
    case "header":
      return html`<div class="b-header">${textObject(block.text, names)}</div>`;
    case "section": {
      const fields = records(block.fields);
      const accessory = isRecord(block.accessory) ? element(block.accessory, names) : "";
      return html`<div class="b-section"><div class="b-section-main">${
        block.text ? html`<div class="b-text">${textObject(block.text, names)}</div>` : ""
      }${
        fields.length > 0
          ? html`<div class="b-fields">${fields.map((f) => html`<div>${textObject(f, names)}</div>`)}</div>`
          : ""
      }</div>${accessory ? html`<div class="b-accessory">${accessory}</div>` : ""}</div>`;
    }
    case "context":
      return html`<div class="b-context">${records(block.elements).map((e) => html`<span>${contextElement(e, names)}</span>`)}</div>`;
    case "actions":
      return html`<div class="b-actions">${records(block.elements).map((e) => element(e, names))}</div>`;
    case "divider":
      return html`<hr class="b-divider">`;
    case "rich_text":
      return html`<div class="b-rich">${records(block.elements).map((e) => richElement(e, names))}</div>`;
    case "input":
      return input(block, names, errors[str(block.block_id)]);
    default:
      return html`<div>${unsupported(`a ${str(block.type) || "block"} block`)}</div>`;
  }
}

function body(message: { text: string; blocks?: unknown[] }, names: Names): Html {
  const blocks = records(message.blocks);
  if (blocks.length === 0) return html`<div class="b-text">${mrkdwnToHtml(message.text, names)}</div>`;
  return html`${blocks.map((b) => renderBlock(b, names))}`;
}

/** "2.4 KB", as Slack writes a file's size. */
function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let size = bytes / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size < 10 ? size.toFixed(1) : Math.round(size)} ${units[unit]}`;
}

/** A shared file as Slack shows it: its name, type and size, a tap downloads it. */
function fileChip(file: Json, options: RenderOptions): Html {
  const name = str(file.name) || str(file.title) || "file";
  const size = typeof file.size === "number" ? fileSize(file.size) : "";
  const meta = [str(file.pretty_type), size].filter(Boolean).join(" · ");
  return html`<a class="file" href="${options.fileHref(str(file.id))}" download="${name}" aria-label="Download ${name}${size ? `, ${size}` : ""}">
    <span class="file-icon" aria-hidden="true">📄</span>
    <span class="file-body"><span class="file-name">${str(file.title) || name}</span><span class="file-meta">${meta}</span></span>
  </a>`;
}

function extras(message: FakeMessage, options: RenderOptions): Html {
  const files = records(message.files).map((file) => fileChip(file, options));
  const reactions = (message.reactions ?? []).map(
    (r) => html`<span class="reaction">${emoji(r.name) ?? `:${r.name}:`} ${r.count}</span>`,
  );
  return html`${files}${reactions.length > 0 ? html`<div class="reactions">${reactions}</div>` : ""}`;
}

function head(name: string, ts: string, extra: Html | string = ""): Html {
  return html`<div class="msg-head"><span class="who">${name}</span><span class="app-tag">APP</span>${tsTime(ts)}${extra}</div>`;
}

function avatar(name: string): Html {
  return html`<div class="avatar" aria-hidden="true">${name.slice(0, 2).toUpperCase()}</div>`;
}

export function renderMessage(message: FakeMessage, options: RenderOptions): Html {
  const replies = message.replies;
  return html`<div class="msg" data-container="message" data-channel="${message.channel}" data-ts="${message.ts}">
    ${avatar(options.botName)}
    <div class="msg-main">
      ${head(options.botName, message.ts, message.edited ? html`<span class="edited">(edited)</span>` : "")}
      ${body(message, options.names)}
      ${extras(message, options)}
    </div>
  </div>${
    replies.length > 0
      ? html`<button type="button" class="thread-toggle" data-thread-toggle aria-expanded="false">${replies.length} ${
          replies.length === 1 ? "reply" : "replies"
        }</button><div class="thread">${replies.map((reply) => renderMessage(reply, options))}</div>`
      : ""
  }`;
}

export function renderEphemeral(ephemeral: FakeEphemeral, options: RenderOptions): Html {
  return html`<div class="msg ephemeral" data-container="ephemeral" data-channel="${ephemeral.channel}" data-ts="${ephemeral.ts}">
    ${avatar(options.botName)}
    <div class="msg-main">
      ${head(options.botName, ephemeral.ts)}
      ${body(ephemeral, options.names)}
      <div class="only-you">👁 Only visible to you · <button type="button" class="link" data-dismiss>Dismiss</button></div>
    </div>
  </div>`;
}

/** A modal with its inputs; `errors` from the bot's `response_action: "errors"` show under the inputs. */
export function renderModal(view: FakeView, names: Names, errors: Record<string, string>): Html {
  const v = view.view;
  const submit = isRecord(v.submit) ? v.submit : null;
  const close = isRecord(v.close) ? v.close : { type: "plain_text", text: submit ? "Cancel" : "Close" };
  return html`<form class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" data-view-id="${view.id}">
    <header class="modal-head">
      <h2 id="modal-title">${textObject(v.title, names)}</h2>
      <button type="button" class="modal-x" data-close aria-label="Close">×</button>
    </header>
    <div class="modal-body">${records(v.blocks).map((b) => renderBlock(b, names, errors))}</div>
    <footer class="modal-foot">
      <button type="button" class="btn" data-close>${textObject(close, names)}</button>
      ${submit ? html`<button type="submit" class="btn primary">${textObject(submit, names)}</button>` : ""}
    </footer>
  </form>`;
}

/** The App Home tab: the view's blocks on the page, its buttons clicked as in a modal (container: view). */
export function renderHome(view: FakeView, names: Names): Html {
  return html`<div class="home-view" data-view-id="${view.id}">${records(view.view.blocks).map((b) => renderBlock(b, names))}</div>`;
}
