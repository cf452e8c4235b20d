// Decisions after a burst of clicks run a few at a time. Every click is acked at once; its
// decision, a handful of database round trips, waits its turn here instead of all of them
// interleaving on the event loop and delaying the acks of the clicks still arriving.
export function createDecisionLane(width: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async function inLane<T>(work: () => Promise<T>): Promise<T> {
    if (running >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await work();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}
