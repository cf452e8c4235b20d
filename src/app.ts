// Builds a running process from a config: the shared context, then the roles asked for.
// main.ts calls this; so do the tests, with a config of their own.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSimulatedBackend } from "./backend/simulated.ts";
import type { Backend } from "./backend/types.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { createDb } from "./db/client.ts";
import { prepareDatabase } from "./db/migrate.ts";
import { createHttpApp, errorHandler } from "./http/server.ts";
import type { Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createExecuteProcessor } from "./queue/executeProcessor.ts";
import { startOutboxDispatcher } from "./queue/outboxDispatcher.ts";
import { closeQueues, createQueues, createRedis, type ExecuteJob, QUEUE_NAMES } from "./queue/queues.ts";
import { startReconciler } from "./queue/reconciler.ts";
import { startWorker } from "./queue/workers.ts";
import { createBoltApp } from "./slack/boltApp.ts";
import { connectSlack, type SlackConnection, slackDepsFor, startSlackWorkers } from "./slack/runtime.ts";

export type Role = "all" | "web" | "worker";

export type RunningApp = {
  ctx: AppContext;
  slack: SlackConnection;
  /** Where this process serves HTTP (health and metrics in every role). */
  url: string;
  stop(): Promise<void>;
};

export function createBackend(config: Config): Backend {
  if (config.backend === "defender") {
    throw new Error("BACKEND=defender is not available yet; use BACKEND=simulated");
  }
  return createSimulatedBackend();
}

export async function startApp(config: Config, log: Logger, role: Role): Promise<RunningApp> {
  await prepareDatabase(config.databaseUrl);
  const { db, client } = createDb(config.databaseUrl);
  const backend = createBackend(config);
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
    const execute = startWorker<ExecuteJob, string>(
      ctx,
      QUEUE_NAMES.execute,
      createExecuteProcessor(ctx, backend),
      {
        concurrency: config.workerConcurrency,
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
    stops.unshift(() => slackWorkers.close());
  }

  // Every role serves health and metrics; the web role also serves Slack, the API and pages.
  const http = createHttpApp(ctx, { public: role !== "worker" });
  if (role !== "worker") {
    const bolt = createBoltApp(slack, slackDepsFor(ctx, slack), http);
    if (slack.appToken) {
      await bolt.start();
      stops.unshift(async () => {
        await bolt.stop();
      });
    }
  }
  http.use(errorHandler(ctx));
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 hands a listen error to this callback.
    const s = http.listen(config.port, "0.0.0.0", (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.info({ url, publicUrl: config.publicUrl }, "serving HTTP");
  // Stop taking requests first; in-flight ones finish.
  stops.unshift(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );

  return {
    ctx,
    slack,
    url,
    async stop() {
      for (const stop of stops) await stop();
      await closeQueues(ctx.queues);
      probe.disconnect();
      await client.end({ timeout: 5 });
    },
  };
}
