// The Defender client against the local stand-in: sign-in and token reuse, refresh on 401, and
// every documented error turned into a clear, correctly retryable BackendError without secrets.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDefenderClient, DefenderApiError, retryAfterMs } from "../../src/backend/defender/client.ts";
import { BackendError, BackendRateLimitError } from "../../src/backend/types.ts";
import { FAKE_SCOPE, type FakeDefender, startFakeDefender } from "../support/fakeDefender.ts";

const MACHINE = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
let fake: FakeDefender;

beforeAll(async () => {
  fake = await startFakeDefender();
  fake.addMachine(MACHINE, "laptop-7.contoso.com");
});
afterAll(() => fake?.close());
beforeEach(() => {
  fake.reset();
  fake.machineActions.clear();
  fake.revokeTokens();
});

function client(overrides: { clientSecret?: string; tenantId?: string } = {}) {
  const tenantId = overrides.tenantId ?? fake.tenantId;
  return createDefenderClient({
    tenantId,
    clientId: fake.clientId,
    clientSecret: overrides.clientSecret ?? fake.clientSecret,
    tokenUrl: `${fake.url}/${tenantId}/oauth2/v2.0/token`,
    apiUrl: fake.url,
    scope: FAKE_SCOPE,
  });
}

const isolate = (comment = "Isolate (Action Center for Slack #1, apply attempt 1)") => ({
  method: "POST" as const,
  path: `/api/machines/${MACHINE}/isolate`,
  body: { Comment: comment, IsolationType: "Full" },
  permission: "Machine.Isolate",
  notFound: `device ${MACHINE} is not known to Defender`,
});

const get = (path: string) => ({
  method: "GET" as const,
  path,
  permission: "Machine.Read.All",
  notFound: `${path} is not known to Defender`,
});

async function failure(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BackendError) return error;
    throw error;
  }
  throw new Error("expected a BackendError");
}

const tokenCalls = () => fake.callsTo("POST", /oauth2\/v2\.0\/token$/);

describe("defender.client.happy", () => {
  it("signs in with the client credentials grant and reuses the token until shortly before it expires", async () => {
    const c = client();
    const first = await c.call<{ id: string; status: string }>(isolate());
    expect(first).toMatchObject({ type: "Isolate", status: "Pending", scope: "Full" });
    await c.call(get(`/api/machineactions/${first!.id}`));
    expect(tokenCalls()).toHaveLength(1);
    const form = new URLSearchParams(String(tokenCalls()[0]!.body));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "client_credentials",
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      scope: "https://api.securitycenter.microsoft.com/.default",
    });
  });

  it("signs in again before each call when tokens are announced as expiring at once", async () => {
    fake.reportedExpiresIn = 0;
    const c = client();
    await c.call(get("/api/machineactions"));
    await c.call(get("/api/machineactions"));
    expect(tokenCalls()).toHaveLength(2);
  });

  it("an expired token (401) is replaced once and the call succeeds", async () => {
    const c = client();
    await c.call(get("/api/machineactions"));
    fake.revokeTokens();
    const listed = await c.call<{ value: unknown[] }>(get("/api/machineactions"));
    expect(listed!.value).toEqual([]);
    expect(fake.calls.map((call) => call.status)).toEqual([200, 200, 401, 200, 200]);
  });

  it("concurrent calls share one sign-in", async () => {
    const c = client();
    await Promise.all(Array.from({ length: 5 }, () => c.call(get("/api/machineactions"))));
    expect(tokenCalls()).toHaveLength(1);
  });
});

describe("defender.client.error", () => {
  it("bad credentials fail permanently after one sign-in attempt, naming the setting but not the secret", async () => {
    const wrong = "not-the-secret-value-0123456789";
    const error = await failure(client({ clientSecret: wrong }).call(isolate()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /Microsoft Entra ID refused the app's sign-in \(401 invalid_client: AADSTS7000215/,
    );
    expect(error.message).toMatch(/DEFENDER_CLIENT_SECRET/);
    expect(error.message).not.toMatch(/Trace ID/);
    expect(error.message).not.toContain(wrong);
    expect(tokenCalls()).toHaveLength(1);
    expect(fake.callsTo("POST", /isolate$/)).toEqual([]);
  });

  it("an unknown tenant is a permanent, readable refusal", async () => {
    const error = await failure(client({ tenantId: "00000000-0000-0000-0000-000000000000" }).call(isolate()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/invalid_request: AADSTS90002/);
  });

  it("a token that still fails after signing in again is a permanent error, not a retry storm", async () => {
    fake.tokenLifetimeMs = 0;
    const error = await failure(client().call(isolate()));
    expect(error).toBeInstanceOf(DefenderApiError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /did not accept the app's token even after signing in again \(401 Unauthorized/,
    );
    expect(tokenCalls()).toHaveLength(2);
  });

  it("403 names the permission the action needs", async () => {
    fake.roles.delete("Machine.Isolate");
    const error = await failure(client().call(isolate()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /^Defender refused the request: the app needs the Machine\.Isolate application permission .*403 Forbidden/,
    );
  });

  it("404 says what is missing, with Defender's correlation id", async () => {
    const error = await failure(
      client().call({ ...isolate(), path: "/api/machines/unknown-machine/isolate" }),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      new RegExp(
        `^device ${MACHINE} is not known to Defender \\(404 ResourceNotFound: Machine unknown-machine was not found; correlation id [0-9a-f-]{36}\\)$`,
      ),
    );
  });

  it("ActiveRequestAlreadyExists says an action of the same type is already pending", async () => {
    const c = client();
    await c.call(isolate());
    const error = await failure(c.call(isolate()));
    expect(error).toBeInstanceOf(DefenderApiError);
    expect((error as DefenderApiError).code).toBe("ActiveRequestAlreadyExists");
    expect(error.message).toMatch(
      /^an action of the same type is already pending on the device \(400 ActiveRequestAlreadyExists/,
    );
  });

  it("a mis-cased body parameter is refused as Microsoft documents (case-sensitive bodies)", async () => {
    const error = await failure(client().call({ ...isolate(), body: { comment: "lower case" } }));
    expect(error.message).toMatch(/400 InvalidRequestBody/);
    expect(error.retryable).toBe(false);
  });

  it("429 carries Retry-After; 5xx is retryable", async () => {
    fake.throttle(1, 7);
    const throttled = await failure(client().call(isolate()));
    expect(throttled).toBeInstanceOf(BackendRateLimitError);
    expect((throttled as BackendRateLimitError).retryAfterMs).toBe(7000);
    fake.failNext(1, 503);
    const unavailable = await failure(client().call(isolate()));
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.message).toMatch(/Defender could not process the request \(503/);
  });

  it("reads Retry-After in seconds or as a date, and waits a minute without one", () => {
    expect(retryAfterMs(new Response(null, { headers: { "retry-after": "3" } }))).toBe(3000);
    const date = new Date(Date.now() + 120_000).toUTCString();
    expect(retryAfterMs(new Response(null, { headers: { "retry-after": date } }))).toBeGreaterThan(100_000);
    expect(retryAfterMs(new Response(null))).toBe(60_000);
  });

  it("an unreachable service is a retryable error naming the host", async () => {
    const down = createDefenderClient({
      tenantId: fake.tenantId,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      tokenUrl: "http://127.0.0.1:1/token",
      apiUrl: fake.url,
      scope: FAKE_SCOPE,
    });
    const error = await failure(down.call(isolate()));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/could not reach Microsoft Entra ID at 127\.0\.0\.1:1/);
  });
});
