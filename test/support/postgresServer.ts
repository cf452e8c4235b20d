// A Postgres of the test's own: a temporary cluster on a free port that the test may stop and
// start at will, as an outage of the database host would, while the shared server serves the rest.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./process.ts";

const run = promisify(execFile);
const DEBIAN_POSTGRES = "/usr/lib/postgresql";
/** The server binaries of the machine's PostgreSQL (Debian keeps one folder per major version). */
const BIN = process.env.TEST_POSTGRES_BIN ?? debianPostgresBin();

function debianPostgresBin(): string {
  const versions = existsSync(DEBIAN_POSTGRES) ? readdirSync(DEBIAN_POSTGRES) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0] ?? "15";
  return join(DEBIAN_POSTGRES, newest, "bin");
}

/** `fast`: clients are told the server shuts down (57P01); `immediate`: backends just vanish. */
export type StopMode = "fast" | "immediate";

export type OwnPostgres = {
  /** `postgres://postgres@127.0.0.1:<port>`, without a database. */
  base: string;
  port: number;
  start(): Promise<void>;
  stop(mode: StopMode): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
};

/**
 * Whether this machine lacks the binaries to run a server of the test's own. CI has them (the
 * machine's PostgreSQL) and must run those tests, so there a missing one stops the file; a
 * developer's machine skips them, saying so.
 */
export function postgresBinariesMissing(): boolean {
  if (existsSync(join(BIN, "initdb")) && existsSync(join(BIN, "pg_ctl"))) return false;
  if (process.env.CI) throw new Error(`PostgreSQL's initdb and pg_ctl are required in CI: none in ${BIN}`);
  console.warn(`skipping tests that stop a Postgres server of their own: no initdb in ${BIN}`);
  return true;
}

/**
 * initdb refuses to run as root: as root, the cluster belongs to the `postgres` OS user and every
 * server command runs as that user.
 */
function asServerUser(): { prefix: string[]; chownTo: number | null } {
  if (process.getuid?.() !== 0) return { prefix: [], chownTo: null };
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  return { prefix: ["runuser", "-u", "postgres", "--"], chownTo: uid };
}

export async function ownPostgres(): Promise<OwnPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ac-own-pg-"));
  const user = asServerUser();
  if (user.chownTo !== null) chownSync(dir, user.chownTo, -1);
  const data = join(dir, "data");
  const exec = async (program: string, args: string[]) => {
    const [command, ...rest] = [...user.prefix, join(BIN, program), ...args];
    await run(command!, rest, { timeout: 60_000 });
  };
  await exec("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  // fsync off loses nothing here: the server process is what stops, never the machine, so every
  // committed WAL record has reached the OS. synchronous_commit stays on, so an acknowledged
  // commit is in the WAL before the client hears of it.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  let running = false;
  const server: OwnPostgres = {
    base: `postgres://postgres@127.0.0.1:${port}`,
    port,
    async start() {
      await exec("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "start"]);
      running = true;
    },
    async stop(mode) {
      if (!running) return;
      running = false;
      await exec("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
    },
    async destroy() {
      await server.stop("immediate");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
