import { describe, expect, it } from "vitest";
import { ConfigError, ENV_VARIABLES, loadConfig, SANDBOX_INGEST_TOKEN } from "../../src/config/env.ts";
import { writePolicyFile } from "../support/policyFile.ts";

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const SLACK = {
  SLACK_BOT_TOKEN: "xoxb-1-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-value",
  SLACK_CHANNEL: "C0123456789",
  INGEST_TOKEN: "an-ingest-token-long-enough",
};

const DEFENDER = {
  BACKEND: "defender",
  DEFENDER_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  DEFENDER_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  DEFENDER_CLIENT_SECRET: "Abc8Q~very-secret-client-secret-value",
};

describe("config.happy", () => {
  it("runs on the contract's defaults with nothing set: the local sandbox", () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBe("postgres://postgres@127.0.0.1:5432/action_center");
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe("http://localhost:3000");
    expect(config.slack.sandbox).toBe(true);
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.approvers).toEqual({ userIds: [], groupIds: [] });
    expect(config.ingestToken).toBe(SANDBOX_INGEST_TOKEN);
    expect(config.backend).toBe("simulated");
  });

  it("reads a real workspace's settings", () => {
    const config = loadConfig({
      ...SLACK,
      PORT: "8080",
      PUBLIC_URL: "https://ac.example.com/",
      APPROVERS: "U012ABC, S0SOC ,W0ENTERPRISE",
      SLACK_API_URL: "http://127.0.0.1:9999/api",
      ...DEFENDER,
    });
    expect(config.slack.sandbox).toBe(false);
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe("https://ac.example.com");
    expect(config.approvers).toEqual({ userIds: ["U012ABC", "W0ENTERPRISE"], groupIds: ["S0SOC"] });
    expect(config.slack.apiUrl).toBe("http://127.0.0.1:9999/api/");
    expect(config.backend).toBe("defender");
  });

  it("reads the Defender backend's settings, with Microsoft's endpoints and quotas by default", () => {
    const { defender } = loadConfig(DEFENDER);
    expect(defender).toEqual({
      tenantId: DEFENDER.DEFENDER_TENANT_ID,
      clientId: DEFENDER.DEFENDER_CLIENT_ID,
      clientSecret: DEFENDER.DEFENDER_CLIENT_SECRET,
      tokenUrl: `https://login.microsoftonline.com/${DEFENDER.DEFENDER_TENANT_ID}/oauth2/v2.0/token`,
      apiUrl: "https://api.security.microsoft.com",
      scope: "https://api.securitycenter.microsoft.com/.default",
      isolationType: "Full",
      liveResponseScripts: expect.objectContaining({ stop_service: "ac-stop-service.ps1" }),
      pollIntervalMs: 10_000,
      pollMaxIntervalMs: 60_000,
      callsPerMinute: 100,
      callsPerHour: 1500,
      liveResponsePerMinute: 10,
      liveResponseWaitMs: 30 * 60_000,
      connector: {
        pollIntervalMs: 60_000,
        callsPerMinute: 20,
        callsPerHour: 300,
        pageSize: 500,
        backfillMs: 3_600_000,
        leaseMs: 30_000,
      },
    });
    expect(loadConfig({}).defender).toBeNull();
  });

  it("runs the Defender connector in the all-in-one process only when DEFENDER_CONNECTOR=on", () => {
    expect(loadConfig(DEFENDER).defenderConnector).toBe(false);
    expect(loadConfig({ ...DEFENDER, DEFENDER_CONNECTOR: "off" }).defenderConnector).toBe(false);
    const config = loadConfig({
      ...DEFENDER,
      DEFENDER_CONNECTOR: "on",
      DEFENDER_CONNECTOR_POLL_INTERVAL_MS: "15000",
      DEFENDER_CONNECTOR_CALLS_PER_MINUTE: "30",
      DEFENDER_CONNECTOR_CALLS_PER_HOUR: "450",
      DEFENDER_CONNECTOR_PAGE_SIZE: "10000",
      DEFENDER_CONNECTOR_BACKFILL_MS: "0",
      DEFENDER_CONNECTOR_LEASE_MS: "5000",
    });
    expect(config.defenderConnector).toBe(true);
    expect(config.defender!.connector).toEqual({
      pollIntervalMs: 15_000,
      callsPerMinute: 30,
      callsPerHour: 450,
      pageSize: 10_000,
      backfillMs: 0,
      leaseMs: 5000,
    });
  });

  it("takes another cloud's endpoints, the isolation type and script names", () => {
    const { defender } = loadConfig({
      ...DEFENDER,
      DEFENDER_TENANT_ID: "contoso.onmicrosoft.us",
      DEFENDER_TOKEN_URL: "https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token",
      DEFENDER_API_URL: "https://api-gov.securitycenter.microsoft.us/",
      DEFENDER_SCOPE: "https://api-gov.securitycenter.microsoft.us/.default",
      DEFENDER_ISOLATION_TYPE: "Selective",
      DEFENDER_LIVE_RESPONSE_SCRIPTS: '{"stop_service":"contoso-stop-svc.ps1"}',
    });
    expect(defender).toMatchObject({
      tokenUrl: "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token",
      apiUrl: "https://api-gov.securitycenter.microsoft.us",
      isolationType: "Selective",
    });
    expect(defender!.liveResponseScripts.stop_service).toBe("contoso-stop-svc.ps1");
    expect(defender!.liveResponseScripts.start_service).toBe("ac-start-service.ps1");
  });

  it("listens on loopback for the sandbox and on every interface for a workspace, unless HOST says", () => {
    expect(loadConfig({}).host).toBe("127.0.0.1");
    expect(loadConfig(SLACK).host).toBe("0.0.0.0");
    expect(loadConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    expect(loadConfig({ ...SLACK, HOST: " 10.1.2.3 " }).host).toBe("10.1.2.3");
    expect(loadConfig({ ...SLACK, HOST: "::" }).host).toBe("::");
    expect(loadConfig({ HOST: "" }).host).toBe("127.0.0.1");
  });

  it("takes an empty variable for an unset one, as docker-compose passes an unset one", () => {
    const empty = Object.fromEntries(ENV_VARIABLES.map((name) => [name, ""]));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    expect(loadConfig({ ...empty, ...SLACK, WORKER_CONCURRENCY: " " }).workerConcurrency).toBe(16);
  });

  it("needs no signing secret in Socket Mode", () => {
    const { SLACK_SIGNING_SECRET: _omit, ...socket } = SLACK;
    expect(loadConfig({ ...socket, SLACK_APP_TOKEN: "xapp-1-abc" }).slack.appToken).toBe("xapp-1-abc");
  });
});

