// Bounded waits for shutdown: a part that depends on a service which is down must not hold the
// process past its orchestrator's grace period; the caller logs what it gave up on and why.

/**
 * Whether `work` finishes within `ms`; its rejection within `ms` is thrown as usual. After the
 * deadline the work is abandoned: its late outcome, success or failure, is ignored, since the
 * caller has already said what it gave up on.
 */
export async function finishesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    const finished = await Promise.race([work.then(() => true as const), expired]);
    if (!finished) work.catch(() => {});
    return finished;
  } finally {
    clearTimeout(timer);
  }
}
