import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { auroc } from '../../backend/eval/auroc.js';

/** The definition, O(n^2): P(positive ranks above negative) + half the ties. */
function bruteForce(s: number[], y: boolean[]): number | undefined {
  let wins = 0;
  let pairs = 0;
  s.forEach((a, i) =>
    s.forEach((b, j) => {
      if (y[i] && !y[j]) {
        pairs++;
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
    }),
  );
  return pairs ? wins / pairs : undefined;
}

describe('auroc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties', () => {
    expect(auroc([0.9, 0.8, 0.1, 0.2], [true, true, false, false])).toBe(1);
    expect(auroc([0.1, 0.2, 0.9, 0.8], [true, true, false, false])).toBe(0);
    expect(auroc([0.5, 0.5, 0.5], [true, false, false])).toBe(0.5);
  });

  it('a worked example with a tie', () => {
    // pairs (pos, neg): (3,1) win, (3,2) win, (2,1) win, (2,2) tie -> 3.5 / 4
    expect(auroc([3, 2, 1, 2], [true, true, false, false])).toBeCloseTo(0.875, 12);
  });

  it('is undefined without both classes, and refuses mismatched lengths', () => {
    expect(auroc([1, 2], [true, true])).toBeUndefined();
    expect(auroc([], [])).toBeUndefined();
    expect(() => auroc([1], [true, false])).toThrow(RangeError);
  });

  it('matches the pairwise definition on random data (ties included)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { maxLength: 40 }), (rows) => {
        const s = rows.map((r) => r[0] / 5);
        const y = rows.map((r) => r[1]);
        const a = auroc(s, y);
        const b = bruteForce(s, y);
        if (b === undefined) return a === undefined;
        return a !== undefined && Math.abs(a - b) < 1e-12;
      }),
    );
  });
});
