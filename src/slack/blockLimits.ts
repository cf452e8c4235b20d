// Slack's documented Block Kit limits, checked on plain JSON: our message builders are tested
// against it, and the fake Slack Web API of the tests answers `invalid_blocks` when it finds any.
// Each violation is one readable line naming where it is, e.g.
// `blocks[2].elements[0].text: 80 characters, at most 75`.

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  textObject: 3000,
  sectionText: 3000,
  sectionFields: 10,
  sectionField: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  accessibilityLabel: 75,
  actionId: 255,
  buttonValue: 2000,
  buttonUrl: 3000,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  inputLabel: 2000,
  inputHint: 2000,
  placeholder: 150,
  inputMaxLength: 3000,
  optionText: 75,
  optionValue: 150,
  selectOptions: 100,
  /** Checkboxes and radio buttons: Slack allows 10 options there, not 100 as in select menus. */
  choiceOptions: 10,
  overflowOptions: 5,
} as const;

type Json = Record<string, unknown>;

/** The state of one walk over a message or view: ids must be unique across the whole surface. */
type Walk = { violations: string[]; actionIds: Set<string>; blockIds: Set<string> };

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function lengthAtMost(walk: Walk, path: string, value: unknown, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "string") walk.violations.push(`${path}: must be a string`);
  else if (value.length > max) walk.violations.push(`${path}: ${value.length} characters, at most ${max}`);
}

/** The array at `path`, or null after reporting why it is not one of at most `max` items. */
function items(walk: Walk, path: string, value: unknown, max: number, min = 1): unknown[] | null {
  if (!Array.isArray(value)) {
    walk.violations.push(`${path}: must be an array`);
    return null;
  }
  if (value.length > max) walk.violations.push(`${path}: ${value.length} items, at most ${max}`);
  if (value.length < min) walk.violations.push(`${path}: ${value.length} items, at least ${min}`);
  return value;
}

function textObject(
  walk: Walk,
  path: string,
  value: unknown,
  { max, plainOnly = false, required = true }: { max: number; plainOnly?: boolean; required?: boolean },
): void {
  if (value === undefined) {
    if (required) walk.violations.push(`${path}: is required`);
    return;
  }
  if (!isRecord(value) || (value.type !== "plain_text" && value.type !== "mrkdwn")) {
    walk.violations.push(`${path}: must be a text object (plain_text or mrkdwn)`);
    return;
  }
  if (plainOnly && value.type !== "plain_text") walk.violations.push(`${path}: must be plain_text`);
  if (typeof value.text !== "string" || value.text.length === 0) {
    walk.violations.push(`${path}.text: must be a non-empty string`);
    return;
  }
  lengthAtMost(walk, `${path}.text`, value.text, Math.min(max, LIMITS.textObject));
}

function uniqueId(walk: Walk, path: string, value: unknown, max: number, seen: Set<string>): void {
  lengthAtMost(walk, path, value, max);
  if (typeof value !== "string") return;
  if (seen.has(value)) walk.violations.push(`${path}: "${value}" is used more than once`);
  seen.add(value);
}

function confirmDialog(walk: Walk, path: string, value: unknown): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    walk.violations.push(`${path}: must be an object`);
    return;
  }
  textObject(walk, `${path}.title`, value.title, { max: LIMITS.confirmTitle, plainOnly: true });
  textObject(walk, `${path}.text`, value.text, { max: LIMITS.confirmText });
  textObject(walk, `${path}.confirm`, value.confirm, { max: LIMITS.confirmButton, plainOnly: true });
  textObject(walk, `${path}.deny`, value.deny, { max: LIMITS.confirmButton, plainOnly: true });
}

function options(walk: Walk, path: string, value: unknown, max: number): void {
  items(walk, path, value, max)?.forEach((option, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(option)) {
      walk.violations.push(`${at}: must be an object`);
      return;
    }
    textObject(walk, `${at}.text`, option.text, { max: LIMITS.optionText });
    textObject(walk, `${at}.description`, option.description, { max: LIMITS.optionText, required: false });
    lengthAtMost(walk, `${at}.value`, option.value, LIMITS.optionValue);
  });
}

