// The sandbox page in the browser: shows the conversations as the server renders them, follows changes
// through server-sent events, and posts clicks, modal submissions and slash commands back to the server,
// which sends them on to the bot exactly as Slack would. No framework; the server does the escaping.
const BASE = "/sandbox";
const TITLES = { channel: "# action-center", dm: "action-center", home: "action-center · Home" };

/** Keys of the messages whose thread is open. */
const expanded = new Set();
/** The HTML each timeline item was built from, to replace only what changed. */
const built = new WeakMap();
let conversation = "channel";
let modal = { id: null, html: null };
let firstRender = true;
let answerConfirm = null;

const byId = (id) => document.getElementById(id);

function notice(text) {
  const box = byId("notice");
  box.textContent = text;
  box.hidden = false;
}

function clearNotice() {
  byId("notice").hidden = true;
}

/** POSTs to the sandbox API; a refusal is shown to the person as the server worded it. */
async function call(path, body) {
  let response;
  try {
    response = await fetch(`${BASE}/api/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    notice("The sandbox server does not answer. Is `npm start` still running?");
    return false;
  }
  if (response.ok) {
    clearNotice();
    return true;
  }
  const data = await response.json().catch(() => ({}));
  notice(data.error ?? `The sandbox answered HTTP ${response.status}.`);
  return false;
}

// --- dates as Slack localises them -------------------------------------------------------------------------

function relativeDay(date) {
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(date) - day(new Date())) / 86_400_000);
  return { 0: "Today", [-1]: "Yesterday", 1: "Tomorrow" }[diff];
}

function formatDate(date, format) {
  const on = (options) => date.toLocaleDateString(undefined, options);
  const tokens = {
    date_num: () => on({ year: "numeric", month: "2-digit", day: "2-digit" }),
    date: () => on({ year: "numeric", month: "long", day: "numeric" }),
    date_short: () => on({ year: "numeric", month: "short", day: "numeric" }),
    date_long: () => on({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    date_pretty: () => relativeDay(date) ?? tokens.date(),
    date_short_pretty: () => relativeDay(date) ?? tokens.date_short(),
    date_long_pretty: () => relativeDay(date) ?? tokens.date_long(),
    time: () => date.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" }),
    time_secs: () =>
      date.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  return format.replace(/\{(\w+)\}/g, (whole, name) => tokens[name]?.() ?? whole);
}

function localize(root) {
  for (const time of root.querySelectorAll("time[data-format]")) {
    const date = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    time.textContent = formatDate(date, time.dataset.format || "{date_short} {time}");
    time.title = date.toLocaleString();
  }
}

// --- rendering ---------------------------------------------------------------------------------------------

function setThread(item, open) {
  item.classList.toggle("open", open);
  item.querySelector(":scope > [data-thread-toggle]")?.setAttribute("aria-expanded", String(open));
}

function buildItem(item) {
  const element = document.createElement("div");
  element.className = "item";
  element.dataset.key = item.key;
  element.innerHTML = item.html;
  built.set(element, item.html);
  setThread(element, expanded.has(item.key));
  localize(element);
  return element;
}

/** Brings the timeline to `items`, replacing only the items whose HTML changed (updates in place). */
function patch(container, items) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  const old = new Map([...container.children].map((element) => [element.dataset.key, element]));
  let cursor = container.firstElementChild;
  for (const item of items) {
    let element = old.get(item.key);
    old.delete(item.key);
    if (!element || built.get(element) !== item.html) {
      const fresh = buildItem(item);
      if (element) {
        fresh.classList.add("changed");
        element.replaceWith(fresh);
        if (cursor === element) cursor = fresh;
      }
      element = fresh;
    }
    if (element === cursor) cursor = cursor.nextElementSibling;
    else container.insertBefore(element, cursor);
  }
  for (const element of old.values()) element.remove();
  if (atBottom || firstRender) container.scrollTop = container.scrollHeight;
}

const isChoice = (input) => input.type === "checkbox" || input.type === "radio";

/** What the person set in a modal, by control: text, a box ticked, the options chosen in a select. */
function inputValues(root) {
  return new Map(
    [...root.querySelectorAll("[data-input]")].map((input) => [
      input.id,
      isChoice(input)
        ? input.checked
        : input.multiple
          ? [...input.selectedOptions].map((o) => o.value)
          : input.value,
    ]),
  );
}

function restoreValue(input, value) {
  if (isChoice(input)) input.checked = value;
  else if (input.multiple) for (const option of input.options) option.selected = value.includes(option.value);
  else input.value = value;
}

function renderModal(next) {
  const layer = byId("modal-layer");
  if (!next) {
    layer.hidden = true;
    layer.replaceChildren();
    modal = { id: null, html: null };
    return;
  }
  if (next.id === modal.id && next.html === modal.html) return;
  // The same modal again (errors added, or updated): what the person typed stays.
  const kept = next.id === modal.id ? inputValues(layer) : new Map();
  layer.innerHTML = next.html;
  layer.hidden = false;
  for (const [id, value] of kept) {
    const input = layer.querySelector(`#${CSS.escape(id)}`);
    if (input) restoreValue(input, value);
  }
  localize(layer);
  if (next.id !== modal.id) layer.querySelector("[data-input]")?.focus();
  modal = { id: next.id, html: next.html };
}

function showConversation(name) {
  conversation = name;
  // As in Slack, opening the app's Home tab is an event the app answers by publishing the view.
  if (name === "home") void call("home/open", {});
  byId("composer").hidden = name === "home";
  for (const timeline of document.querySelectorAll("[data-timeline]")) {
    timeline.hidden = timeline.dataset.timeline !== name;
    if (!timeline.hidden) timeline.scrollTop = timeline.scrollHeight;
  }
  for (const button of document.querySelectorAll("[data-conversation]")) {
    const active = button.dataset.conversation === name;
    button.classList.toggle("active", active);
    if (active) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  byId("conversation-title").textContent = TITLES[name];
  updateEmpty();
}

function updateEmpty() {
  byId("empty").hidden = conversation === "home" || byId(`timeline-${conversation}`).children.length > 0;
}

let homeHtml = null;

function renderHome(home) {
  const html = home?.html ?? "";
  if (html === homeHtml) return;
  homeHtml = html;
  const layer = byId("timeline-home");
  layer.innerHTML = html;
  localize(layer);
}

function render(state) {
  patch(byId("timeline-channel"), state.timelines.channel);
  patch(byId("timeline-dm"), state.timelines.dm);
  renderHome(state.home);
  firstRender = false;
  updateEmpty();
  renderModal(state.modal);
}

let refreshing = false;
let again = false;
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    do {
      again = false;
      const response = await fetch(`${BASE}/api/state`, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
    } while (again);
  } catch (error) {
    notice(`Could not load the conversation (${error.message}); retrying when the server is back.`);
  } finally {
    refreshing = false;
  }
}

// --- interactions ------------------------------------------------------------------------------------------

/** Slack's confirm dialog: resolves true when the person confirms. */
function confirmWith(template) {
  const layer = byId("confirm-layer");
  layer.replaceChildren(template.content.cloneNode(true));
  layer.hidden = false;
  localize(layer);
  return new Promise((resolve) => {
    answerConfirm = (yes) => {
      answerConfirm = null;
      layer.hidden = true;
      layer.replaceChildren();
      resolve(yes);
    };
    layer.querySelector("[data-ok]").focus();
  });
}

/** Where a click happened, as the server finds it: the view (modal or Home) or the message. */
function containerOf(control) {
  const view = control.closest("[data-view-id]");
  if (view) return { container: "view", viewId: view.dataset.viewId };
  const message = control.closest("[data-container]");
  return { container: message.dataset.container, channel: message.dataset.channel, ts: message.dataset.ts };
}

/** The element's confirm dialog, if it has one (a button's or an overflow menu's). */
const confirmTemplate = (control) =>
  control.closest(".btn-wrap").querySelector(":scope > template.confirm-template");

async function clickButton(control, event) {
  const template = confirmTemplate(control);
  const link = control.tagName === "A";
  if (template) {
    if (link) event.preventDefault();
    if (!(await confirmWith(template))) return;
    if (link) window.open(control.href, "_blank", "noopener");
  }
  control.classList.add("busy");
  await call("click", { ...containerOf(control), actionId: control.dataset.actionId });
  control.classList.remove("busy");
}

// --- overflow menus: "…" opens the options; choosing one sends it, as Slack's `selected_option` ---------

let openMenu = null;

function setMenu(menu, open) {
  menu.hidden = !open;
  menu.parentElement.querySelector("[data-overflow-toggle]").setAttribute("aria-expanded", String(open));
  openMenu = open ? menu : null;
  if (open) menu.querySelector("[data-option]")?.focus();
}

function closeMenu() {
  if (openMenu) setMenu(openMenu, false);
}

async function chooseOption(option) {
  const menu = option.closest("[role=menu]");
  const toggle = menu.parentElement.querySelector("[data-overflow-toggle]");
  closeMenu();
  const template = confirmTemplate(menu);
  if (template && !(await confirmWith(template))) return;
  toggle.classList.add("busy");
  await call("click", {
    ...containerOf(menu),
    actionId: menu.dataset.actionId,
    selectedOption: option.dataset.option,
  });
  toggle.classList.remove("busy");
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const confirmLayer = byId("confirm-layer");
  if (answerConfirm && confirmLayer.contains(target)) {
    if (target.closest("[data-ok]")) answerConfirm(true);
    else if (target.closest("[data-deny]") || target === confirmLayer) answerConfirm(false);
    return;
  }
  const option = target.closest("[data-option]");
  if (option) return void chooseOption(option);
  const toggle = target.closest("[data-overflow-toggle]");
  const menu = toggle?.parentElement.querySelector("[role=menu]");
  if (openMenu && openMenu !== menu) closeMenu();
  if (menu) return setMenu(menu, menu.hidden);
  const control = target.closest("a[data-action-id], button[data-action-id]");
  if (control) return void clickButton(control, event);
  const threadToggle = target.closest("[data-thread-toggle]");
  if (threadToggle) {
    const item = threadToggle.closest(".item");
    const open = !item.classList.contains("open");
    if (open) expanded.add(item.dataset.key);
    else expanded.delete(item.dataset.key);
    return setThread(item, open);
  }
  const close = target.closest("[data-close]");
  if (close && modal.id) return void call(`views/${encodeURIComponent(modal.id)}/close`, {});
  const dismiss = target.closest("[data-dismiss]");
  if (dismiss) {
    const message = dismiss.closest("[data-container]");
    return void call("ephemerals/dismiss", { channel: message.dataset.channel, ts: message.dataset.ts });
  }
  const tab = target.closest("[data-conversation]");
  if (tab) showConversation(tab.dataset.conversation);
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (openMenu) closeMenu();
  else if (answerConfirm) answerConfirm(false);
  else if (modal.id) void call(`views/${encodeURIComponent(modal.id)}/close`, {});
});

