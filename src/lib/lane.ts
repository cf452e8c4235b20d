// A lane of fixed width: at most `width` pieces of work at once, the rest waiting their turn in
// arrival order. Decisions after a burst of clicks use one, so that they do not all interleave
// on the event loop and delay the acks of the clicks still arriving; the worker's batches use
// one, so that they do not all queue inside Postgres for its cores and each other's locks.
export function createLane(width: number) {
  let free = width;
  const waiting: (() => void)[] = [];
  return async function inLane<T>(work: () => Promise<T>): Promise<T> {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line, so no newcomer can slip in between.
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    }
  };
}
