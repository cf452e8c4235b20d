import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, SANDBOX_INGEST_TOKEN } from "../../src/config.ts";

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
      BACKEND: "defender",
    });
    expect(config.slack.sandbox).toBe(false);
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe("https://ac.example.com");
    expect(config.approvers).toEqual({ userIds: ["U012ABC", "W0ENTERPRISE"], groupIds: ["S0SOC"] });
    expect(config.slack.apiUrl).toBe("http://127.0.0.1:9999/api/");
    expect(config.backend).toBe("defender");
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
  ])("%o stops the start naming %s", (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(variable)).toBe(true);
    expect(error.message).not.toContain("\n");
  });

  it("says what is wrong with a plain value", () => {
    expect(configError({ BACKEND: "crowdstrike" }).message).toBe(
      'BACKEND must be simulated or defender (got "crowdstrike")',
    );
  });
});

describe("config.security", () => {
  it.each([
    ["SLACK_BOT_TOKEN", { SLACK_BOT_TOKEN: "xoxp-very-secret-user-token" }, "very-secret"],
    ["INGEST_TOKEN", { INGEST_TOKEN: "tiny-secret" }, "tiny-secret"],
    ["SLACK_APP_TOKEN", { SLACK_APP_TOKEN: "xoxb-wrong-kind-secret" }, "wrong-kind-secret"],
    ["DATABASE_URL", { DATABASE_URL: "mysql://admin:hunter2@db/x" }, "hunter2"],
  ])("never prints the value of %s", (_name, env, secret) => {
    expect(configError(env).message).not.toContain(secret);
  });
});
