import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boxMean } from '../../backend/pipeline/box-filter.js';

/** The clipped (2r+1)^2 mean, separable, each window summed from 0 in index order. */
function reference(f: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(f.length);
  const out = new Float32Array(f.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(w - 1, x + r); k++, c++) s += f[y * w + k];
      tmp[y * w + x] = s / c;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(h - 1, y + r); k++, c++) s += tmp[k * w + x];
      out[y * w + x] = s / c;
    }
  }
  return out;
}

describe('boxMean', () => {
  it('equals the plain clipped mean float for float, at any size and radius', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (w, h, r, seed) => {
        const f = new Float32Array(w * h);
        let s = seed >>> 0;
        for (let i = 0; i < f.length; i++) f[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 100;
        expect(boxMean(f, w, h, r)).toEqual(reference(f, w, h, r));
      }),
      { numRuns: 300 },
    );
  });
});
