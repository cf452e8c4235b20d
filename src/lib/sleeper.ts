// A wait that can be cut short: a loop sleeps between rounds, and whoever has news for it (a
// notification, a stop) wakes it at once instead of letting it sleep out the interval.
export function createSleeper() {
  let wake: (() => void) | null = null;
  return {
    sleep(ms: number): Promise<void> {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    },
    /** Ends the sleep under way, if any. */
    wake(): void {
      wake?.();
    },
  };
}
