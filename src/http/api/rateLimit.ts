// A request budget per ingest token, shared by every web process through Redis (a fixed window
// per minute). If Redis cannot be asked, requests pass: ingest must keep working while Redis is
// away (decisions and actions are stored in Postgres), and the budget is a guard, not a gate.
import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import type { AppContext } from "../../context.ts";

const WINDOW_SECONDS = 60;

export function rateLimitPerToken(ctx: AppContext): RequestHandler {
  const limit = ctx.config.ingestRateLimit;
  return async (req, res, next) => {
    if (limit === 0) return next();
    const token = /^Bearer\s+(\S+)/i.exec(req.get("authorization") ?? "")?.[1] ?? "";
    const window = Math.floor(Date.now() / 1000 / WINDOW_SECONDS);
    const key = `${ctx.config.queuePrefix}:ingest-rate:${createHash("sha256").update(token).digest("hex").slice(0, 16)}:${window}`;
    let used: number;
    try {
      const [[, count]] = (await ctx.probe
        .multi()
        .incr(key)
        .expire(key, WINDOW_SECONDS * 2)
        .exec()) as [[Error | null, number]];
      used = count;
    } catch (error) {
      ctx.log.warn({ err: error }, "ingest rate limit unavailable; letting the request through");
      return next();
    }
    if (used <= limit) return next();
    const retryAfter = (window + 1) * WINDOW_SECONDS - Math.floor(Date.now() / 1000);
    res
      .status(429)
      .set("Retry-After", String(Math.max(1, retryAfter)))
      .json({
        error: "rate_limited",
        message: `at most ${limit} requests a minute per token; retry after ${retryAfter} s`,
      });
  };
}
