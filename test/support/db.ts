// Each test file gets its own database and queue prefix on the real Postgres and Redis.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import postgres from "postgres";
import { prepareDatabase } from "../../src/db/migrate.ts";

export const POSTGRES_BASE = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function uniqueName(label: string): string {
  return `ac_t_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
}

/** Creates and migrates a fresh database; returns its URL and a function that drops it. */
export async function createTestDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName(label);
  const url = `${POSTGRES_BASE}/${name}`;
  await prepareDatabase(url);
  return {
    url,
    async drop() {
      const admin = postgres(`${POSTGRES_BASE}/postgres`, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Removes every key a test's queue prefix left in Redis. */
export async function obliterateQueues(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
