// One retry loop for every outbound call (image downloads, Label Studio API).
//
// Written here rather than taken from npm: p-retry 8+ needs Node 22 (the
// image runs Node 20), its jitter is a x[1, 2] factor where the API client
// uses +/-25%, it sleeps on its own timer (no injectable sleep for tests) and
// on abort it rejects with the signal's reason instead of the last failure.

export interface RetryInfo {
  /** 1 for the first retry. */
  attempt: number;
  error: unknown;
  delayMs: number;
}

export interface RetryOptions {
  /** Extra attempts after the first one fails retryably. */
  retries: number;
  /** The wait before retry n (0-based). */
  delayMs: (retry: number) => number;
  /** Failures a later attempt may not see; anything else is thrown at once. */
  shouldRetry: (err: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  /** Once aborted, no new attempt starts: the last failure is thrown. */
  signal?: AbortSignal;
  /** Called before each wait (logging). */
  onRetry?: (info: RetryInfo) => void;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `base * 2^n`, times a random factor in [1 - jitter, 1 + jitter], in whole ms. */
export function exponentialDelay(baseMs: number, jitter = 0): (retry: number) => number {
  return (n) => Math.round(baseMs * 2 ** n * (1 - jitter + Math.random() * 2 * jitter));
}

/** Run `attempt` until it succeeds, fails for good, runs out of retries or the signal aborts. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? sleepMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!options.shouldRetry(err) || n >= options.retries || options.signal?.aborted) throw err;
      const delayMs = options.delayMs(n);
      options.onRetry?.({ attempt: n + 1, error: err, delayMs });
      await sleep(delayMs);
      if (options.signal?.aborted) throw err;
    }
  }
}
