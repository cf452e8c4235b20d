// The fake Slack Web API, driven by Slack's own Node client: if WebClient understands it, so does the bot.
import { createHmac } from "node:crypto";
import { verifySlackRequest, webApi } from "@slack/bolt";
import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeSlackApi,
  type FakeSlackApiOptions,
  startFakeSlackApi,
} from "../../src/sandbox/fakeSlackApi.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  signSlackRequest,
  slashCommandBody,
  startResponseUrlCatcher,
} from "../support/slackRequests.ts";

const { ErrorCode, LogLevel, WebClient } = webApi;
const CHANNEL = "C0ACTIONS";

// The client logs Slack's [ERROR] messages and retries; neither belongs in test output.
const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

let fake: FakeSlackApi | undefined;

async function start(options: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  fake = await startFakeSlackApi(options);
  return fake;
}

function clientFor(api: FakeSlackApi, options: webApi.WebClientOptions = {}, token = "xoxb-test") {
  return new WebClient(token, {
    slackApiUrl: api.url,
    logger: quiet,
    retryConfig: { retries: 0 },
    ...options,
  });
}

function platformError(error: string) {
  return { code: ErrorCode.PlatformError, data: expect.objectContaining({ ok: false, error }) };
}

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("fake Slack Web API: messages", () => {
  it("answers auth.test and chat.postMessage with Slack's shapes and increasing ts values", async () => {
    const api = await start();
    const web = clientFor(api);
    const auth = await web.auth.test();
    expect(auth).toMatchObject({
      ok: true,
      team_id: "T0SANDBOX",
      user_id: "U0ACTIONBOT",
      bot_id: "B0ACTIONBOT",
    });

    const first = await web.chat.postMessage({ channel: CHANNEL, text: "Quarantine evil.exe on LAPTOP-7?" });
    const second = await web.chat.postMessage({
      channel: CHANNEL,
      text: "Isolate LAPTOP-7?",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*Isolate* LAPTOP-7" } }],
    });
    expect(first).toMatchObject({
      ok: true,
      channel: CHANNEL,
      message: { type: "message", text: expect.any(String) },
    });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.message).toMatchObject({ ts: first.ts, bot_id: "B0ACTIONBOT", user: "U0ACTIONBOT" });
    // Slack gives blocks without a block_id one of its own.
    expect(second.message?.blocks?.[0]?.block_id).toEqual(expect.any(String));

    expect(api.messages.get(CHANNEL)?.map((m) => m.text)).toEqual([
      "Quarantine evil.exe on LAPTOP-7?",
      "Isolate LAPTOP-7?",
    ]);
    expect(api.callsTo("chat.postMessage")[1]?.args).toMatchObject({
      channel: CHANNEL,
      blocks: [{ type: "section" }],
    });
  });

  it("refuses a message without content, to an unknown channel, or with a malformed thread_ts", async () => {
    const web = clientFor(await start());
    await expect(web.chat.postMessage({ channel: CHANNEL, text: "" })).rejects.toMatchObject(
      platformError("no_text"),
    );
    await expect(web.chat.postMessage({ channel: "#general", text: "hi" })).rejects.toMatchObject(
      platformError("channel_not_found"),
    );
    await expect(
      web.chat.postMessage({ channel: CHANNEL, text: "hi", thread_ts: "0" }),
    ).rejects.toMatchObject(platformError("invalid_thread_ts"));
  });

  it("updates a message in place, keeping blocks left out, and reports message_not_found", async () => {
    const api = await start();
    const web = clientFor(api);
    const posted = await web.chat.postMessage({
      channel: CHANNEL,
      text: "Pending",
      blocks: [{ type: "section", block_id: "summary", text: { type: "mrkdwn", text: "Pending" } }],
    });
    const updated = await web.chat.update({
      channel: CHANNEL,
      ts: posted.ts!,
      text: "Approved by <@U0ALICE>",
    });
    expect(updated).toMatchObject({
      ok: true,
      channel: CHANNEL,
      ts: posted.ts,
      text: "Approved by <@U0ALICE>",
    });

    const stored = api.findMessage(CHANNEL, posted.ts!);
    expect(stored).toMatchObject({ text: "Approved by <@U0ALICE>", blocks: [{ block_id: "summary" }] });
    expect(stored?.edited?.user).toBe("U0ACTIONBOT");
    expect(api.messages.get(CHANNEL)).toHaveLength(1);

    await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: "Done", blocks: [] });
    expect(api.findMessage(CHANNEL, posted.ts!)?.blocks).toBeUndefined();

    await expect(web.chat.update({ channel: CHANNEL, ts: "1.000001", text: "x" })).rejects.toMatchObject(
      platformError("message_not_found"),
    );
  });

  it("posts ephemeral messages, permalinks, reactions and deletions", async () => {
    const api = await start();
    const web = clientFor(api);
    const ephemeral = await web.chat.postEphemeral({
      channel: CHANNEL,
      user: "U0ALICE",
      text: "Only you can see this",
    });
    expect(ephemeral.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(api.ephemerals).toEqual([
      expect.objectContaining({ channel: CHANNEL, user: "U0ALICE", text: "Only you can see this" }),
    ]);
    expect(api.messages.get(CHANNEL)).toBeUndefined();

    const { ts } = await web.chat.postMessage({ channel: CHANNEL, text: "Action" });
    const link = await web.chat.getPermalink({ channel: CHANNEL, message_ts: ts! });
    expect(link.permalink).toBe(
      `https://action-center-sandbox.slack.com/archives/${CHANNEL}/p${ts!.replace(".", "")}`,
    );

    await web.reactions.add({ channel: CHANNEL, timestamp: ts!, name: "white_check_mark" });
    expect(api.findMessage(CHANNEL, ts!)?.reactions).toEqual([
      { name: "white_check_mark", users: ["U0ACTIONBOT"], count: 1 },
    ]);
    await expect(
      web.reactions.add({ channel: CHANNEL, timestamp: ts!, name: "white_check_mark" }),
    ).rejects.toMatchObject(platformError("already_reacted"));

    await web.chat.delete({ channel: CHANNEL, ts: ts! });
    expect(api.messages.get(CHANNEL)).toEqual([]);
    await expect(web.chat.delete({ channel: CHANNEL, ts: ts! })).rejects.toMatchObject(
      platformError("message_not_found"),
    );
  });

  it("serves history newest first with metadata on request, threads and cursor pages", async () => {
    const api = await start();
    const web = clientFor(api);
    const metadata = { event_type: "action_posted", event_payload: { action_id: "act-1" } };
    const parent = await web.chat.postMessage({ channel: CHANNEL, text: "Parent", metadata });
    await web.chat.postMessage({ channel: CHANNEL, text: "Reply", thread_ts: parent.ts! });
    const latest = await web.chat.postMessage({ channel: CHANNEL, text: "Latest" });

    const history = await web.conversations.history({ channel: CHANNEL, include_all_metadata: true });
    expect(history.messages?.map((m) => m.text)).toEqual(["Latest", "Parent"]);
    expect(history.messages?.[1]).toMatchObject({ metadata, reply_count: 1, thread_ts: parent.ts });
    const plain = await web.conversations.history({ channel: CHANNEL });
    expect(plain.messages?.[1]?.metadata).toBeUndefined();

    const thread = await web.conversations.replies({ channel: CHANNEL, ts: parent.ts! });
    expect(thread.messages?.map((m) => m.text)).toEqual(["Parent", "Reply"]);
    expect(api.findMessage(CHANNEL, parent.ts!)?.replies[0]?.thread_ts).toBe(parent.ts);

    const first = await web.conversations.history({ channel: CHANNEL, limit: 1 });
    expect(first).toMatchObject({ has_more: true, messages: [{ ts: latest.ts }] });
    const cursor = first.response_metadata?.next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const second = await web.conversations.history({ channel: CHANNEL, limit: 1, cursor });
    expect(second).toMatchObject({ has_more: false, messages: [{ ts: parent.ts }] });

    const since = await web.conversations.history({ channel: CHANNEL, oldest: parent.ts! });
    expect(since.messages?.map((m) => m.ts)).toEqual([latest.ts]);
  });
});

