import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { kthSmallest } from '../../backend/pipeline/order-stats.js';

describe('kthSmallest', () => {
  it('is the value a numeric sort puts at index k, duplicates and runs included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 60 }), fc.nat(), fc.boolean(), (values, kk, sorted) => {
        const a = Float64Array.from(sorted ? [...values].sort((x, y) => x - y) : values).map((v) => v / 4);
        const k = kk % a.length;
        const expected = a.slice().sort()[k];
        expect(kthSmallest(a, k)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects k outside the array', () => {
    expect(() => kthSmallest(new Float64Array(3), 3)).toThrow(RangeError);
    expect(() => kthSmallest(new Float64Array(0), 0)).toThrow(RangeError);
  });
});
