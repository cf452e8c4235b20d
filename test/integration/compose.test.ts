// docker-compose.yml as Compose reads it: Debian's docker-compose checks and resolves the file
// without an engine (`docker-compose config`); its output, parsed, must run the sandbox as one
// all-in-one service from the Dockerfile's image, pass every variable the program reads, and
// give a workspace its web and worker apart. Nothing is started: no engine runs here.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV_VARIABLES, loadConfig } from "../../src/config/env.ts";
import { writePolicyFile } from "../support/policyFile.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

function composeInstalled(): boolean {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// CI installs it (.ci/run) and must run these; a developer's machine without it skips them, saying so.
const composeMissing = !composeInstalled();
if (composeMissing && process.env.CI) throw new Error("docker-compose is required in CI");
if (composeMissing)
  console.warn("skipping compose tests: no docker-compose (apt-get install docker-compose)");

type Compose = { services: Record<string, Service> };
type Service = {
  build?: { context: string; dockerfile?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: (string | { target: number; published: number; host_ip?: string })[];
  volumes?: string[];
  profiles?: string[];
};

/**
 * `docker-compose config` with `.env` settings (an empty file by default, so a developer's own
 * .env does not count) and nothing else from this shell; the result parsed with PyYAML, which
 * docker-compose itself depends on.
 */
function resolvedCompose(settings: Record<string, string> = {}): Compose {
  const envFile = join(mkdtempSync(join(tmpdir(), "ac-compose-")), ".env");
  writeFileSync(
    envFile,
    Object.entries(settings)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  const yaml = execFileSync("docker-compose", ["--env-file", envFile, "config"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp" },
    encoding: "utf8",
  });
  const json = execFileSync(
    "python3",
    ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
    { input: yaml, encoding: "utf8" },
  );
  return JSON.parse(json);
}

/** The services `docker compose up` starts: those in no profile. */
const startedByDefault = (services: Record<string, Service>) =>
  Object.keys(services)
    .filter((name) => !services[name]!.profiles?.length)
    .sort();

describe.skipIf(composeMissing)("docker-compose.yml", () => {
  // As a newcomer runs it: no .env at all.
  let plain: Compose;
  beforeAll(() => {
    plain = resolvedCompose();
  });

  it("runs Postgres, Redis and ONE all-in-one service built from the Dockerfile", () => {
    const { services } = plain;
    expect(startedByDefault(services)).toEqual(["action-center", "postgres", "redis"]);
    const program = services["action-center"]!;
    expect(program.build?.context).toBe(ROOT.replace(/\/$/, ""));
    expect(program.image).toBe("action-center:local");
    // Both roles in one process, the image's own command: nothing installed at start, no loader.
    expect(program.command).toEqual(["node", "dist/main.js"]);
    expect(program.volumes).toBeUndefined();
    // Listening on every interface inside the container, published on the host's loopback only.
    expect(program.environment?.HOST).toBe("0.0.0.0");
    expect(program.ports).toEqual(["127.0.0.1:3000:3000/tcp"]);
  });

  it("passes every variable the program reads, and unset ones leave its defaults: the sandbox", () => {
    const { services } = plain;
    const environment = services["action-center"]!.environment!;
    expect(Object.keys(environment).sort()).toEqual([...ENV_VARIABLES].sort());
    const config = loadConfig(environment);
    expect(config.slack.sandbox).toBe(true);
    expect(config).toMatchObject({
      databaseUrl: "postgres://postgres:postgres@postgres:5432/action_center",
      redisUrl: "redis://redis:6379",
      port: 3000,
      host: "0.0.0.0",
      queuePrefix: "action-center",
      logLevel: "info",
      backend: "simulated",
    });
  });

  it("carries a workspace's .env settings to the program, Defender's and the policy's too", () => {
    const policyFile = writePolicyFile({ twoPersonRule: { types: ["isolate_device"], approvals: 2 } });
    const settings = {
      SLACK_BOT_TOKEN: "xoxb-compose-check",
      SLACK_SIGNING_SECRET: "compose-signing-secret",
      SLACK_CHANNEL: "C0COMPOSE01",
      INGEST_TOKEN: "compose-ingest-token-0123",
      APPROVERS: "S0SOCTEAM01",
      BACKEND: "defender",
      DEFENDER_TENANT_ID: "contoso.onmicrosoft.com",
      DEFENDER_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      DEFENDER_CLIENT_SECRET: "compose-client-secret",
      DEFENDER_ISOLATION_TYPE: "Selective",
      POLICY_FILE: policyFile,
      LOG_LEVEL: "debug",
      QUEUE_PREFIX: "soc-prod",
      WORKER_CONCURRENCY: "4",
      PUBLISH_ADDRESS: "0.0.0.0",
    };
    const { services } = resolvedCompose(settings);
    for (const name of ["action-center", "web", "worker"]) {
      const { PUBLISH_ADDRESS: _notForTheProgram, ...forProgram } = settings;
      expect(services[name]!.environment).toMatchObject(forProgram);
    }
    const config = loadConfig(services["action-center"]!.environment!);
    expect(config.slack.sandbox).toBe(false);
    expect(config.defender).toMatchObject({
      tenantId: "contoso.onmicrosoft.com",
      isolationType: "Selective",
    });
    expect(config).toMatchObject({ logLevel: "debug", queuePrefix: "soc-prod", workerConcurrency: 4 });
    expect(config.policy.twoPersonRule).toMatchObject({ approvals: 2 });
    expect(services["action-center"]!.ports).toEqual(["0.0.0.0:3000:3000/tcp"]);
  });

  it("has web and worker apart for a workspace, in the split profile, on the same image", () => {
    const { services } = plain;
    const web = services.web!;
    const worker = services.worker!;
    expect(web.profiles).toEqual(["split"]);
    expect(worker.profiles).toEqual(["split"]);
    expect(web.command).toEqual(["node", "dist/main.js", "web"]);
    expect(worker.command).toEqual(["node", "dist/main.js", "worker"]);
    expect([web.image, worker.image]).toEqual(["action-center:local", "action-center:local"]);
    expect(web.environment).toEqual(services["action-center"]!.environment);
    expect(worker.environment).toEqual(services["action-center"]!.environment);
    expect(web.ports).toEqual(["127.0.0.1:3000:3000/tcp"]);
    // Workers are scaled out: none publishes a port.
    expect(worker.ports).toBeUndefined();
  });
});
