// `npm run demo [-- --interval <seconds>]`: seeds the simulated fleet, then plays a stream of realistic
// pending actions into the running bot (`npm start`) through the ingest API, and stops by itself.
// DEMO_URL (default http://localhost:$PORT), INGEST_TOKEN and DATABASE_URL are those of the bot.
import { ConfigError, loadConfig } from "../src/config/env.ts";
import { createDb } from "../src/db/client.ts";
import { FeedError, playFeed, SCENES, waitForBot } from "../src/demo/feed.ts";
import { seedFleet } from "../src/demo/fleet.ts";

const DEFAULT_INTERVAL_SECONDS = 5;
const READY_TIMEOUT_MS = 60_000;

function intervalSeconds(args: string[]): number {
  const at = args.indexOf("--interval");
  if (at < 0) return DEFAULT_INTERVAL_SECONDS;
  const value = Number(args[at + 1]);
  if (!Number.isFinite(value) || value < 0 || value > 600) {
    throw new FeedError("--interval takes a number of seconds between 0 and 600");
  }
  return value;
}

async function main() {
  const config = loadConfig(process.env);
  const interval = intervalSeconds(process.argv.slice(2));
  const baseUrl = (process.env.DEMO_URL ?? `http://localhost:${config.port}`).replace(/\/+$/, "");
  const database = new URL(config.databaseUrl);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());

  console.log(`Action Center demo: ${SCENES.length} batches, ${interval} s apart, into ${baseUrl}`);
  await waitForBot(baseUrl, READY_TIMEOUT_MS, stop.signal);
  const { db, client } = createDb(config.databaseUrl);
  try {
    const seeded = await seedFleet(db);
    console.log(
      `Simulated fleet in ${database.host}${database.pathname}: ${seeded.devices} devices, ${seeded.files} files, ` +
        `${seeded.services} services, ${seeded.drivers} drivers, ${seeded.tasks} scheduled tasks, ` +
        `${seeded.registryValues} registry values, ${seeded.processes} processes (existing rows kept)`,
    );
  } finally {
    await client.end({ timeout: 5 });
  }
  const result = await playFeed({
    baseUrl,
    token: config.ingestToken,
    intervalMs: interval * 1000,
    print: (line) => console.log(line),
    signal: stop.signal,
  });
  console.log(
    `Sent ${result.actions.length} actions in ${result.batches} batches${stop.signal.aborted ? " (stopped early)" : ""}. ` +
      `Decide on them in Slack, or at ${baseUrl}/sandbox with the local sandbox.`,
  );
}

main().catch((error: unknown) => {
  const known = error instanceof FeedError || error instanceof ConfigError;
  console.error(
    `demo: ${known ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
