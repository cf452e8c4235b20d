// A stopped app closes what it opened: every Redis and Postgres connection of its queues, workers,
// dispatcher and store, so that a process embedding it (a script, a test) can end, and nothing
// lingers on the servers.
import type { Socket } from "node:net";
import { expect, it } from "vitest";
import { startTestApp, waitFor } from "../support/app.ts";

/** This process's open sockets to Redis and Postgres, as "host:port". */
function serverSockets(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((handle): handle is Socket => (handle as Socket).remotePort !== undefined)
    .filter((socket) => socket.remotePort === 6379 || socket.remotePort === 5432)
    .map((socket) => `${socket.remoteAddress}:${socket.remotePort}`)
    .sort();
}

it("a stopped app leaves no connection to Redis or Postgres open", async () => {
  const before = serverSockets();
  const app = await startTestApp("app_stop");
  const res = await app.api("/readyz");
  expect(res.status).toBe(200);
  expect(serverSockets().filter((s) => s.endsWith(":6379")).length).toBeGreaterThan(5);
  await app.close();
  await waitFor(
    async () => (serverSockets().join() === before.join() ? true : undefined),
    5000,
    `no sockets beyond ${JSON.stringify(before)}; open: ${JSON.stringify(serverSockets())}`,
  );
});
