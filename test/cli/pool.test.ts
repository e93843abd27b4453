import { describe, expect, it } from 'vitest';
import { runPool, serializer } from '../../backend/cli/pool.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('runPool', () => {
  it('runs every item with at most n in flight', async () => {
    const items = [1, 2, 3, 4, 5, 6, 7];
    let i = 0;
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await runPool(
      async () => items[i++],
      3,
      async (n) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await tick();
        done.push(n);
        inFlight--;
      },
      () => false,
    );
    expect(done.sort((a, b) => a - b)).toEqual(items);
    expect(most).toBe(3);
  });

  it('takes no new item once stop() is true', async () => {
    let i = 0;
    const done: number[] = [];
    await runPool(async () => i++, 1, async (n) => void done.push(n), () => done.length >= 2);
    expect(done).toEqual([0, 1]);
  });
});

describe('serializer', () => {
  it('runs one function at a time, in call order, and a failure does not block the next', async () => {
    const serial = serializer();
    const log: string[] = [];
    const job = (name: string, fail = false) =>
      serial(async () => {
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