describe("config.error", () => {
  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ HOST: "localhost" }, "HOST"],
    [{ HOST: "0.0.0.0:3000" }, "HOST"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ REDIS_URL: "not a url" }, "REDIS_URL"],
    [{ BACKEND: "crowdstrike" }, "BACKEND"],
    [{ APPROVERS: "U012ABC,alice" }, "APPROVERS"],
    [{ SLACK_CHANNEL: "#soc" }, "SLACK_CHANNEL"],
    [{ PUBLIC_URL: "ftp://x" }, "PUBLIC_URL"],
    [{ SLACK_BOT_TOKEN: "xoxp-user-token" }, "SLACK_BOT_TOKEN"],
    [{ ...SLACK, SLACK_SIGNING_SECRET: "" }, "SLACK_SIGNING_SECRET"],
    [{ ...SLACK, SLACK_CHANNEL: "" }, "SLACK_CHANNEL"],
    [{ ...SLACK, INGEST_TOKEN: "" }, "INGEST_TOKEN"],
    [{ INGEST_TOKEN: "short" }, "INGEST_TOKEN"],
    [{ ...SLACK, INGEST_TOKEN: SANDBOX_INGEST_TOKEN }, "INGEST_TOKEN"],
    [{ ...SLACK, INGEST_TOKEN: SANDBOX_INGEST_TOKEN.toUpperCase() }, "INGEST_TOKEN"],
    [{ ...SLACK, SLACK_APP_TOKEN: "xapp-1-x", INGEST_TOKEN: ` ${SANDBOX_INGEST_TOKEN} ` }, "INGEST_TOKEN"],
    [{ ...DEFENDER, DEFENDER_TENANT_ID: "" }, "DEFENDER_TENANT_ID"],
    [{ ...DEFENDER, DEFENDER_CLIENT_ID: "" }, "DEFENDER_CLIENT_ID"],
    [{ ...DEFENDER, DEFENDER_CLIENT_SECRET: " " }, "DEFENDER_CLIENT_SECRET"],
    [{ ...DEFENDER, DEFENDER_CLIENT_ID: "my-app" }, "DEFENDER_CLIENT_ID"],
    [{ ...DEFENDER, DEFENDER_TENANT_ID: "contoso/../x" }, "DEFENDER_TENANT_ID"],
    [{ ...DEFENDER, DEFENDER_API_URL: "http://api.security.microsoft.com" }, "DEFENDER_API_URL"],
    [{ ...DEFENDER, DEFENDER_TOKEN_URL: "not a url" }, "DEFENDER_TOKEN_URL"],
    [{ ...DEFENDER, DEFENDER_ISOLATION_TYPE: "Partial" }, "DEFENDER_ISOLATION_TYPE"],
    [{ ...DEFENDER, DEFENDER_LIVE_RESPONSE_SCRIPTS: "{not json" }, "DEFENDER_LIVE_RESPONSE_SCRIPTS"],
    [
      { ...DEFENDER, DEFENDER_LIVE_RESPONSE_SCRIPTS: '{"format_disk":"x.ps1"}' },
      "DEFENDER_LIVE_RESPONSE_SCRIPTS",
    ],
    [
      { ...DEFENDER, DEFENDER_LIVE_RESPONSE_SCRIPTS: '{"stop_service":"a b.ps1"}' },
      "DEFENDER_LIVE_RESPONSE_SCRIPTS",
    ],
    [{ ...DEFENDER, DEFENDER_CALLS_PER_HOUR: "0" }, "DEFENDER_CALLS_PER_HOUR"],
    [{ ...DEFENDER, DEFENDER_CONNECTOR: "yes" }, "DEFENDER_CONNECTOR"],
    [{ DEFENDER_CONNECTOR: "on" }, "DEFENDER_CONNECTOR"],
    [{ ...DEFENDER, DEFENDER_CONNECTOR_PAGE_SIZE: "10001" }, "DEFENDER_CONNECTOR_PAGE_SIZE"],
    [{ ...DEFENDER, DEFENDER_CONNECTOR_LEASE_MS: "500" }, "DEFENDER_CONNECTOR_LEASE_MS"],
    [{ ...DEFENDER, DEFENDER_CONNECTOR_CALLS_PER_MINUTE: "100" }, "DEFENDER_CONNECTOR_CALLS_PER_MINUTE"],
    [{ ...DEFENDER, DEFENDER_CONNECTOR_CALLS_PER_HOUR: "0" }, "DEFENDER_CONNECTOR_CALLS_PER_HOUR"],
  ])("%o stops the start naming %s", (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(variable)).toBe(true);
    expect(error.message).not.toContain("\n");
  });

  it("says which Defender setting is missing and why", () => {
    const { DEFENDER_CLIENT_SECRET: _omit, ...noSecret } = DEFENDER;
    expect(configError(noSecret).message).toBe("DEFENDER_CLIENT_SECRET is required with BACKEND=defender");
    expect(configError({ ...DEFENDER, DEFENDER_API_URL: "http://defender.example.com" }).message).toBe(
      'DEFENDER_API_URL must be an https URL (http only for 127.0.0.1 or localhost) (got "http://defender.example.com")',
    );
  });

  it("says why the connector cannot run as configured", () => {
    expect(configError({ DEFENDER_CONNECTOR: "on" }).message).toBe(
      'DEFENDER_CONNECTOR reads Microsoft Defender, so it needs BACKEND=defender (got "on")',
    );
    expect(configError({ ...DEFENDER, DEFENDER_CONNECTOR_CALLS_PER_HOUR: "1500" }).message).toBe(
      'DEFENDER_CONNECTOR_CALLS_PER_HOUR must be less than DEFENDER_CALLS_PER_HOUR (1500), so that the worker keeps calls of its own (got "1500")',
    );
  });

  it("refuses the public sandbox ingest token with a real workspace, and takes it without one", () => {
    expect(configError({ ...SLACK, INGEST_TOKEN: SANDBOX_INGEST_TOKEN }).message).toBe(
      "INGEST_TOKEN must not be the public sandbox token with SLACK_BOT_TOKEN; choose a secret one",
    );
    expect(loadConfig({ INGEST_TOKEN: SANDBOX_INGEST_TOKEN }).ingestToken).toBe(SANDBOX_INGEST_TOKEN);
  });

  it("says what is wrong with a plain value", () => {
    expect(configError({ BACKEND: "crowdstrike" }).message).toBe(
      'BACKEND must be simulated or defender (got "crowdstrike")',
    );
    expect(configError({ HOST: "localhost" }).message).toBe(
      'HOST must be an IP address to listen on, such as 127.0.0.1 or 0.0.0.0 (got "localhost")',
    );
  });
});

