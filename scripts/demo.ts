// `npm run demo [-- --interval <seconds>]`: seeds the simulated fleet, then plays a stream of realistic
// pending actions into the running bot (`npm start`) through the ingest API, and stops by itself.
// DEMO_URL (default http://localhost:$PORT), INGEST_TOKEN and DATABASE_URL are those of the bot.
import { ConfigError, loadConfig } from "../src/config/env.ts";
import { createDb } from "../src/db/client.ts";
import { checkBotSeesFleet, FeedError, playFeed, SCENES, waitForBot } from "../src/demo/feed.ts";
import { deviceIdOf, FLEET, seedFleet } from "../src/demo/fleet.ts";

const DEFAULT_INTERVAL_SECONDS = 5;
/** How long a bot that answers but is not ready yet (Postgres or Redis coming up) is waited for. */
const READY_TIMEOUT_MS = 30_000;

const USAGE = `Usage: npm run demo [-- --interval <seconds>]

Seeds the simulated fleet (LAPTOP-FIN-07, SRV-SQL-02, ...) into the bot's database, then plays
${SCENES.length} batches of realistic pending actions (automated investigations, antivirus
detections, analysts' requests) into the running bot through its ingest API.

Start the bot first (npm start, in another terminal). The demo needs the bot's own settings,
from the same environment:
  PORT or DEMO_URL  where the bot listens (default http://localhost:$PORT, PORT 3000)
  DATABASE_URL      the bot's Postgres, where the fleet is seeded
                    (default postgres://postgres@127.0.0.1:5432/action_center)
  INGEST_TOKEN      the bot's ingest token (default: the sandbox's, sandbox-ingest-token)

Options:
  --interval <seconds>  pause between batches, 0 to 600 (default ${DEFAULT_INTERVAL_SECONDS}; 0 sends all at once)
  --help                this text`;

/** The command line: `null` when it asks for the usage. */
function parseArgs(args: string[]): { intervalSeconds: number } | null {
  let intervalSeconds = DEFAULT_INTERVAL_SECONDS;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return null;
    if (arg === "--interval") {
      const value = Number(args[++i]);
      if (args[i] === undefined || !Number.isFinite(value) || value < 0 || value > 600) {
        throw new FeedError("--interval takes a number of seconds between 0 and 600");
      }
      intervalSeconds = value;
      continue;
    }
    throw new FeedError(`unknown option ${arg}; see npm run demo -- --help`);
  }
  return { intervalSeconds };
}

/** Seeds the fleet, saying which database is wrong when the bot's is not the one named. */
async function seedInto(databaseUrl: string, where: string) {
  const { db, client } = createDb(databaseUrl);
  try {
    return await seedFleet(db);
  } catch (error) {
    const { code, cause } = error as { code?: string; cause?: { code?: string } };
    const problem = {
      "3D000": "does not exist",
      "42P01": "has no Action Center tables",
      ECONNREFUSED: "does not answer",
    }[code ?? cause?.code ?? ""];
    if (!problem) throw error;
    throw new FeedError(`the database ${where} ${problem}: run the demo with the bot's DATABASE_URL`);
  } finally {
    await client.end({ timeout: 5 });
  }
}

async function main() {
  const parsed = parseArgs(process.argv.slice(2));
  if (!parsed) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig(process.env);
  const baseUrl = (process.env.DEMO_URL ?? `http://localhost:${config.port}`).replace(/\/+$/, "");
  const database = new URL(config.databaseUrl);
  const where = `${database.host}${database.pathname}`;
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const print = (line: string) => console.log(line);

  print(
    `Action Center demo: ${SCENES.length} batches, ${parsed.intervalSeconds} s apart, into the bot at ${baseUrl}, ` +
      `its fleet in ${where} (npm run demo -- --help)`,
  );
  await waitForBot(baseUrl, READY_TIMEOUT_MS, { print, signal: stop.signal });
  const seeded = await seedInto(config.databaseUrl, where);
  print(
    `Simulated fleet in ${where}: ${seeded.devices} devices, ${seeded.files} files, ` +
      `${seeded.services} services, ${seeded.drivers} drivers, ${seeded.tasks} scheduled tasks, ` +
      `${seeded.registryValues} registry values, ${seeded.processes} processes (existing rows kept)`,
  );
  await checkBotSeesFleet(baseUrl, config.ingestToken, deviceIdOf(FLEET[0]!.name), where);
  const result = await playFeed({
    baseUrl,
    token: config.ingestToken,
    intervalMs: parsed.intervalSeconds * 1000,
    print,
    signal: stop.signal,
  });
  print(
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
