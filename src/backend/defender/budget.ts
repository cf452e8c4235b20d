// A call budget shared by every process of the app through Redis: at most `limit` takes per
// window, the window starting with its first take. Defender counts its quotas per application
// and tenant, so every worker must draw from the same budget.
import type { Redis } from "ioredis";

/** Takes one from the budget under `key`: 0 when taken, otherwise the milliseconds until it refills. */
export async function takeFromBudget(
  redis: Redis,
  key: string,
  limit: number,
  windowMs: number,
): Promise<number> {
  const replies = await redis.multi().set(key, 0, "PX", windowMs, "NX").incr(key).pttl(key).exec();
  if (!replies) throw new Error(`the budget ${key} could not be read`);
  for (const [error] of replies) if (error) throw error;
  const used = Number(replies[1]![1]);
  const ttl = Number(replies[2]![1]);
  if (used <= limit) return 0;
  return ttl > 0 ? ttl : windowMs;
}
