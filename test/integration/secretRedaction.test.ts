// A Defender answer that echoes the app's client secret, in any spelling, leaves no trace of it in
// the log, the action's stored error, the API or the unauthenticated action page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAction } from "../../src/db/queries/actions.ts";
import { decide } from "../../src/services/decide.ts";
import { ingest, waitForStatuses } from "../support/actions.ts";
import { APPROVER, startTestApp, type TestApp } from "../support/app.ts";
import { defenderEnv, type FakeDefender, startFakeDefender } from "../support/fakeDefender.ts";
import { actionBody, sha1Of } from "../support/fixtures.ts";

// Entra ID's secret alphabet (~ . _ -) and characters each encoding spells its own way.
const SECRET = 'Zq8Q~r.Ab_9+/z=w"q\\u&<p>(x)*!9-end';

const unicodeEscaped = (s: string) =>
  s.replace(/[^A-Za-z0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`);
const SPELLINGS: [string, string][] = [
  ["raw", SECRET],
  ["URL-encoded", encodeURIComponent(SECRET)],
  ["form-encoded", new URLSearchParams({ s: SECRET }).toString().slice(2)],
  ["double URL-encoded", encodeURIComponent(encodeURIComponent(SECRET))],
  ["base64", Buffer.from(SECRET).toString("base64")],
  ["base64 of a Basic credential", Buffer.from(`client:${SECRET}`).toString("base64")],
  ["JSON-escaped", JSON.stringify(SECRET).slice(1, -1)],
  [".NET JSON-escaped", unicodeEscaped(SECRET)],
  ["hex", Buffer.from(SECRET).toString("hex")],
];
/** What must not appear anywhere: every spelling's distinctive middle, and the HTML-escaped secret. */
const TRACES = [
  ...SPELLINGS.map(([, spelled]) => spelled.slice(3, -3)),
  SECRET.replace(/[&<>"']/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`).slice(3, -3),
  SECRET.replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .slice(3, -3),
];

let fake: FakeDefender;
let app: TestApp;
beforeAll(async () => {
  fake = await startFakeDefender({ clientSecret: SECRET });
  app = await startTestApp("secret_redaction", { env: defenderEnv(fake) });
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});

let sequence = 0;
async function isolateOne(): Promise<number> {
  sequence += 1;
  const device = { id: sha1Of(9000 + sequence), name: `DESKTOP-${sequence}` };
  fake.addMachine(device.id, device.name.toLowerCase());
  const [id] = await ingest(app.ctx.db, [
    actionBody("isolate_device", sequence, {
      externalId: `echo-${sequence}`,
      investigationId: undefined,
      device,
    }),
  ]);
  return id!;
}

function expectNoTrace(where: string, text: string): void {
  for (const trace of TRACES) expect(text.includes(trace), `${where} holds ${trace}`).toBe(false);
}

describe("a Defender error echoing the client secret", () => {
  it.each(SPELLINGS)(
    "spelled %s: refused action's error, log, API and page hold no trace of it",
    async (_what, spelled) => {
      const id = await isolateOne();
      // Every field of the error body echoes it, and a field Defender does not document too.
      fake.failNext(1, 400, {
        error: {
          code: `Invalid${spelled}`,
          message: `The request carried client_secret=${spelled}; rejected`,
          target: spelled,
          innerError: { secret: spelled },
        },
      });
      await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
      await waitForStatuses(app.ctx.db, [id], ["failed"]);
      const action = (await getAction(app.ctx.db, id))!;
      expect(action.error).toMatch(
        /Defender rejected the request \(400 400: The request carried client_secret=/,
      );
      expectNoTrace("the stored error", action.error!);
      expectNoTrace("the API", await (await app.api(`/api/v1/actions/${id}`)).text());
      const page = await fetch(`${app.url}/actions/${id}`);
      expect(page.status).toBe(200);
      expectNoTrace("the action page", await page.text());
      expectNoTrace("the log", app.logs.join(""));
    },
  );

  it("a server error echoing it is retried, and its log lines hold no trace of it", async () => {
    const id = await isolateOne();
    fake.failNext(2, 503, {
      error: { code: "ServiceUnavailable", message: `upstream said ${encodeURIComponent(SECRET)}` },
    });
    await decide(app.ctx.db, { actionId: id, decision: "approve", actor: APPROVER });
    await waitForStatuses(app.ctx.db, [id], ["completed"], 60_000);
    expect(app.logs.join("")).toContain("upstream said [redacted]");
    expectNoTrace("the log", app.logs.join(""));
  });
});
