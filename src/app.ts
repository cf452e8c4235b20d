// Builds a running process from a config: the shared context, then each part its role runs, in
// order. `stop` stops them in the reverse order, so what a part needs outlives it: HTTP stops
// taking requests first, acked clicks finish, workers finish their jobs, and the store goes last.
// main.ts calls this; so do the tests, with a config of their own.

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createBackend, recordCompletedIn } from "./backend/index.ts";
import type { Config } from "./config/env.ts";
import { type Connector, startConnector } from "./connector/connector.ts";
import type { AppContext } from "./context.ts";
import { createDb } from "./db/client.ts";
import { installationId } from "./db/installation.ts";
import { prepareDatabase } from "./db/migrate.ts";
import { createHttpApp, createHttpServer, errorHandler, type RawRoute } from "./http/server.ts";
import { createSignInClient } from "./http/signIn/oidcClient.ts";
import type { SignInRoutes } from "./http/signIn/signInRouter.ts";
import { startExpirySweeper } from "./jobs/expirySweeper.ts";
import { startOutboxDispatcher } from "./jobs/outboxDispatcher.ts";
import { closeQueues, createQueues } from "./jobs/queues.ts";
import { startReconciler } from "./jobs/reconciler.ts";
import { startWorkers } from "./jobs/registry.ts";
import { finishesWithin } from "./lib/deadline.ts";
import { createRedis } from "./lib/redis.ts";
import { startSandboxSlack } from "./sandbox/connection.ts";
import type { FakeSlackApi } from "./sandbox/fakeSlackApi.ts";
import { startLocalIdentityProvider } from "./sandbox/localIdentityProvider.ts";
import { mountSandboxPage, SANDBOX_PATH } from "./sandbox/sandboxPage.ts";
import { SANDBOX_ACCOUNTS } from "./sandbox/sandboxUser.ts";
import { SIGN_IN_CALLBACK_PATH } from "./services/stepUpGate.ts";
import { createBoltApp } from "./slack/boltApp.ts";
import { type SlackConnection, slackDepsFor, workerClient, workspaceConnection } from "./slack/connection.ts";
import { slackEndpoint } from "./slack/endpoint.ts";
import { recheckAfterSignIn } from "./slack/handlers/decide.ts";
import { slackDisplayNames } from "./slack/people.ts";
import type { Logger } from "./telemetry/log.ts";
import { createMetrics } from "./telemetry/metrics.ts";

export type Role = "all" | "web" | "worker" | "connector";

export type RunningApp = {
  ctx: AppContext;
  slack: SlackConnection;
  /** The local stand-in for Slack, when no workspace is configured. */
  sandbox: FakeSlackApi | null;
  /** The Defender connector, when this process runs it (it may be on standby behind another's lease). */
  connector: Connector | null;
  /** Where this process serves HTTP (health and metrics in every role). */
  url: string;
  stop(): Promise<void>;
};

type Stop = () => Promise<void>;

