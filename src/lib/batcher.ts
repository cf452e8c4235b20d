// Group commit: calls that arrive while earlier ones are being written wait and go together, as
// one statement. A lone call goes at once; a burst costs a few round trips instead of one each,
// which is what keeps a durable write in front of every Slack ack cheap under a burst of clicks.
export function createBatcher<I, O>(
  write: (items: I[]) => Promise<O[]>,
  options: { maxBatch: number; maxInFlight: number },
): (item: I) => Promise<O> {
  type Waiting = { item: I; resolve: (result: O) => void; reject: (error: unknown) => void };
  let waiting: Waiting[] = [];
  let inFlight = 0;

  async function writeBatch(batch: Waiting[]): Promise<void> {
    try {
      const results = await write(batch.map((entry) => entry.item));
      if (results.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} was answered with ${results.length} results`);
      }
      batch.forEach((entry, i) => {
        entry.resolve(results[i]!);
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      inFlight -= 1;
      flush();
    }
  }

  function flush(): void {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const batch = waiting.slice(0, options.maxBatch);
      waiting = waiting.slice(batch.length);
      inFlight += 1;
      void writeBatch(batch);
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      flush();
    });
}
