// Call budgets shared by every process of the app through Redis: at most `limit` takes per
// window, the window starting with its first take. Defender counts its quotas per application
// and tenant, so every worker and the connector draw from the same budgets; the connector also
// from a share of its own, which leaves the rest of every window to the worker's submissions.
import type { Redis } from "ioredis";
import type { DefenderConfig } from "../../config/env.ts";
import { BackendError, BackendRateLimitError } from "../types.ts";

export type Budget = {
  key: string;
  limit: number;
  windowMs: number;
  /** What a spent budget means, for the message that says why a call waits. */
  spent: string;
};

// Takes one from every budget, or from none when one is spent: a refused take costs nothing, so
// a connector held back by its share never eats into what the worker may still spend.
// KEYS: the budgets; ARGV: each one's limit and window, in KEYS order.
// Returns {0, 0} when taken, else {milliseconds until the spent one refills, its 1-based index}.
const TAKE = `
local wait, spent = 0, 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if tonumber(redis.call('GET', key) or '0') >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
    if ttl > wait then wait, spent = ttl, i end
  end
end
if spent > 0 then return {wait, spent} end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, tonumber(ARGV[2 * i])) end
end
return {0, 0}
`;

/** Takes one call from every budget at once: `wait` 0 when taken, else until the spent one refills. */
export async function takeFromBudgets(
  redis: Redis,
  budgets: readonly Budget[],
): Promise<{ wait: number; spent: Budget | null }> {
  const args = budgets.flatMap((budget) => [budget.limit, budget.windowMs]);
  const reply = (await redis.eval(TAKE, budgets.length, ...budgets.map((b) => b.key), ...args)) as [
    number,
    number,
  ];
  const [wait, index] = reply.map(Number) as [number, number];
  return index === 0 ? { wait: 0, spent: null } : { wait: Math.max(1, wait), spent: budgets[index - 1]! };
}

/** `takeFromBudgets`, with Redis unavailable as a retryable BackendError. */
export async function spendFromBudgets(
  redis: Redis,
  budgets: readonly Budget[],
): Promise<{ wait: number; spent: Budget | null }> {
  try {
    return await takeFromBudgets(redis, budgets);
  } catch (error) {
    // Without the shared count no call is safe to make; Redis is back soon or the job retries.
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendError(`the shared Defender call budget in Redis is unavailable: ${reason}`, true);
  }
}

/** A client's `beforeCall`: each call takes from `budgets`, or waits for the spent one to refill. */
export function meteredBy(redis: Redis, budgets: readonly Budget[]): () => Promise<void> {
  return async () => {
    const { wait, spent } = await spendFromBudgets(redis, budgets);
    if (spent) throw new BackendRateLimitError(spent.spent, wait);
  };
}

/** Takes one from the budget under `key`: 0 when taken, otherwise the milliseconds until it refills. */
export async function takeFromBudget(
  redis: Redis,
  key: string,
  limit: number,
  windowMs: number,
): Promise<number> {
  return (await takeFromBudgets(redis, [{ key, limit, windowMs, spent: key }])).wait;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The budgets of one app and tenant. Every call of the worker takes from `worker` (Defender's
 * 100 a minute and 1,500 an hour); every call of the connector from `connector`: the same two,
 * and its own share of each, so the worker always keeps the difference for itself.
 */
export function defenderBudgets(
  queuePrefix: string,
  config: Pick<
    DefenderConfig,
    "tenantId" | "clientId" | "callsPerMinute" | "callsPerHour" | "liveResponsePerMinute" | "connector"
  >,
) {
  // One hash slot for all of them, so that a clustered Redis can run the script over several.
  const key = (name: string) =>
    `${queuePrefix}:defender-budget:{${config.tenantId}:${config.clientId}}:${name}`;
  const minute: Budget = {
    key: key("minute"),
    limit: config.callsPerMinute,
    windowMs: MINUTE,
    spent: `the app has made its ${config.callsPerMinute} Defender calls of this minute`,
  };
  const hour: Budget = {
    key: key("hour"),
    limit: config.callsPerHour,
    windowMs: HOUR,
    spent: `the app has made its ${config.callsPerHour} Defender calls of this hour`,
  };
  const { callsPerMinute, callsPerHour } = config.connector;
  return {
    worker: [minute, hour],
    connector: [
      minute,
      hour,
      {
        key: key("connector-minute"),
        limit: callsPerMinute,
        windowMs: MINUTE,
        spent: `the connector has made its share of ${callsPerMinute} Defender calls of this minute`,
      },
      {
        key: key("connector-hour"),
        limit: callsPerHour,
        windowMs: HOUR,
        spent: `the connector has made its share of ${callsPerHour} Defender calls of this hour`,
      },
    ],
    liveResponse: {
      key: key("live-response"),
      limit: config.liveResponsePerMinute,
      windowMs: MINUTE,
      spent: `the app has made its ${config.liveResponsePerMinute} live response calls of this minute`,
    },
  } satisfies Record<string, Budget[] | Budget>;
}