describe("fake Slack Web API: views, directory and files", () => {
  const modal = {
    type: "modal" as const,
    callback_id: "reject_reason",
    title: { type: "plain_text" as const, text: "Reject" },
    submit: { type: "plain_text" as const, text: "Reject" },
    blocks: [
      {
        type: "input" as const,
        block_id: "reason",
        label: { type: "plain_text" as const, text: "Why?" },
        element: { type: "plain_text_input" as const, action_id: "reason" },
      },
    ],
  };

  it("opens, pushes and updates modals and publishes Home tabs", async () => {
    const api = await start();
    const web = clientFor(api);
    const trigger = api.issueTrigger("U0ALICE");
    const opened = await web.views.open({ trigger_id: trigger, view: modal });
    const viewId = opened.view?.id ?? "";
    expect(viewId).toMatch(/^V[A-Z0-9]+$/);
    expect(opened.view).toMatchObject({
      callback_id: "reject_reason",
      root_view_id: viewId,
      state: { values: {} },
    });
    expect(api.views.get(viewId)?.userId).toBe("U0ALICE");

    // A trigger_id is good for one view, and there is none without it.
    await expect(web.views.open({ trigger_id: trigger, view: modal })).rejects.toMatchObject(
      platformError("exchanged_trigger_id"),
    );
    await expect(web.views.open({ trigger_id: "", view: modal })).rejects.toMatchObject(
      platformError("invalid_trigger_id"),
    );

    const pushed = await web.views.push({ trigger_id: api.issueTrigger("U0ALICE"), view: modal });
    expect(pushed.view).toMatchObject({ previous_view_id: viewId, root_view_id: viewId });

    await expect(
      web.views.update({ view_id: viewId, hash: "stale.hash", view: modal }),
    ).rejects.toMatchObject(platformError("hash_conflict"));
    const updated = await web.views.update({ view_id: viewId, hash: opened.view?.hash, view: modal });
    expect(updated.view?.id).toBe(viewId);
    expect(updated.view?.hash).not.toBe(opened.view?.hash);
    await expect(web.views.update({ view_id: "VNOPE", view: modal })).rejects.toMatchObject(
      platformError("not_found"),
    );

    const home = { type: "home" as const, blocks: [{ type: "divider" as const }] };
    const published = await web.views.publish({ user_id: "U0ALICE", view: home });
    const again = await web.views.publish({ user_id: "U0ALICE", view: home });
    expect(again.view?.id).toBe(published.view?.id);
    expect(api.views.get(published.view?.id ?? "")).toMatchObject({
      userId: "U0ALICE",
      view: { type: "home" },
    });
  });

  it("lists user group members and finds users by email", async () => {
    const api = await start({
      users: [{ id: "U0ALICE", name: "alice", realName: "Alice Doe", email: "alice@example.com" }],
      userGroups: { S0APPROVERS: ["U0ALICE", "U0BOB"] },
    });
    const web = clientFor(api);
    expect((await web.usergroups.users.list({ usergroup: "S0APPROVERS" })).users).toEqual([
      "U0ALICE",
      "U0BOB",
    ]);
    await expect(web.usergroups.users.list({ usergroup: "S0NOPE" })).rejects.toMatchObject(
      platformError("no_such_subteam"),
    );

    const found = await web.users.lookupByEmail({ email: "Alice@Example.com" });
    expect(found.user).toMatchObject({
      id: "U0ALICE",
      real_name: "Alice Doe",
      profile: { email: "alice@example.com" },
    });
    await expect(web.users.lookupByEmail({ email: "mallory@example.com" })).rejects.toMatchObject(
      platformError("users_not_found"),
    );
    expect((await web.users.info({ user: "U0ALICE" })).user?.name).toBe("alice");
    await expect(web.users.info({ user: "U0NOBODY" })).rejects.toMatchObject(platformError("user_not_found"));

    // Membership can change under a running bot.
    api.userGroups.set("S0APPROVERS", ["U0BOB"]);
    expect((await web.usergroups.users.list({ usergroup: "S0APPROVERS" })).users).toEqual(["U0BOB"]);
  });

  it("takes a file through getUploadURLExternal, the upload URL and completeUploadExternal", async () => {
    const api = await start();
    const web = clientFor(api);
    const content = "id,status\nact-1,completed\n";
    await web.files.uploadV2({
      channel_id: CHANNEL,
      filename: "history.csv",
      title: "Action history",
      content,
      initial_comment: "Here is the history you asked for",
    });

    expect(api.callsTo("files.getUploadURLExternal")[0]?.args).toMatchObject({
      filename: "history.csv",
      length: String(content.length),
    });
    const [file] = [...api.files.values()];
    expect(file).toMatchObject({
      name: "history.csv",
      title: "Action history",
      completed: true,
      channels: [CHANNEL],
      initialComment: "Here is the history you asked for",
    });
    expect(file?.bytes?.toString("utf8")).toBe(content);
    expect(api.messages.get(CHANNEL)?.[0]).toMatchObject({
      text: "Here is the history you asked for",
      files: [
        {
          id: file?.id,
          name: "history.csv",
          title: "Action history",
          size: content.length,
          filetype: "csv",
          mimetype: "text/csv",
          pretty_type: "CSV",
        },
      ],
    });
    // url_private_download serves the bytes to the bot token only, as Slack's does.
    const shared = api.messages.get(CHANNEL)![0]!.files![0] as { url_private_download: string };
    const link = shared.url_private_download;
    expect(link).toMatch(/\/files-pri\/T\w+-F\w+\/download\/history\.csv$/);
    expect((await fetch(link)).status).toBe(403);
    const downloaded = await fetch(link, { headers: { authorization: "Bearer xoxb-any" } });
    expect(downloaded.headers.get("content-type")).toBe("text/csv");
    expect(await downloaded.text()).toBe(content);
  });
});

