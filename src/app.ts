// Builds a running process from a config: the shared context, then the roles asked for.
// main.ts calls this; so do the tests, with a config of their own.
import type { AddressInfo } from "node:net";
import type { Worker } from "bullmq";
import { createDefenderBackend } from "./backend/defender/backend.ts";
import { createSimulatedBackend } from "./backend/simulated/backend.ts";
import type { Backend } from "./backend/types.ts";
import type { Config } from "./config/env.ts";
import type { AppContext } from "./context.ts";
import { createDb } from "./db/client.ts";
import { prepareDatabase } from "./db/migrate.ts";
import { createHttpApp, createHttpServer, errorHandler, type SlackEndpoint } from "./http/server.ts";
import { startExpirySweeper } from "./jobs/expirySweeper.ts";
import { startOutboxDispatcher } from "./jobs/outboxDispatcher.ts";
import { createExecuteProcessor } from "./jobs/processors/execute.ts";
import { startTimerWorker } from "./jobs/processors/timers.ts";
import { closeQueues, createQueues, type ExecuteQueueJob, QUEUE_NAMES } from "./jobs/queues.ts";
import { startReconciler } from "./jobs/reconciler.ts";
import { startWorker } from "./jobs/worker.ts";
import { createRedis } from "./lib/redis.ts";
import { mountSandboxPage, SANDBOX_PATH } from "./sandbox/sandboxPage.ts";
import { createBoltApp } from "./slack/boltApp.ts";
import {
  connectSlack,
  type SlackConnection,
  slackDepsFor,
  startSlackWorkers,
  workerClient,
} from "./slack/connection.ts";
import { slackEndpoint } from "./slack/endpoint.ts";
import type { Logger } from "./telemetry/log.ts";
import { createMetrics } from "./telemetry/metrics.ts";

export type Role = "all" | "web" | "worker";

export type RunningApp = {
  ctx: AppContext;
  slack: SlackConnection;
  /** Where this process serves HTTP (health and metrics in every role). */
  url: string;
  stop(): Promise<void>;
};

export function createBackend(config: Config, log: Logger): Backend {
  if (config.defender) {
    return createDefenderBackend(config.defender, {
      redisUrl: config.redisUrl,
      queuePrefix: config.queuePrefix,
      log,
    });
  }
  return createSimulatedBackend();
}

export async function startApp(config: Config, log: Logger, role: Role): Promise<RunningApp> {
  await prepareDatabase(config.databaseUrl);
  const { db, client } = createDb(config.databaseUrl, { max: config.dbPoolSize });
  const backend = createBackend(config, log);
  const probe = createRedis(config.redisUrl, "probe");
  const ctx: AppContext = {
    config,
    db,
    sql: client,
    log,
    metrics: createMetrics(),
    queues: createQueues(config.redisUrl, config.queuePrefix),
    probe,
    recordCompleted:
      backend.name === "simulated" ? async (tx, action) => void (await backend.apply(tx, action)) : undefined,
  };
  const stops: (() => Promise<void>)[] = [];

  if (role === "all" || role === "worker") {
    const dispatcher = startOutboxDispatcher(ctx);
    const limits = backend.workerLimits;
    const execute: Worker<ExecuteQueueJob, string> = startWorker<ExecuteQueueJob, string>(
      ctx,
      QUEUE_NAMES.execute,
      createExecuteProcessor(ctx, backend, () => execute),
      {
        concurrency: Math.min(config.workerConcurrency, limits?.maxConcurrency ?? Number.POSITIVE_INFINITY),
        limiter: limits?.limiter,
      },
    );
    const reconciler = startReconciler(ctx);
    // Workers first: running jobs finish (or are handed back) before the dispatcher stops.
    stops.push(
      () => execute.close(),
      () => reconciler.stop(),
      () => dispatcher.stop(),
    );
  }
  const slack = await connectSlack(config);
  if (slack.sandbox) {
    if (role !== "all")
      throw new Error("the local Slack sandbox needs both roles in one process: run `npm start`");
    log.info({ slackApiUrl: slack.apiUrl }, "no SLACK_BOT_TOKEN: using the local Slack sandbox");
  }
  stops.push(async () => slack.sandbox?.close());
  if (role === "all" || role === "worker") {
    const slackWorkers = startSlackWorkers(ctx, slack);
    // The approval policy's clock: expiry, reminders and escalations.
    const timers = startTimerWorker(ctx, workerClient(slack), slack.approvers);
    const sweeper = startExpirySweeper(ctx);
    stops.unshift(
      () => slackWorkers.close(),
      () => timers.close(),
      () => sweeper.stop(),
    );
  }

  // Every role serves health and metrics; the web role also serves Slack, the API and pages.
  const http = createHttpApp(ctx, { public: role !== "worker" });
  let slackRoute: SlackEndpoint | undefined;
  if (role !== "worker") {
    const bolt = createBoltApp(slack, slackDepsFor(ctx, slack));
    if (bolt.receiver) {
      slackRoute = slackEndpoint({ app: bolt.app, receiver: bolt.receiver }, slack.signingSecret, log);
    } else {
      await bolt.app.start();
      stops.unshift(async () => {
        await bolt.app.stop();
      });
    }
  }
  // Without a workspace, a page on our own port stands in for the Slack client.
  const sandboxPage =
    slack.sandbox &&
    mountSandboxPage(http, {
      slack,
      fake: slack.sandbox,
      channel: config.slack.channel,
      ingestToken: config.ingestToken,
      log,
    });
  http.use(errorHandler(ctx));
  const server = createHttpServer(ctx, http, slackRoute);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.info({ url, publicUrl: config.publicUrl }, "serving HTTP");
  // Stop taking requests first; in-flight ones finish, then the clicks already acked.
  const route = slackRoute;
  if (route) stops.unshift(() => route.close());
  stops.unshift(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
  if (sandboxPage) {
    // Its event streams end first: the server would wait for them before closing.
    stops.unshift(async () => sandboxPage.close());
    log.info({ url: `${url}${SANDBOX_PATH}` }, "local Slack sandbox: open this page to use the bot");
  }

  return {
    ctx,
    slack,
    url,
    async stop() {
      for (const stop of stops) await stop();
      await closeQueues(ctx.queues);
      await backend.close?.();
      probe.disconnect();
      await client.end({ timeout: 5 });
    },
  };
}
