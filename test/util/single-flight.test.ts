import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../backend/util/single-flight.js';

describe('singleFlight', () => {
  it('shares one run between callers, reuses the answer within the TTL, runs again after it', async () => {
    let t = 1000;
    let calls = 0;
    let release!: (v: number) => void;
    const get = singleFlight(
      () => {
        calls++;
        return new Promise<number>((r) => (release = r));
      },
      { ttlMs: 5000, now: () => t },
    );
    const a = get();
    const b = get();
    expect(calls).toBe(1);
    release(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    t += 4999;
    expect(await get()).toBe(7);
    expect(calls).toBe(1);
    t += 1;
    const c = get();
    expect(calls).toBe(2);
    release(8);
    expect(await c).toBe(8);
  });

  it('does not keep a failure: the next caller runs again', async () => {
    let calls = 0;
    const get = singleFlight(
      async () => {
        calls++;
        if (calls === 1) throw new Error('store down');
        return 'ok';
      },
      { ttlMs: 60_000 },
    );
    await expect(get()).rejects.toThrow('store down');
    expect(await get()).toBe('ok');
    expect(calls).toBe(2);
  });
});