describe("fake Slack Web API: rate limits, faults and auth", () => {
  it("answers 429 with Retry-After beyond 1 post per second per channel", async () => {
    // A stopped clock: however slow the machine, every post lands in the same second.
    const api = await start({ postsPerSecondPerChannel: 1, now: () => Date.parse("2026-01-01T00:00:00Z") });
    const web = clientFor(api, { rejectRateLimitedCalls: true });
    await web.chat.postMessage({ channel: CHANNEL, text: "first" });
    const refused = web.chat.postMessage({ channel: CHANNEL, text: "second" });
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    // Another channel has its own budget.
    await web.chat.postMessage({ channel: "C0OTHER", text: "elsewhere" });
    expect(api.rateLimitedCount).toBe(1);
    expect(api.callsTo("chat.postMessage").map((c) => c.status)).toEqual([200, 429, 200]);
    expect(api.messages.get(CHANNEL)).toHaveLength(1);

    const raw = await fetch(`${api.url}chat.postMessage`, {
      method: "POST",
      headers: { authorization: "Bearer xoxb-raw", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ channel: CHANNEL, text: "third" }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get("retry-after")).toBe("1");
    expect(await raw.json()).toEqual({ ok: false, error: "ratelimited" });
  });

  it("is waited out by WebClient, which honours Retry-After", async () => {
    const api = await start({ postsPerSecondPerChannel: 1 });
    const web = clientFor(api, { retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    const started = Date.now();
    await web.chat.postMessage({ channel: CHANNEL, text: "first" });
    await web.chat.postMessage({ channel: CHANNEL, text: "second" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(api.rateLimitedCount).toBe(1);
    expect(api.messages.get(CHANNEL)?.map((m) => m.text)).toEqual(["first", "second"]);
  });

  it("limits a method per minute on a sliding window", async () => {
    let clock = Date.parse("2026-01-01T00:00:00Z");
    const api = await start({ limitsPerMinute: { "chat.update": 2 }, now: () => clock });
    const web = clientFor(api, { rejectRateLimitedCalls: true });
    const { ts } = await web.chat.postMessage({ channel: CHANNEL, text: "v0" });
    await web.chat.update({ channel: CHANNEL, ts: ts!, text: "v1" });
    clock += 10_000;
    await web.chat.update({ channel: CHANNEL, ts: ts!, text: "v2" });
    await expect(web.chat.update({ channel: CHANNEL, ts: ts!, text: "v3" })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 50,
    });
    clock += 50_000;
    await web.chat.update({ channel: CHANNEL, ts: ts!, text: "v4" });
    expect(api.findMessage(CHANNEL, ts!)?.text).toBe("v4");
  });

  it("injects 5xx, 429 and error faults that a retrying client gets through", async () => {
    const api = await start();
    api.failNext("chat.postMessage", 2, "5xx");
    const retrying = clientFor(api, { retryConfig: { retries: 2, minTimeout: 1, maxTimeout: 5 } });
    await retrying.chat.postMessage({ channel: CHANNEL, text: "eventually" });
    expect(api.callsTo("chat.postMessage").map((c) => c.status)).toEqual([500, 500, 200]);

    const web = clientFor(api, { rejectRateLimitedCalls: true });
    api.failNext("chat.update", 1, "5xx");
    await expect(web.chat.update({ channel: CHANNEL, ts: "1.000001", text: "x" })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    api.failNext("chat.postMessage", 1, "429");
    await expect(web.chat.postMessage({ channel: CHANNEL, text: "x" })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
    });
    api.failNext("chat.postMessage", 1, "error:channel_not_found");
    await expect(web.chat.postMessage({ channel: CHANNEL, text: "x" })).rejects.toMatchObject(
      platformError("channel_not_found"),
    );
    await web.chat.postMessage({ channel: CHANNEL, text: "fine again" });

    api.setDown(true);
    await expect(web.auth.test()).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    api.setDown(false);
    expect((await web.auth.test()).ok).toBe(true);
  });

  it("checks the token from the Authorization header or the token field", async () => {
    const api = await start();
    await expect(clientFor(api, {}, "xoxp-user-token").auth.test()).rejects.toMatchObject(
      platformError("invalid_auth"),
    );

    const form = await fetch(`${api.url}auth.test`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=xoxb-in-form",
    });
    expect(await form.json()).toMatchObject({ ok: true });
    expect(await (await fetch(`${api.url}auth.test`, { method: "POST" })).json()).toEqual({
      ok: false,
      error: "not_authed",
    });
    // A JSON body cannot carry the token; it must come in the header.
    const inJson = await fetch(`${api.url}auth.test`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ token: "xoxb-in-json" }),
    });
    expect(await inJson.json()).toMatchObject({ ok: false, error: "not_authed" });

    const strict = await startFakeSlackApi({ token: "xoxb-the-one" });
    try {
      await expect(clientFor(strict, {}, "xoxb-another").auth.test()).rejects.toMatchObject(
        platformError("invalid_auth"),
      );
      expect((await clientFor(strict, {}, "xoxb-the-one").auth.test()).ok).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it("accepts JSON bodies and answers unknown_method for what it does not implement", async () => {
    const api = await start();
    const posted = await fetch(`${api.url}chat.postMessage`, {
      method: "POST",
      headers: { authorization: "Bearer xoxb-json", "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ channel: CHANNEL, text: "from JSON", blocks: [{ type: "divider" }] }),
    });
    expect(await posted.json()).toMatchObject({ ok: true, channel: CHANNEL, message: { text: "from JSON" } });
    expect(api.messages.get(CHANNEL)?.[0]?.blocks).toEqual([
      { type: "divider", block_id: expect.any(String) },
    ]);

    await expect(clientFor(api).apiCall("chat.scheduleMessage", { channel: CHANNEL })).rejects.toMatchObject(
      platformError("unknown_method"),
    );
  });

  it("answers invalid_blocks with the validator's violations, and invalid_arguments for views", async () => {
    const api = await start({
      validateMessage: (message) => (message.text ? [] : ["a message needs a top-level text fallback"]),
      validateView: (view) => (Array.isArray(view.blocks) && view.blocks.length > 0 ? [] : ["no blocks"]),
    });
    const web = clientFor(api);
    await expect(
      web.chat.postMessage({ channel: CHANNEL, blocks: [{ type: "divider" }] }),
    ).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: expect.objectContaining({
        error: "invalid_blocks",
        errors: ["a message needs a top-level text fallback"],
        response_metadata: { messages: ["[ERROR] a message needs a top-level text fallback"] },
      }),
    });
    expect(api.messages.get(CHANNEL)).toBeUndefined();
    await web.chat.postMessage({ channel: CHANNEL, text: "ok", blocks: [{ type: "divider" }] });

    await expect(
      web.views.publish({ user_id: "U0ALICE", view: { type: "home", blocks: [] } }),
    ).rejects.toMatchObject(platformError("invalid_arguments"));
  });

  it("tells listeners about every call and forgets everything on reset", async () => {
    const seen: string[] = [];
    const api = await start({ userGroups: { S0APPROVERS: ["U0ALICE"] } });
    const unsubscribe = api.onCall((call) => seen.push(`${call.method}:${call.status}`));
    const web = clientFor(api);
    await web.chat.postMessage({ channel: CHANNEL, text: "hello" });
    unsubscribe();
    await web.auth.test();
    expect(seen).toEqual(["chat.postMessage:200"]);

    api.userGroups.set("S0APPROVERS", []);
    api.failNext("auth.test", 1, "5xx");
    api.reset();
    expect(api.calls).toEqual([]);
    expect(api.messages.size).toBe(0);
    expect(api.userGroups.get("S0APPROVERS")).toEqual(["U0ALICE"]);
    expect((await web.auth.test()).ok).toBe(true);
  });
});

describe("slack request helpers", () => {
  it("signs as Slack's documentation example does", () => {
    // The worked example in Slack's "Verifying requests from Slack".
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
      "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
      "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
      "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(signSlackRequest("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618)).toEqual({
      "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "X-Slack-Request-Timestamp": "1531420618",
    });
    const expected = createHmac("sha256", "secret").update("v0:1700000000:payload=%7B%7D").digest("hex");
    expect(signSlackRequest("secret", "payload=%7B%7D", 1700000000)["X-Slack-Signature"]).toBe(
      `v0=${expected}`,
    );
  });

  it("posts each kind encoded and signed as Slack does, which Bolt's verifier accepts", async () => {
    const server = await startResponseUrlCatcher();
    try {
      const base = new URL(server.newUrl()).origin;
      const payload = blockActionsPayload({
        userId: "U0ALICE",
        actionId: "approve",
        value: "act-1",
        channelId: CHANNEL,
        messageTs: "1700000000.000100",
        message: {
          text: "Quarantine?",
          blocks: [
            { type: "actions", block_id: "decide", elements: [{ type: "button", action_id: "approve" }] },
          ],
        },
      });
      expect(payload.actions[0]).toMatchObject({ action_id: "approve", block_id: "decide", type: "button" });
      expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);

      await postToSlackEndpoint(base, "s3cret", { kind: "interactive", body: payload });
      await postToSlackEndpoint(base, "s3cret", {
        kind: "command",
        body: slashCommandBody({ userId: "U0ALICE", text: "pending", channelId: CHANNEL }),
      });
      await postToSlackEndpoint(base, "s3cret", {
        kind: "event",
        body: { type: "url_verification", challenge: "c" },
      });

      const [interactive, command, event] = server.requests;
      expect(server.requests.map((r) => r.path)).toEqual(["/slack/events", "/slack/events", "/slack/events"]);
      expect(interactive?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      const form = new URLSearchParams(String(interactive?.body));
      expect(JSON.parse(form.get("payload") ?? "{}")).toEqual(payload);
      expect(new URLSearchParams(String(command?.body)).get("command")).toBe("/action-center");
      expect(event?.headers["content-type"]).toBe("application/json");
      expect(event?.body).toEqual({ type: "url_verification", challenge: "c" });

      for (const request of [interactive, command]) {
        verifySlackRequest({
          signingSecret: "s3cret",
          body: String(request?.body),
          headers: {
            "x-slack-signature": String(request?.headers["x-slack-signature"]),
            "x-slack-request-timestamp": Number(request?.headers["x-slack-request-timestamp"]),
          },
        });
      }
    } finally {
      await server.close();
    }
  });
});

