// Creates the database if it is missing and applies drizzle/ under an advisory lock, so that two
// processes starting together (web and worker, or several replicas) both come up.
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { LOCK_SPACES } from "./locks.ts";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));
const MIGRATION_LOCK_KEY = LOCK_SPACES.migration;
const DUPLICATE_DATABASE = "42P04";
const UNIQUE_VIOLATION = "23505";

async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (name === "") throw new Error("DATABASE_URL names no database");
  url.pathname = "/postgres";
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const found = await admin`select 1 from pg_database where datname = ${name}`;
    if (found.length > 0) return;
    await admin`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      const again = await admin`select 1 from pg_database where datname = ${name}`;
      if (again.length === 0) await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== DUPLICATE_DATABASE && code !== UNIQUE_VIOLATION) throw error;
    } finally {
      await admin`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await admin.end();
  }
}

async function migrateDatabase(databaseUrl: string): Promise<void> {
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end();
  }
}

export async function prepareDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  await migrateDatabase(databaseUrl);
}