const OIDC = {
  OIDC_ISSUER_URL: "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
  OIDC_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  OIDC_CLIENT_SECRET: "Xyz8Q~very-secret-sign-in-secret",
};

describe("config.signIn", () => {
  const stepUpPolicy = () => writePolicyFile({ types: { isolate_device: { stepUp: ["approve"] } } });

  it("has no sign-in when neither the policy nor OIDC_ISSUER_URL asks for one", () => {
    expect(loadConfig({ ...SLACK }).signIn).toBeNull();
  });

  it("reads the identity provider; the pages live under PUBLIC_URL unless OIDC_REDIRECT_BASE_URL says", () => {
    const config = loadConfig({
      ...SLACK,
      ...OIDC,
      PUBLIC_URL: "https://ac.example.com/",
      POLICY_FILE: stepUpPolicy(),
    });
    expect(config.signIn).toEqual({
      provider: {
        issuer: OIDC.OIDC_ISSUER_URL,
        clientId: OIDC.OIDC_CLIENT_ID,
        clientSecret: OIDC.OIDC_CLIENT_SECRET,
      },
      baseUrl: "https://ac.example.com",
    });
    expect(
      loadConfig({ ...SLACK, ...OIDC, OIDC_REDIRECT_BASE_URL: "https://sign-in.example.com/" }).signIn
        ?.baseUrl,
    ).toBe("https://sign-in.example.com");
  });

  it("stops a workspace whose policy asks for step-up without a provider; the sandbox starts its own", () => {
    expect(configError({ ...SLACK, POLICY_FILE: stepUpPolicy() }).message).toBe(
      "OIDC_ISSUER_URL is required: the policy (POLICY_FILE) asks for a step-up sign-in, which needs an OpenID Connect provider",
    );
    expect(loadConfig({ POLICY_FILE: stepUpPolicy() }).signIn).toEqual({
      provider: "local",
      baseUrl: "http://localhost:3000",
    });
  });

  it("says what the provider still needs, and takes plain http only on this machine", () => {
    expect(configError({ OIDC_ISSUER_URL: OIDC.OIDC_ISSUER_URL, OIDC_CLIENT_ID: "x" }).message).toBe(
      "OIDC_CLIENT_SECRET is required with OIDC_ISSUER_URL",
    );
    expect(configError({ ...OIDC, OIDC_ISSUER_URL: "http://idp.example.com" }).message).toBe(
      'OIDC_ISSUER_URL must be an https URL (http only for 127.0.0.1 or localhost) (got "http://idp.example.com")',
    );
    expect(loadConfig({ ...OIDC, OIDC_ISSUER_URL: "http://127.0.0.1:4000" }).signIn?.provider).toMatchObject({
      issuer: "http://127.0.0.1:4000",
    });
  });
});

describe("config.security", () => {
  it.each([
    ["SLACK_BOT_TOKEN", { SLACK_BOT_TOKEN: "xoxp-very-secret-user-token" }, "very-secret"],
    ["INGEST_TOKEN", { INGEST_TOKEN: "tiny-secret" }, "tiny-secret"],
    ["SLACK_APP_TOKEN", { SLACK_APP_TOKEN: "xoxb-wrong-kind-secret" }, "wrong-kind-secret"],
    ["DATABASE_URL", { DATABASE_URL: "mysql://admin:hunter2@db/x" }, "hunter2"],
    ["DEFENDER_CLIENT_SECRET", { ...DEFENDER, DEFENDER_CLIENT_ID: "bad" }, DEFENDER.DEFENDER_CLIENT_SECRET],
    ["OIDC_CLIENT_SECRET", { ...OIDC, OIDC_ISSUER_URL: "ftp://x" }, OIDC.OIDC_CLIENT_SECRET],
  ])("never prints the value of %s", (_name, env, secret) => {
    expect(configError(env).message).not.toContain(secret);
  });
});
