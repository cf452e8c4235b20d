// The driver under a connection that closes under it, one case at a time (the outage test runs
// them all at once, 20 times): the server ends the session of a busy connection, as a restart or
// a failover does, and the process, the caller and the pool must all come through it.
// scripts/patchPostgres.mjs is why these pass with postgres.js 3.4.9.
import { connect, createServer, type Server, type Socket } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { createTestDatabase } from "../support/db.ts";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: ReturnType<typeof createDb>;
beforeAll(async () => {
  database = await createTestDatabase("pg_driver");
  admin = createDb(database.url, { max: 1 });
});
afterAll(async () => {
  await admin?.client.end({ timeout: 1 });
  await database?.drop();
});

/** Ends the server session of `pid` in `afterMs`, as a server shutting down does (57P01). */
function terminateSoon(pid: number, afterMs = 100): Promise<unknown> {
  return new Promise((resolve) => setTimeout(resolve, afterMs)).then(
    () => admin.client`select pg_terminate_backend(${pid})`,
  );
}

/**
 * A proxy to the test database that resets the connection (TCP RST) when the client sends its
 * first query after the startup, which on a fresh session is the driver's own look-up of the
 * array types.
 */
async function resetAtFirstQuery(): Promise<{ url: string; resets: () => number; close(): Promise<void> }> {
  const target = new URL(database.url);
  let resets = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    let startup = true;
    client.on("data", (chunk: Buffer) => {
      // After the startup message (which has no type byte), 'P' is Parse: a query begins.
      if (!startup && chunk[0] === 0x50) {
        resets += 1;
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      startup = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(database.url);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    resets: () => resets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Lets immediates and timers scheduled by the close run: a crash would surface here. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("a Postgres session ended under the driver", () => {
  it("a session reset while the driver reads the array types: the query rejects, no rejection escapes", async () => {
    const proxy = await resetAtFirstQuery();
    const escaped: unknown[] = [];
    const onUnhandled = (reason: unknown) => escaped.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const { client } = createDb(proxy.url, { max: 1 });
    try {
      const outcome = await client`select 1 as one`.then(
        () => "answered",
        (error: { code?: string }) => error.code ?? "error",
      );
      expect(outcome).not.toBe("answered");
      expect(proxy.resets()).toBeGreaterThan(0);
      await settle();
      expect(escaped).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await client.end({ timeout: 1 });
      await proxy.close();
    }
  });

  it("a transaction's connection closed mid-query: the transaction rejects, the process lives, the pool serves", async () => {
    const { db, client } = createDb(database.url, { max: 1 });
    try {
      const outcome = await db
        .transaction(async (tx) => {
          const [row] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as [
            { pid: number },
          ];
          const terminated = terminateSoon(row.pid);
          await tx.execute(sql`select pg_sleep(5)`);
          await terminated;
        })
        .then(
          () => "committed",
          (error: { code?: string }) => error.code,
        );
      expect(["CONNECTION_CLOSED", "57P01"]).toContain(outcome);
      await settle();
      // The pool's one connection was not lost to the closed session: it serves a new one.
      const [again] = (await db.execute(sql`select 1 as one`)) as unknown as [{ one: number }];
      expect(again.one).toBe(1);
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it("a query's connection closed mid-query: the next query, on a new session, gets its own answer", async () => {
    const { client } = createDb(database.url, { max: 1 });
    try {
      const [session] = await client`select pg_backend_pid() as pid`;
      const slow = client`select pg_sleep(5)`.then(
        () => "answered",
        (error: { code?: string }) => error.code,
      );
      await terminateSoon(session!.pid);
      expect(["CONNECTION_CLOSED", "57P01"]).toContain(await slow);
      await settle();
      // Not the closed session's "terminating connection due to administrator command".
      const rows = await client`select n from generate_series(1, 3) as n`;
      expect(rows.map((r) => r.n)).toEqual([1, 2, 3]);
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it("many transactions at once, their connections closed: each rejects, none hangs, the pool serves", async () => {
    const { db, client } = createDb(database.url, { max: 4 });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          db
            .transaction(async (tx) => {
              const [row] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as [
                { pid: number },
              ];
              void terminateSoon(row.pid, 50);
              await tx.execute(sql`select pg_sleep(5)`);
            })
            .then(
              () => "committed",
              (error: { code?: string }) => error.code ?? "error",
            ),
        ),
      );
      expect(outcomes.filter((o) => o === "committed")).toEqual([]);
      await settle();
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => client`select ${i}::int as i`.then((r) => r[0]!.i)),
      );
      expect(answers).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await client.end({ timeout: 1 });
    }
  });
});
