// One computation shared by every caller while it runs, and its answer kept
// for a short while: for expensive read-only views that anyone may reload
// (the team page reads every correction of up to 50 projects).

export interface SingleFlightOptions {
  /** How long a finished answer is served again, in ms. */
  ttlMs: number;
  now?: () => number;
}

/** `fn` runs at most once at a time; an answer younger than `ttlMs` is reused; a failure is not kept. */
export function singleFlight<T>(fn: () => Promise<T>, options: SingleFlightOptions): () => Promise<T> {
  const now = options.now ?? Date.now;
  let inFlight: Promise<T> | undefined;
  let kept: { value: T; at: number } | undefined;
  return () => {
    if (kept && now() - kept.at < options.ttlMs) return Promise.resolve(kept.value);
    if (inFlight) return inFlight;
    const run = fn().then(
      (value) => {
        kept = { value, at: now() };
        inFlight = undefined;
        return value;
      },
      (err: unknown) => {
        inFlight = undefined;
        throw err;
      },
    );
    inFlight = run;
    return run;
  };
}
