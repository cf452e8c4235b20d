// The timer loop behind the expiry sweep, the reconciler and the Slack inbox's recovery.
import { afterEach, expect, it } from "vitest";
import { startPeriodicPass } from "../../src/lib/periodicPass.ts";

type Line = { level: "error" | "warn" | "debug"; message: string; fields: object };
const lines: Line[] = [];
const log = {
  error: (fields: object, message: string) => lines.push({ level: "error", message, fields }),
  warn: (fields: object, message: string) => lines.push({ level: "warn", message, fields }),
  debug: (fields: object, message: string) => lines.push({ level: "debug", message, fields }),
};
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  lines.length = 0;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(options: Omit<Parameters<typeof startPeriodicPass>[0], "name" | "log">) {
  const pass = startPeriodicPass({ name: "test pass", log, ...options });
  stops.push(() => pass.stop());
  return pass;
}

it("runs at start when asked, then on every tick, never two passes at once", async () => {
  let running = 0;
  let most = 0;
  let passes = 0;
  start({
    everyMs: 5,
    atStart: true,
    run: async () => {
      running += 1;
      most = Math.max(most, running);
      passes += 1;
      await sleep(30);
      running -= 1;
    },
  });
  expect(passes).toBe(1);
  await sleep(100);
  expect(passes).toBeGreaterThan(1);
  expect(most).toBe(1);
});

it("waits a tick for its first pass when not asked to start at once", async () => {
  let passes = 0;
  start({
    everyMs: 50,
    atStart: false,
    run: async () => {
      passes += 1;
    },
  });
  expect(passes).toBe(0);
  await sleep(80);
  expect(passes).toBe(1);
});

it("logs a failed pass as a warning and tries again at the next tick", async () => {
  let calls = 0;
  start({
    everyMs: 10,
    atStart: true,
    run: async () => {
      calls += 1;
      if (calls === 1) throw new Error("Postgres is restarting");
    },
  });
  await sleep(50);
  expect(calls).toBeGreaterThan(1);
  expect(lines).toEqual([
    { level: "warn", message: "test pass failed; will try again", fields: { err: expect.any(Error) } },
  ]);
});

it("a stop waits so long for a pass that hangs, says what it gave up on, and its late failure is no news", async () => {
  let fail: (error: Error) => void = () => {};
  const pass = start({
    everyMs: 60_000,
    atStart: true,
    run: () => new Promise((_, reject) => (fail = reject)),
    stopWithin: { ms: 50, dependsOn: "Postgres" },
  });
  await pass.stop();
  fail(new Error("write CONNECTION_DESTROYED"));
  await sleep(5);
  expect(lines.map(({ level, message }) => ({ level, message }))).toEqual([
    { level: "warn", message: "test pass abandoned: Postgres does not answer" },
    { level: "debug", message: "test pass cut off by the stop" },
  ]);
});

it("without a bound, a stop waits for the pass under way to end", async () => {
  let ended = false;
  const pass = start({
    everyMs: 60_000,
    atStart: true,
    run: async () => {
      await sleep(40);
      ended = true;
    },
  });
  await pass.stop();
  expect(ended).toBe(true);
  expect(lines).toEqual([]);
});

it("a pass past its overrun bound is logged and another starts beside it; its late end leaves the new one be", async () => {
  // Every pass hangs (a query nobody settles) until it is let go.
  const letGo: (() => void)[] = [];
  start({
    everyMs: 10,
    atStart: true,
    overrunAfterMs: 200,
    run: () => new Promise<void>((resolve) => letGo.push(resolve)),
  });
  await sleep(100);
  expect(letGo).toHaveLength(1);
  expect(lines).toEqual([]);
  await sleep(160);
  expect(letGo).toHaveLength(2);
  expect(lines).toEqual([
    {
      level: "error",
      message: "test pass has not ended; starting another beside it",
      fields: { runningMs: expect.any(Number) },
    },
  ]);
  // The stuck pass ends while the second is well within its bound: the second is still the one
  // under way, so no third starts (one would within a tick if the first's end cleared it).
  letGo[0]?.();
  await sleep(40);
  expect(letGo).toHaveLength(2);
  letGo[1]?.();
});
