// The sandbox page's Block Kit and mrkdwn rendering: what a Slack client would show, and never markup
// that came from a message.
import { describe, expect, it } from "vitest";
import type { FakeMessage, FakeView, Json } from "../../src/sandbox/fakeSlackApi.ts";
import { mrkdwnToHtml } from "../../src/sandbox/mrkdwn.ts";
import { renderBlock, renderMessage, renderModal } from "../../src/sandbox/renderBlocks.ts";
import { viewBlockActionsPayload, viewStateValues } from "../../src/sandbox/slackPayloads.ts";
import { actionMessage } from "../../src/slack/blocks/actionMessage.ts";
import { goHuntModal, rejectModal } from "../../src/slack/blocks/modals.ts";
import { escapeMrkdwn } from "../../src/slack/text.ts";
import { choice, EVERY_INPUT_VIEW, makeAction, PUBLIC_URL } from "./blockFixtures.ts";

const names = (id: string) => (id === "U0LOCALUSER" ? "you" : undefined);
const md = (text: string) => mrkdwnToHtml(text, names).value;

function message(text: string, blocks: unknown[]): FakeMessage {
  return {
    type: "message",
    channel: "C0SANDBOX01",
    ts: "1714532400.000100",
    text,
    blocks,
    user: "U0ACTIONBOT",
    bot_id: "B0ACTIONBOT",
    app_id: "A0ACTIONCTR",
    team: "T0SANDBOX",
    replies: [],
  };
}

describe("mrkdwn", () => {
  it("formats bold, italic, strike, code, code blocks, quotes and line breaks", () => {
    expect(md("*Device*\nLAPTOP-7")).toBe("<strong>Device</strong><br>LAPTOP-7");
    expect(md("_soon_ and ~never~ and `x = 1`")).toBe(
      "<em>soon</em> and <del>never</del> and <code>x = 1</code>",
    );
    expect(md("```DeviceEvents\n| take 10```")).toBe("<pre>DeviceEvents\n| take 10</pre>");
    expect(md("&gt; quoted\nplain")).toBe("<blockquote>quoted</blockquote>plain");
  });

  it("never formats or links user text escaped for mrkdwn, and shows it as it was sent", () => {
    const hostile = "a *b* _c_ `d` <!channel> <https://evil.example|click> &amp; <script>";
    const html = md(`*Comment*\n${escapeMrkdwn(hostile)}`);
    expect(html.startsWith("<strong>Comment</strong><br>")).toBe(true);
    const rest = html.slice("<strong>Comment</strong><br>".length);
    expect(rest).not.toMatch(/<(strong|em|code|a|span|script)\b/);
    expect(rest.replaceAll("\u200B", "")).toBe(
      "a *b* _c_ `d` &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;amp; &lt;script&gt;",
    );
  });

  it("renders mentions, links, broadcasts and dates; unsafe links stay text", () => {
    expect(md("by <@U0LOCALUSER> and <@U0OTHER>")).toBe(
      'by <span class="mention">@you</span> and <span class="mention">@U0OTHER</span>',
    );
    expect(md("<!subteam^S0SOC|@soc> <!here>")).toBe(
      '<span class="mention">@soc</span> <span class="mention">@here</span>',
    );
    expect(md("<https://a.example/?q=1&amp;r=2|the page>")).toBe(
      '<a href="https://a.example/?q=1&amp;r=2" target="_blank" rel="noopener noreferrer">the page</a>',
    );
    expect(md("<javascript:alert(1)|x>")).toBe("&lt;javascript:alert(1)|x&gt;");
    expect(md("<!date^1714532400^{date_short_pretty} {time}|2024-05-01 03:00 UTC>")).toBe(
      '<time datetime="2024-05-01T03:00:00.000Z" data-format="{date_short_pretty} {time}">2024-05-01 03:00 UTC</time>',
    );
  });

  it("shows the bot's emoji and leaves other colons alone", () => {
    expect(md(":hourglass_flowing_sand: Waiting since 03:12:45 :no_such_emoji:")).toBe(
      "⏳ Waiting since 03:12:45 :no_such_emoji:",
    );
  });
});

