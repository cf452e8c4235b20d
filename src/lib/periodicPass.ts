// Work that runs again and again on a timer (the expiry sweep, the reconciler, the Slack inbox's
// recovery): never two passes at once (unless one overruns its bound), a failed pass logged and
// tried again at the next tick, and a stop that waits for the pass under way only so long when the
// service it needs does not answer.
import { finishesWithin } from "./deadline.ts";

/** The levels a pass's failures are logged at (pino's signature). */
type PassLog = {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
};

export type PeriodicPassOptions = {
  /** What the log calls one pass, e.g. "expiry sweep". */
  name: string;
  everyMs: number;
  /** The first pass at once (catching up after downtime) rather than after `everyMs`. */
  atStart: boolean;
  run: () => Promise<unknown>;
  log: PassLog;
  /**
   * How long a stop waits for the pass under way, and the service that pass waits on when it
   * does not end in time. Without it the stop waits for the pass, and its caller bounds the wait.
   */
  stopWithin?: { ms: number; dependsOn: string };
  /**
   * How long a pass may run before the next tick starts another beside it, for a pass whose work
   * is safe to overlap (claimed rows): a pass stuck on a query a closed connection never settles
   * would otherwise stop the work for good. Without it a pass is waited for however long it runs.
   */
  overrunAfterMs?: number;
};

export function startPeriodicPass(options: PeriodicPassOptions): { stop(): Promise<void> } {
  const { name, log } = options;
  let running: { done: Promise<void>; startedAt: number } | null = null;
  let stopped = false;
  const tick = () => {
    if (running) {
      const runningMs = Date.now() - running.startedAt;
      if (options.overrunAfterMs === undefined || runningMs < options.overrunAfterMs) return;
      log.error({ runningMs }, `${name} has not ended; starting another beside it`);
    }
    const done: Promise<void> = options
      .run()
      .then(
        () => {},
        (error: unknown) => {
          // A pass the stop gave up on fails once the pool closes: no news, and nothing to try again.
          if (stopped) log.debug({ err: error }, `${name} cut off by the stop`);
          else log.warn({ err: error }, `${name} failed; will try again`);
        },
      )
      .finally(() => {
        // An overrun pass that ends at last leaves the one that replaced it in place.
        if (running?.done === done) running = null;
      });
    running = { done, startedAt: Date.now() };
  };
  if (options.atStart) tick();
  const timer = setInterval(tick, options.everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (!running) return;
      if (!options.stopWithin) {
        await running.done;
        return;
      }
      const { ms, dependsOn } = options.stopWithin;
      if (!(await finishesWithin(running.done, ms))) {
        log.warn({ waitedMs: ms }, `${name} abandoned: ${dependsOn} does not answer`);
      }
    },
  };
}
