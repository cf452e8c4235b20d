// A request budget per ingest token, shared by every web process through Redis (a fixed window
// per minute). While Redis cannot be asked, each process keeps the same budget in its own memory:
// a SOC wants detections to keep arriving during a Redis outage (they are stored in Postgres), but
// a runaway or stolen token must still not flood the channel, so the limit holds — per process,
// at most `INGEST_RATE_LIMIT` × the number of web processes in all — instead of lifting.
import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import type { AppContext } from "../../context.ts";

const WINDOW_SECONDS = 60;

/** The fallback's counts: one window per token digest, dropped once its window has passed. */
class LocalWindows {
  private readonly counts = new Map<string, { window: number; used: number }>();

  count(tokenKey: string, window: number): number {
    const entry = this.counts.get(tokenKey);
    if (entry && entry.window === window) return ++entry.used;
    // A new window: forget every token's old one, so the map holds at most the tokens of one minute.
    for (const [key, other] of this.counts) if (other.window < window) this.counts.delete(key);
    this.counts.set(tokenKey, { window, used: 1 });
    return 1;
  }
}

export function rateLimitPerToken(ctx: AppContext): RequestHandler {
  const limit = ctx.config.ingestRateLimit;
  const local = new LocalWindows();
  let redisDown = false;
  return async (req, res, next) => {
    if (limit === 0) return next();
    const token = /^Bearer\s+(\S+)/i.exec(req.get("authorization") ?? "")?.[1] ?? "";
    const window = Math.floor(Date.now() / 1000 / WINDOW_SECONDS);
    const tokenKey = createHash("sha256").update(token).digest("hex").slice(0, 16);
    const key = `${ctx.config.queuePrefix}:ingest-rate:${tokenKey}:${window}`;
    let used: number;
    try {
      const [[, count]] = (await ctx.probe
        .multi()
        .incr(key)
        .expire(key, WINDOW_SECONDS * 2)
        .exec()) as [[Error | null, number]];
      used = count;
      if (redisDown) ctx.log.info("ingest rate limit shared through Redis again");
      redisDown = false;
    } catch (error) {
      if (!redisDown)
        ctx.log.warn({ err: error }, "ingest rate limit: Redis unavailable; counting in this process");
      redisDown = true;
      used = local.count(tokenKey, window);
    }
    if (used <= limit) return next();
    const retryAfter = Math.max(1, (window + 1) * WINDOW_SECONDS - Math.floor(Date.now() / 1000));
    res
      .status(429)
      .set("Retry-After", String(retryAfter))
      .json({
        error: "rate_limited",
        message: `at most ${limit} requests a minute per token; retry after ${retryAfter} s`,
      });
  };
}
