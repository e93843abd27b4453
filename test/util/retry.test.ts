import { afterEach, describe, expect, it, vi } from 'vitest';
import { exponentialDelay, withRetry, type RetryOptions } from '../../backend/util/retry.js';

class Flaky extends Error {}

/** An attempt that fails with `errors` in turn, then answers 'ok'. */
function script(errors: Error[]) {
  const calls: number[] = [];
  const attempt = async (n: number) => {
    calls.push(n);
    const e = errors[calls.length - 1];
    if (e) throw e;
    return 'ok';
  };
  return { attempt, calls };
}

function opts(extra: Partial<RetryOptions> = {}): RetryOptions & { slept: number[] } {
  const slept: number[] = [];
  return {
    retries: 2,
    delayMs: exponentialDelay(10),
    shouldRetry: (e) => e instanceof Flaky,
    sleep: async (ms) => void slept.push(ms),
    slept,
    ...extra,
  };
}

afterEach(() => vi.restoreAllMocks());

describe('withRetry', () => {
  it('retries retryable failures with doubling waits, then returns', async () => {
    const s = script([new Flaky('a'), new Flaky('b')]);
    const o = opts();
    expect(await withRetry(s.attempt, o)).toBe('ok');
    expect(s.calls).toEqual([0, 1, 2]);
    expect(o.slept).toEqual([10, 20]);
  });

  it('throws the last failure once the retries are used up', async () => {
    const last = new Flaky('third');
    const s = script([new Flaky('1'), new Flaky('2'), last]);
    const o = opts();
    await expect(withRetry(s.attempt, o)).rejects.toBe(last);
    expect(s.calls).toHaveLength(3);
  });

  it('throws a failure that is not retryable at once, without waiting', async () => {
    const fatal = new Error('404');
    const s = script([fatal]);
    const o = opts();
    await expect(withRetry(s.attempt, o)).rejects.toBe(fatal);
    expect(s.calls).toEqual([0]);
    expect(o.slept).toEqual([]);
  });

  it('starts no attempt after the signal aborts during a wait', async () => {
    const controller = new AbortController();
    const first = new Flaky('first');
    const s = script([first, new Flaky('never')]);
    const o = opts({ signal: controller.signal, sleep: async () => controller.abort() });
    await expect(withRetry(s.attempt, o)).rejects.toBe(first);
    expect(s.calls).toEqual([0]);
  });

  it('tells onRetry the attempt number, error and wait', async () => {
    const e = new Flaky('x');
    const seen: unknown[] = [];
    const s = script([e]);
    await withRetry(s.attempt, opts({ onRetry: (info) => seen.push(info) }));
    expect(seen).toEqual([{ attempt: 1, error: e, delayMs: 10 }]);
  });
});

describe('exponentialDelay', () => {
  it('doubles from the base without jitter', () => {
    const d = exponentialDelay(300);
    expect([0, 1, 2, 3].map(d)).toEqual([300, 600, 1200, 2400]);
  });

  it('jitter spreads each wait over [1 - j, 1 + j] of it', () => {
    const d = exponentialDelay(500, 0.25);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect([d(0), d(2)]).toEqual([375, 1500]);
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    expect([d(0), d(2)]).toEqual([625, 2500]);
  });
});