// The browser checks required inputs first, as Slack's client does; then the values go to the server.
byId("modal-layer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  // A required checkbox group has no native check: one box at least, or Slack's own words under it.
  for (const group of form.querySelectorAll("[data-required-group]")) {
    const block = group.closest(".b-input");
    block.querySelector(".input-error.required")?.remove();
    if (group.querySelector("input:checked")) continue;
    const problem = document.createElement("div");
    problem.className = "input-error required";
    problem.setAttribute("role", "alert");
    problem.textContent = "Please complete this required field.";
    block.append(problem);
    group.querySelector("input")?.focus();
    return;
  }
  // block_id → action_id → text, the chosen option values (checkboxes, multi-select) or the one chosen.
  const values = {};
  for (const input of form.querySelectorAll("[data-input]")) {
    values[input.dataset.blockId] ??= {};
    const block = values[input.dataset.blockId];
    const actionId = input.dataset.actionId;
    if (input.type === "checkbox") {
      block[actionId] ??= [];
      if (input.checked) block[actionId].push(input.value);
    } else if (input.type === "radio") {
      block[actionId] ??= null;
      if (input.checked) block[actionId] = input.value;
    } else if (input.multiple) {
      block[actionId] = [...input.selectedOptions].map((option) => option.value);
    } else {
      block[actionId] = input.value;
    }
  }
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  await call(`views/${encodeURIComponent(form.dataset.viewId)}/submit`, { values });
  submit.disabled = false;
});

byId("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = byId("composer-input");
  const text = input.value.trim();
  if (text === "") return;
  if (await call("command", { text, conversation })) input.value = "";
});

function follow() {
  const events = new EventSource(`${BASE}/api/stream`);
  events.onmessage = () => void refresh();
  events.onerror = () => notice("Lost the connection to the sandbox server; reconnecting…");
  events.onopen = () => {
    clearNotice();
    void refresh();
  };
}

follow();
