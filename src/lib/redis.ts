// Redis connections, each made for what it is used for.
import { Redis } from "ioredis";

/**
 * `queue`: workers block on Redis and wait out an outage (BullMQ requires no retry limit).
 * `producer` and `probe`: fail fast while Redis is away, so callers can keep the work elsewhere.
 */
export function createRedis(url: string, purpose: "queue" | "producer" | "probe"): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: purpose === "queue" ? null : 1,
    enableOfflineQueue: purpose === "queue",
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Connection errors are reported by the commands that fail; without a listener ioredis would
  // also print each reconnect attempt to stderr.
  redis.on("error", () => {});
  return redis;
}
