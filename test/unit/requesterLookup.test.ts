// The Slack side of requester matching (slack/requesters.ts): what Slack is asked, what is kept,
// and what a failure means. Slack is a fake WebClient whose users.lookupByEmail is case-sensitive,
// as the attack run's was: a look-up cached under a spelling it was not asked in once let
// `carol@…` approve her own action.
import type { WebClient } from "@slack/web-api";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY, parsePolicy } from "../../src/domain/policy.ts";
import { createRequesterLookup } from "../../src/slack/requesters.ts";
import { createLogger } from "../../src/telemetry/log.ts";

const CAROL = "U0CAROL01";
const BOB = "U0BOB01";

function slackError(error: string) {
  return Object.assign(new Error(error), { data: { ok: false, error } });
}

/** Carol's profile address is lower case; the app may not read addresses (no users:read.email). */
function fakeSlack(options: { down?: boolean } = {}) {
  const lookupByEmail = vi.fn(async ({ email }: { email: string }) => {
    if (options.down) throw slackError("ratelimited");
    if (email === "carol@example.com") return { ok: true, user: { id: CAROL } };
    throw slackError("users_not_found");
  });
  const info = vi.fn(async ({ user }: { user: string }) => {
    if (options.down) throw slackError("ratelimited");
    if (user === CAROL) return { ok: true, user: { id: CAROL, name: "carol.jones", profile: {} } };
    if (user === BOB)
      return { ok: true, user: { id: BOB, name: "bob", profile: { email: "bob@example.com" } } };
    throw slackError("user_not_found");
  });
  const client = { users: { lookupByEmail, info } } as unknown as WebClient;
  return { client, lookupByEmail, info };
}

const log = createLogger("silent");

describe("requester look-ups", () => {
  it("asks Slack in the one spelling and keeps the answer under exactly that question", async () => {
    const slack = fakeSlack();
    const lookup = createRequesterLookup(slack.client, DEFAULT_POLICY, log);
    for (const requestedBy of ["Carol@Example.com", "carol@example.com", "mailto:CAROL@example.com."]) {
      expect(await lookup.compare(requestedBy, CAROL)).toEqual({ ok: true, match: "same" });
      expect(await lookup.compare(requestedBy, BOB)).toEqual({ ok: true, match: "different" });
    }
    expect(slack.lookupByEmail.mock.calls.map(([args]) => args.email)).toEqual(["carol@example.com"]);
    expect(slack.info.mock.calls.map(([args]) => args.user)).toEqual([CAROL, BOB]);
  });

  it("an address nobody in Slack has is unknown; so is a bare name nobody's handle or address matches", async () => {
    const lookup = createRequesterLookup(fakeSlack().client, DEFAULT_POLICY, log);
    expect(await lookup.compare("dave@contractor.example", BOB)).toEqual({ ok: true, match: "unknown" });
    expect(await lookup.compare("dave", BOB)).toEqual({ ok: true, match: "unknown" });
    expect(await lookup.compare("carol.jones", CAROL)).toEqual({ ok: true, match: "same" });
    expect(await lookup.compare("bob", BOB)).toEqual({ ok: true, match: "same" });
  });

  it("a Slack id, given or mapped by the policy, is settled without asking Slack", async () => {
    const slack = fakeSlack({ down: true });
    const parsed = parsePolicy({ requesters: { "Dave@Contractor.example": CAROL } });
    if (!parsed.ok) throw new Error(parsed.message);
    const lookup = createRequesterLookup(slack.client, parsed.policy, log);
    expect(await lookup.compare(`<@${CAROL}|carol>`, CAROL)).toEqual({ ok: true, match: "same" });
    expect(await lookup.compare(`<@${CAROL}>`, BOB)).toEqual({ ok: true, match: "different" });
    expect(await lookup.compare("dave@contractor.example.", CAROL)).toEqual({ ok: true, match: "same" });
    expect(slack.info).not.toHaveBeenCalled();
    expect(slack.lookupByEmail).not.toHaveBeenCalled();
  });

  it("Slack failing is not an answer: nothing is kept, and the next question asks again", async () => {
    const slack = fakeSlack({ down: true });
    const lookup = createRequesterLookup(slack.client, DEFAULT_POLICY, log);
    expect(await lookup.compare("carol@example.com", CAROL)).toEqual({ ok: false });
    expect(await lookup.compare("carol@example.com", CAROL)).toEqual({ ok: false });
    expect(slack.info).toHaveBeenCalledTimes(2);
  });
});
