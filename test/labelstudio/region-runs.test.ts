import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { maskToRle, paintRegions, regionsToRle } from '../../backend/labelstudio/brush-rle.js';
import { regionRuns } from '../../backend/labelstudio/region-runs.js';
import type { RegionMask } from '../../backend/pipeline/types.js';

const regionArb = fc
  .record({ x: fc.integer({ min: -6, max: 20 }), y: fc.integer({ min: -6, max: 14 }), width: fc.integer({ min: 0, max: 12 }), height: fc.integer({ min: 0, max: 9 }) })
  .chain((b) =>
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: b.width * b.height, maxLength: b.width * b.height }).map((v): RegionMask => ({ ...b, data: Uint8Array.from(v) })),
  );

describe('region runs', () => {
  it('are the maximal runs of the painted full-image mask', () => {
    fc.assert(
      fc.property(fc.array(regionArb, { maxLength: 3 }), fc.integer({ min: 1, max: 18 }), fc.integer({ min: 1, max: 10 }), (regions, w, h) => {
        const painted = paintRegions(regions, w, h);
        const runs = regionRuns(regions, w, h, 128);
        const expanded: number[] = runs.flatMap(([length, on]) => new Array<number>(length).fill(on ? 255 : 0));
        expect(expanded).toEqual(Array.from(painted));
        for (let k = 1; k < runs.length; k++) expect(runs[k][1]).not.toBe(runs[k - 1][1]);
        expect(regionsToRle(regions, w, h)).toEqual(maskToRle(painted, w, h));
      }),
      { numRuns: 400 },
    );
  });

  it('an image no region touches is one off run', () => {
    expect(regionRuns([{ x: 50, y: 0, width: 2, height: 2, data: new Uint8Array(4).fill(255) }], 10, 4, 128)).toEqual([[40, false]]);
  });
});