describe("blocks", () => {
  it("renders an action message: header, fields, status, and buttons with their styles, none with a confirm", () => {
    const built = actionMessage(
      makeAction("quarantine_file", "pending", { deviceName: `PC-<img src=x onerror=alert(1)>` }),
      { publicUrl: PUBLIC_URL },
    );
    const html = renderMessage(message(built.text, built.blocks), {
      names,
      botName: "action-center",
      fileHref: (id) => `/sandbox/files/${id}`,
    }).value;
    expect(html).toContain('<div class="b-header">Quarantine file</div>');
    expect(html).toContain("<strong>Device</strong><br>PC-&lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain("<img");
    expect(html).toMatch(/<button type="button" class="btn primary" data-action-id="approve:42"/);
    expect(html).toMatch(/<button type="button" class="btn danger" data-action-id="reject:42"/);
    // The server checks the person before confirming, in a modal: no client-side dialog.
    expect(html).not.toContain('<template class="confirm-template">');
    expect(html).toMatch(
      /<a class="btn " href="https:\/\/ac\.example\.com\/investigations\/inv-42" target="_blank"/,
    );
  });

  it("renders a button's Slack confirm dialog as Slack's client shows it, for blocks that carry one", () => {
    const confirm = {
      title: { type: "plain_text", text: "Sure <b>?</b>" },
      text: { type: "plain_text", text: "It runs now." },
      confirm: { type: "plain_text", text: "Go" },
      deny: { type: "plain_text", text: "Cancel" },
      style: "danger",
    };
    const blocks = [
      {
        type: "actions",
        elements: [{ type: "button", action_id: "a", text: { type: "plain_text", text: "Do" }, confirm }],
      },
    ];
    const html = renderMessage(message("m", blocks), {
      names,
      botName: "action-center",
      fileHref: (id) => `/sandbox/files/${id}`,
    }).value;
    expect(html).toContain('<template class="confirm-template">');
    expect(html).toContain("<h2>Sure &lt;b&gt;?&lt;/b&gt;</h2>");
    expect(html).toMatch(/class="btn danger" data-ok>Go</);
  });

  it("renders a modal's inputs with Slack's limits, and the bot's errors under them", () => {
    const view: FakeView = {
      id: "V0REJECT",
      userId: "U0LOCALUSER",
      view: rejectModal(makeAction("stop_service", "pending")) as unknown as Json,
    };
    const html = renderModal(view, names, { reason: "Say why, for the audit trail." }).value;
    expect(html).toContain('data-view-id="V0REJECT"');
    expect(html).toMatch(
      /<textarea rows="4" id="input-reason" data-input data-kind="plain_text_input" data-block-id="reason" data-action-id="reason" required maxlength="1000"/,
    );
    expect(html).toContain('<div class="input-error" role="alert">Say why, for the audit trail.</div>');
    expect(html).toContain('<button type="submit" class="btn primary">Reject</button>');
    expect(html).toContain(">Cancel</button>");
  });

  it("renders rich text preformatted as it is, and says which blocks it cannot show", () => {
    const hunt = goHuntModal(makeAction("quarantine_file", "pending"));
    const rich = hunt.blocks.find((b) => b.type === "rich_text")!;
    expect(renderBlock(rich as never, names).value).toMatch(/^<div class="b-rich"><pre>DeviceFileEvents\n/);
    expect(renderBlock({ type: "video", title: { type: "plain_text", text: "x" } }, names).value).toContain(
      "[a video block is not shown in the sandbox]",
    );
  });

  const form = EVERY_INPUT_VIEW;

  it("renders checkboxes, radio buttons and selects as controls, with their initial choices", () => {
    const html = renderModal({ id: "V1", userId: "U0LOCALUSER", view: form }, names, {}).value;
    expect(html).not.toContain("not shown in the sandbox");
    expect(html).toMatch(
      /<input type="checkbox" id="input-boxes-0" name="boxes" value="1" data-input data-kind="checkboxes"/,
    );
    expect(html).toMatch(
      /value="2" data-input data-kind="checkboxes" data-block-id="boxes" data-action-id="b" checked>/,
    );
    expect(html).toContain('<span class="choice-description">the first</span>');
    expect(html).toMatch(/<input type="radio" [^>]*value="a" [^>]*required>/);
    expect(html).toMatch(
      /<select id="input-pick" [^>]*required><option value="">Select an item<\/option><option value="x">X/,
    );
    expect(html).toMatch(/<select id="input-many" [^>]* multiple><optgroup label="G"><option value="p">P/);
  });

  it("submits Slack's view_submission state: value, selected_option(s) as the view's own option objects", () => {
    const state = viewStateValues(form, {
      text: { t: "hello" },
      boxes: { b: ["1", "9"] },
      radio: { r: "b" },
      pick: { s: "" },
      many: { m: ["q"] },
    });
    expect(state).toEqual({
      text: { t: { type: "plain_text_input", value: "hello" } },
      boxes: { b: { type: "checkboxes", selected_options: [form.blocks[1]!.element.options![0]] } },
      radio: { r: { type: "radio_buttons", selected_option: choice("b", "B") } },
      pick: { s: { type: "static_select", selected_option: null } },
      many: { m: { type: "multi_static_select", selected_options: [choice("q", "Q")] } },
    });
    expect(viewStateValues(form, {}).text).toEqual({ t: { type: "plain_text_input", value: null } });
  });
});

describe("overflow menus", () => {
  const menu = {
    type: "section",
    block_id: "row-1",
    text: { type: "mrkdwn", text: "*LAPTOP-7*" },
    accessory: {
      type: "overflow",
      action_id: "review_decision:7",
      options: [
        { text: { type: "plain_text", text: "Approve" }, value: "approve" },
        { text: { type: "plain_text", text: "Reject…" }, value: "reject" },
      ],
    },
  };
  const view = { id: "V1", type: "modal", title: { type: "plain_text", text: "Review" }, blocks: [menu] };

  it("renders as a … button and a hidden menu of its options, carrying the action_id and values", () => {
    const html = renderBlock(menu, names).value;
    expect(html).not.toContain("not shown in the sandbox");
    expect(html).toMatch(
      /<button type="button" class="btn overflow-toggle" data-overflow-toggle [^>]*>…<\/button>/,
    );
    expect(html).toMatch(/<div class="overflow-menu" role="menu" data-action-id="review_decision:7" hidden>/);
    expect(html).toContain('data-option="approve">Approve</button>');
    expect(html).toContain('data-option="reject">Reject…</button>');
  });

  it("a choice is sent as Slack's overflow action: selected_option with the option's own text", () => {
    const payload = viewBlockActionsPayload({
      userId: "U0LOCALUSER",
      actionId: "review_decision:7",
      selectedOption: "reject",
      view,
    });
    expect(payload.actions).toEqual([
      {
        type: "overflow",
        action_id: "review_decision:7",
        block_id: "row-1",
        selected_option: { text: { type: "plain_text", text: "Reject…" }, value: "reject" },
        action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
      },
    ]);
    expect(() =>
      viewBlockActionsPayload({
        userId: "U0LOCALUSER",
        actionId: "review_decision:7",
        selectedOption: "x",
        view,
      }),
    ).toThrow(/no option x/);
  });
});
