// The HTTP surface of the contract. Slack's endpoint goes straight to Bolt's receiver; every
// other route is Express's.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import express, { type ErrorRequestHandler, type Express } from "express";
import type { AppContext } from "../context.ts";
import { isStoreUnavailable } from "../db/errors.ts";
import { actionsRouter } from "./api/actionsRouter.ts";
import { requireBearer } from "./api/auth.ts";
import { devicesRouter } from "./api/devicesRouter.ts";
import { rateLimitPerToken } from "./api/rateLimit.ts";
import { healthRouter } from "./health.ts";
import { type NameLookup, pagesRouter } from "./pages/pagesRouter.ts";
import { type SignInRoutes, signInRouter } from "./signIn/signInRouter.ts";

const MAX_BODY = "1mb";

/**
 * `public`: the web role's routes (API, pages); without it only health and metrics. `names`: how
 * pages name people. `signIn`: the step-up sign-in pages, when an identity provider is configured.
 */
export function createHttpApp(
  ctx: AppContext,
  options: { public: boolean; names?: NameLookup; signIn?: SignInRoutes | undefined },
): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use((req, res, next) => {
    res.on("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
      ctx.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(healthRouter(ctx));
  if (!options.public) return app;
  const api = express.Router();
  api.use(requireBearer(ctx.config.ingestToken));
  api.use(rateLimitPerToken(ctx));
  api.use(express.json({ limit: MAX_BODY, strict: false }));
  api.use("/actions", actionsRouter(ctx));
  api.use("/devices", devicesRouter(ctx));
  app.use("/api/v1", api);
  app.use(pagesRouter(ctx, options.names));
  if (options.signIn) app.use(signInRouter(ctx, options.signIn));
  return app;
}

/** A route served ahead of Express (Slack's endpoint, whose clicks must be acked at once). */
export type RawRoute = {
  path: string;
  listener: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** Finishes what was accepted and is still being handled. */
  close(): Promise<void>;
};

/**
 * The process's server. Slack's POSTs skip Express: a burst of clicks must all be acked within
 * Slack's 3 s, and routing them through Express's stack costs about as much again as Bolt does.
 */
export function createHttpServer(ctx: AppContext, app: Express, slack?: RawRoute): Server {
  return createServer((req, res) => {
    if (!slack || req.method !== "POST" || req.url?.split("?", 1)[0] !== slack.path) {
      app(req, res);
      return;
    }
    res.on("finish", () => {
      ctx.metrics.httpRequests.inc({ method: "POST", route: slack.path, status: String(res.statusCode) });
    });
    Promise.resolve(slack.listener(req, res)).catch((error: unknown) => {
      ctx.log.error({ err: error, path: slack.path }, "slack request failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
}

/** Last in the chain: every error becomes a clear JSON answer; only our own faults are 5xx. */
export function errorHandler(ctx: AppContext): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const status = typeof error?.status === "number" ? error.status : 500;
    if (status === 413) {
      res
        .status(413)
        .json({ error: "payload_too_large", message: `request bodies are limited to ${MAX_BODY}` });
      return;
    }
    if (status >= 400 && status < 500) {
      const message = error.type === "entity.parse.failed" ? "the body is not valid JSON" : "bad request";
      res.status(status).json({ error: "invalid_request", issues: [{ path: "$", message }] });
      return;
    }
    ctx.log.error({ err: error, method: req.method, path: req.path }, "request failed");
    if (res.headersSent) return;
    if (isStoreUnavailable(error)) {
      res
        .status(503)
        .json({ error: "unavailable", message: "the store is unreachable; nothing was changed, try again" });
    } else {
      res.status(500).json({ error: "internal_error", message: "the request failed; nothing was changed" });
    }
  };
}