export async function startApp(config: Config, log: Logger, role: Role): Promise<RunningApp> {
  const works = role === "all" || role === "worker";
  const serves = role === "all" || role === "web";
  const reads = role === "connector" || (role === "all" && config.defenderConnector);
  if (reads && !config.defender) {
    throw new Error(
      "the connector reads Microsoft Defender: set BACKEND=defender and its DEFENDER_* variables",
    );
  }
  const stops: Stop[] = [];
  /** Records how to stop what was just started; `stop` runs these last first. */
  const started = (stop: Stop) => void stops.push(stop);

  // 1. The store, the backend and the queues: every role needs them, and they stop last.
  await prepareDatabase(config.databaseUrl);
  const { db, client } = createDb(config.databaseUrl, { max: config.dbPoolSize });
  // Stopped last: whatever still queries then was abandoned by its part, so 2 s are enough.
  started(() => client.end({ timeout: 2 }));
  const probe = createRedis(config.redisUrl, "probe");
  started(async () => probe.disconnect());
  const installation = await installationId(db);
  log.info({ installationId: installation }, "installation");
  const backend = createBackend(config, log, installation);
  started(async () => backend.close?.());
  const queues = createQueues(config.redisUrl, config.queuePrefix);
  started(() => closeQueues(queues));
  const ctx: AppContext = {
    config,
    db,
    sql: client,
    log,
    metrics: createMetrics(),
    queues,
    backend,
    probe,
    recordCompleted: recordCompletedIn(backend),
  };

  // 2. Slack: a workspace, or without one the local sandbox's stand-in, started here.
  const sandbox = config.slack.sandbox ? await startSandboxSlack(config, db, log) : null;
  if (sandbox) {
    started(() => sandbox.stop());
    if (role !== "all")
      throw new Error("the local Slack sandbox needs both roles in one process: run `npm start`");
    log.info({ slackApiUrl: sandbox.connection.apiUrl }, "no SLACK_BOT_TOKEN: using the local Slack sandbox");
  }
  const slack = sandbox?.connection ?? workspaceConnection(config);

  // 3. The worker role: the outbox turns committed work into jobs, the reconciler re-dispatches
  // what Redis lost, the queue workers run the jobs, the sweep expires what a lost timer missed.
  if (works) {
    const dispatcher = startOutboxDispatcher(ctx);
    started(() => dispatcher.stop());
    const reconciler = startReconciler(ctx);
    started(() => reconciler.stop());
    const workers = startWorkers({ ctx, backend, slack: workerClient(slack), approvers: slack.approvers });
    started(() => workers.close());
    const sweeper = startExpirySweeper(ctx);
    started(() => sweeper.stop());
  }

  // 3b. The Defender connector: reads alerts, investigations and machine actions into the store,
  // whose outbox the workers carry on from. One process at a time holds its lease.
  const connector = reads ? startConnector(ctx) : null;
  if (connector) started(() => connector.stop());

  // 4. Slack's side of the web role: Bolt, behind our HTTP endpoint or over Socket Mode.
  let slackRoute: RawRoute | undefined;
  let signIn: SignInRoutes | undefined;
  if (serves) {
    const deciding = slackDepsFor(ctx, slack);
    if (config.signIn) signIn = await signInRoutes(config, log, deciding, started);
    const bolt = createBoltApp(slack, deciding);
    if (bolt.receiver) {
      const route = slackEndpoint({ app: bolt.app, receiver: bolt.receiver }, slack.signingSecret, {
        ctx,
        client: bolt.app.client,
      });
      slackRoute = route;
      // Requests a stopped process acknowledged and did not finish, decided now and then.
      const recovery = route.startRecovery();
      // After the server stops taking requests, the clicks already acked are handled and the
      // recovery ends, together; with Postgres not answering what is left stays in the inbox,
      // which the next start recovers.
      started(() =>
        boundedStop(ctx, "acknowledged Slack requests", Promise.all([route.close(), recovery.stop()])),
      );
    } else if (bolt.socketMode) {
      const socketMode = bolt.socketMode;
      await bolt.app.start();
      started(() => socketMode.stop());
      ctx.readiness = [...(ctx.readiness ?? []), socketMode.status];
    }
  }

  // 5. HTTP: health and metrics in every role; the web role also serves Slack, the API and pages.
  // The pages name people as Slack does, from Slack's directory.
  const names = serves ? slackDisplayNames(workerClient(slack), log) : undefined;
  const http = createHttpApp(ctx, { public: serves, signIn, ...(names && { names }) });
  // Without a workspace, a page on our own port stands in for the Slack client.
  const sandboxPage =
    sandbox &&
    mountSandboxPage(http, {
      slack,
      fake: sandbox.fake,
      channel: config.slack.channel,
      ingestToken: config.ingestToken,
      log,
    });
  http.use(errorHandler(ctx));
  const server = createHttpServer(ctx, http, slackRoute);
  await listen(server, config.port, config.host);
  started(() => closeServer(server, log));
  const address = server.address() as AddressInfo;
  const url = localUrl(address);
  log.info({ host: address.address, port: address.port, url, publicUrl: config.publicUrl }, "serving HTTP");
  if (sandboxPage) {
    // Its event streams end first: the server would wait for them before closing.
    started(async () => sandboxPage.close());
    log.info({ url: `${url}${SANDBOX_PATH}` }, "local Slack sandbox: open this page to use the bot");
  }

  return {
    ctx,
    slack,
    sandbox: sandbox?.fake ?? null,
    connector,
    url,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/**
 * The step-up sign-in pages' parts: the OIDC client of the configured provider, or of the
 * sandbox's local one (started here), and the click's checks to ask again after the sign-in.
 */
async function signInRoutes(
  config: Config,
  log: Logger,
  deciding: Parameters<typeof recheckAfterSignIn>[0],
  started: (stop: Stop) => void,
): Promise<SignInRoutes> {
  const { baseUrl, provider } = config.signIn!;
  const redirectUri = `${baseUrl}${SIGN_IN_CALLBACK_PATH}`;
  let oidc = provider;
  if (oidc === "local") {
    // env.ts gives "local" only to the sandbox, which has no real people to sign in.
    const local = await startLocalIdentityProvider({ accounts: SANDBOX_ACCOUNTS, redirectUri });
    started(() => local.close());
    log.info(
      { issuer: local.issuer },
      "no OIDC_ISSUER_URL: step-up sign-in uses the sandbox's local identity provider",
    );
    oidc = local;
  }
  return {
    client: createSignInClient(oidc, {
      redirectUri,
      maxAgeSeconds: Math.max(1, Math.floor(config.policy.signIn.maxAge / 1000)),
    }),
    mayStillDecide: recheckAfterSignIn(deciding),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Where this machine reaches the server: a wildcard address is reached through loopback. */
function localUrl({ address, family, port }: AddressInfo): string {
  const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
  return `http://${family === "IPv6" ? `[${host}]` : host}:${port}`;
}

/** How long requests still open at a stop may take to finish (they take milliseconds when healthy). */
const HTTP_DRAIN_MS = 2000;

async function closeServer(server: Server, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  if (await finishesWithin(closed, HTTP_DRAIN_MS)) return;
  // A request waiting on a store that does not answer commits nothing; its client sees the
  // connection close and retries (ingest is idempotent on the source's id).
  log.warn(
    { waitedMs: HTTP_DRAIN_MS },
    "HTTP requests still open: Postgres or Redis does not answer; closing them",
  );
  server.closeAllConnections();
  await closed;
}

/** How long shutdown waits for a part that needs Postgres, which may not answer. */
const PART_STOP_MS = 1000;

/** Waits for `stopping` at most PART_STOP_MS; what is left then stays in the store for the next start. */
async function boundedStop(ctx: AppContext, part: string, stopping: Promise<unknown>): Promise<void> {
  if (!(await finishesWithin(stopping, PART_STOP_MS))) {
    ctx.log.warn({ part, waitedMs: PART_STOP_MS }, "stop gave up waiting: Postgres does not answer");
  }
}