function element(walk: Walk, path: string, value: unknown): void {
  if (!isRecord(value) || typeof value.type !== "string") {
    walk.violations.push(`${path}: must be an element object with a type`);
    return;
  }
  uniqueId(walk, `${path}.action_id`, value.action_id, LIMITS.actionId, walk.actionIds);
  confirmDialog(walk, `${path}.confirm`, value.confirm);
  const placeholder = () =>
    textObject(walk, `${path}.placeholder`, value.placeholder, { max: LIMITS.placeholder, required: false });
  switch (value.type) {
    case "button":
      textObject(walk, `${path}.text`, value.text, { max: LIMITS.buttonText, plainOnly: true });
      lengthAtMost(walk, `${path}.value`, value.value, LIMITS.buttonValue);
      lengthAtMost(walk, `${path}.url`, value.url, LIMITS.buttonUrl);
      lengthAtMost(walk, `${path}.accessibility_label`, value.accessibility_label, LIMITS.accessibilityLabel);
      if (value.style !== undefined && value.style !== "primary" && value.style !== "danger") {
        walk.violations.push(`${path}.style: must be primary or danger`);
      }
      break;
    case "static_select":
    case "multi_static_select":
      placeholder();
      if (value.option_groups !== undefined) {
        const groups = items(walk, `${path}.option_groups`, value.option_groups, LIMITS.selectOptions) ?? [];
        for (const [i, group] of groups.entries()) {
          const groupOptions = isRecord(group) ? group.options : group;
          options(walk, `${path}.option_groups[${i}].options`, groupOptions, LIMITS.selectOptions);
        }
      } else {
        options(walk, `${path}.options`, value.options, LIMITS.selectOptions);
      }
      break;
    case "checkboxes":
    case "radio_buttons":
      options(walk, `${path}.options`, value.options, LIMITS.choiceOptions);
      break;
    case "overflow":
      options(walk, `${path}.options`, value.options, LIMITS.overflowOptions);
      break;
    case "plain_text_input":
      placeholder();
      for (const key of ["min_length", "max_length"] as const) {
        const length = value[key];
        if (
          length !== undefined &&
          (typeof length !== "number" || length < 0 || length > LIMITS.inputMaxLength)
        ) {
          walk.violations.push(`${path}.${key}: must be a number from 0 to ${LIMITS.inputMaxLength}`);
        }
      }
      break;
  }
}

function block(walk: Walk, path: string, value: unknown): void {
  if (!isRecord(value) || typeof value.type !== "string") {
    walk.violations.push(`${path}: must be a block object with a type`);
    return;
  }
  uniqueId(walk, `${path}.block_id`, value.block_id, LIMITS.blockId, walk.blockIds);
  switch (value.type) {
    case "section":
      if (value.text === undefined && value.fields === undefined) {
        walk.violations.push(`${path}: needs text or fields`);
      }
      textObject(walk, `${path}.text`, value.text, { max: LIMITS.sectionText, required: false });
      if (value.fields !== undefined) {
        items(walk, `${path}.fields`, value.fields, LIMITS.sectionFields)?.forEach((field, i) => {
          textObject(walk, `${path}.fields[${i}]`, field, { max: LIMITS.sectionField });
        });
      }
      if (value.accessory !== undefined) element(walk, `${path}.accessory`, value.accessory);
      break;
    case "header":
      textObject(walk, `${path}.text`, value.text, { max: LIMITS.headerText, plainOnly: true });
      break;
    case "context":
      items(walk, `${path}.elements`, value.elements, LIMITS.contextElements)?.forEach((item, i) => {
        if (!(isRecord(item) && item.type === "image")) {
          textObject(walk, `${path}.elements[${i}]`, item, { max: LIMITS.textObject });
        }
      });
      break;
    case "actions":
      items(walk, `${path}.elements`, value.elements, LIMITS.actionsElements)?.forEach((item, i) => {
        element(walk, `${path}.elements[${i}]`, item);
      });
      break;
    case "input":
      textObject(walk, `${path}.label`, value.label, { max: LIMITS.inputLabel, plainOnly: true });
      textObject(walk, `${path}.hint`, value.hint, {
        max: LIMITS.inputHint,
        plainOnly: true,
        required: false,
      });
      element(walk, `${path}.element`, value.element);
      break;
  }
}

function blocks(walk: Walk, value: unknown, max: number): void {
  items(walk, "blocks", value, max, 0)?.forEach((item, i) => {
    block(walk, `blocks[${i}]`, item);
  });
}

const newWalk = (): Walk => ({ violations: [], actionIds: new Set(), blockIds: new Set() });

/** The limits a `chat.postMessage` / `chat.update` payload breaks; empty when Slack would accept it. */
export function validateMessage(message: { text?: unknown; blocks?: unknown }): string[] {
  const walk = newWalk();
  if (typeof message.text !== "string" || message.text.trim().length === 0) {
    walk.violations.push("text: is required (notifications and screen readers show it)");
  } else {
    lengthAtMost(walk, "text", message.text, LIMITS.messageText);
  }
  if (message.blocks !== undefined) blocks(walk, message.blocks, LIMITS.messageBlocks);
  return walk.violations;
}

/** The limits a `views.open` / `views.publish` view breaks; empty when Slack would accept it. */
export function validateView(view: unknown): string[] {
  const walk = newWalk();
  if (!isRecord(view) || (view.type !== "modal" && view.type !== "home")) {
    return ["view: must be an object of type modal or home"];
  }
  if (view.type === "modal") {
    textObject(walk, "title", view.title, { max: LIMITS.modalTitle, plainOnly: true });
    textObject(walk, "close", view.close, { max: LIMITS.modalButton, plainOnly: true, required: false });
    const hasInput =
      Array.isArray(view.blocks) && view.blocks.some((item) => isRecord(item) && item.type === "input");
    textObject(walk, "submit", view.submit, { max: LIMITS.modalButton, plainOnly: true, required: hasInput });
  }
  lengthAtMost(walk, "private_metadata", view.private_metadata, LIMITS.privateMetadata);
  lengthAtMost(walk, "callback_id", view.callback_id, LIMITS.callbackId);
  blocks(walk, view.blocks, LIMITS.viewBlocks);
  return walk.violations;
}