describe("fake Slack Web API: a saved workspace", () => {
  it("starts again from its snapshot: messages, threads, files and Home tabs, ts still increasing", async () => {
    const api = await start();
    const web = clientFor(api);
    const changes: number[] = [];
    api.onChange(() => changes.push(1));
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: "pending" });
    await web.chat.postMessage({ channel: CHANNEL, text: "approved by you", thread_ts: posted.ts! });
    await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: "completed" });
    await web.files.uploadV2({ channel_id: CHANNEL, filename: "history.csv", content: "id\n1\n" });
    await web.views.publish({ user_id: "U0SOMEONE", view: { type: "home", blocks: [] } });
    // Reads change nothing; every write told the listeners (the upload is two: its URL, its completion).
    await web.conversations.history({ channel: CHANNEL });
    expect(changes.length).toBe(6);
    const snapshot = JSON.parse(JSON.stringify(api.snapshot()));
    await api.close();

    const again = await start({ initialState: snapshot });
    expect(again.findMessage(CHANNEL, posted.ts!)).toMatchObject({
      text: "completed",
      replies: [{ text: "approved by you" }],
    });
    const [file] = [...again.files.values()];
    expect(file?.bytes?.toString("utf8")).toBe("id\n1\n");
    expect([...again.views.values()].map((v) => v.userId)).toEqual(["U0SOMEONE"]);
    const later = await clientFor(again).chat.postMessage({ channel: CHANNEL, text: "next" });
    const latest = snapshot.lastMicros as number;
    const [seconds, micros] = later.ts!.split(".").map(Number) as [number, number];
    expect(seconds * 1e6 + micros).toBeGreaterThan(latest);
  });
});
