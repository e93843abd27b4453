// Concurrency for the bulk commands (predict, anonymize): a bounded pool of
// workers and a mutex that keeps the models at one image at a time.

/** Run `fn` for every item with at most `n` at a time; stops taking items once `stop()` is true. */
export async function runPool<T>(next: () => Promise<T | undefined>, n: number, fn: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  const worker = async () => {
    for (;;) {
      if (stop()) return;
      const item = await next();
      if (item === undefined) return;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
}

/** A mutex: `serial(fn)` runs fns one after another (the models run one image at a time). */
export function serializer(): <R>(fn: () => Promise<R>) => Promise<R> {
  let chain: Promise<unknown> = Promise.resolve();
  return <R>(fn: () => Promise<R>) => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
}
