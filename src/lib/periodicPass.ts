// Work that runs again and again on a timer (the expiry sweep, the reconciler, the Slack inbox's
// recovery): never two passes at once, a failed pass logged and tried again at the next tick, and
// a stop that waits for the pass under way only so long when the service it needs does not answer.
import { finishesWithin } from "./deadline.ts";

/** The two levels a pass's failures are logged at (pino's signature). */
type PassLog = {
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
};

export function startPeriodicPass(options: PeriodicPassOptions): { stop(): Promise<void> } {
  const { name, log } = options;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    running ??= options
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
        running = null;
      });
  };
  if (options.atStart) tick();
  const timer = setInterval(tick, options.everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (!running) return;
      if (!options.stopWithin) {
        await running;
        return;
      }
      const { ms, dependsOn } = options.stopWithin;
      if (!(await finishesWithin(running, ms))) {
        log.warn({ waitedMs: ms }, `${name} abandoned: ${dependsOn} does not answer`);
      }
    },
  };
}
