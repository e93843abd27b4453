import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBinary, encodeBinary } from '@thi.ng/rle-pack';
import {
  decodeRle,
  encodeRle,
  encodeRuns,
  hitsFinalRunBug,
  maskToRgba,
  maskToRle,
  paintRegions,
  RleError,
  regionsToRgba,
  regionsToRle,
  rleToMask,
  wordRuns,
} from '../../backend/labelstudio/brush-rle.js';

// Test vectors from /work/shared/LABEL_STUDIO.md (mask value per pixel, expanded to RGBA).
const VECTORS: Array<{ mask: number[]; w: number; h: number; rle: number[] }> = [
  { mask: [255, 0, 0, 255], w: 2, h: 2, rle: [0, 0, 0, 16, 57, 27, 252, 127, 243, 128, 71, 254] },
  { mask: [0, 255, 255], w: 3, h: 1, rle: [0, 0, 0, 12, 57, 27, 252, 96, 19, 255, 128] },
  { mask: [255], w: 1, h: 1, rle: [0, 0, 0, 4, 57, 27, 252, 127, 224] },
  { mask: new Array(16).fill(0), w: 4, h: 4, rle: [0, 0, 0, 64, 57, 27, 254, 63, 0] },
  { mask: new Array(10000).fill(0), w: 100, h: 100, rle: [0, 0, 156, 64, 57, 27, 255, 156, 63, 0] },
];

describe('brush RLE test vectors', () => {
  for (const v of VECTORS) {
    it(`${v.w}x${v.h} via the mask fast path`, () => {
      expect(maskToRle(v.mask, v.w, v.h)).toEqual(v.rle);
    });
    it(`${v.w}x${v.h} via @thi.ng/rle-pack`, () => {
      expect(encodeRle(maskToRgba(v.mask))).toEqual(v.rle);
    });
    it(`${v.w}x${v.h} decodes back`, () => {
      expect(Array.from(rleToMask(v.rle, v.w, v.h))).toEqual(v.mask);
      // the Python encoder appends one more zero byte: still decodes the same
      expect(Array.from(rleToMask([...v.rle, 0], v.w, v.h))).toEqual(v.mask);
    });
  }
  it('header bytes 4-5 are always 57,27', () => {
    expect(maskToRle([0, 255], 2, 1).slice(4, 6)).toEqual([57, 27]);
  });
});

const maskArb = fc
  .record({ w: fc.integer({ min: 1, max: 40 }), h: fc.integer({ min: 1, max: 40 }), density: fc.double({ min: 0, max: 1, noNaN: true }) })
  .chain(({ w, h, density }) =>
    fc
      .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: w * h, maxLength: w * h })
      .map((r) => ({ w, h, mask: Uint8Array.from(r, (x) => (x < density ? 255 : 0)) })),
  );

describe('brush RLE round trips (fast-check)', () => {
  it('fast path equals @thi.ng/rle-pack byte for byte and decodes to the mask', () => {
    fc.assert(
      fc.property(maskArb, ({ w, h, mask }) => {
        const rle = maskToRle(mask, w, h);
        const rgba = maskToRgba(mask);
        expect(rle).toEqual(Array.from(encodeBinary(rgba, rgba.length, 8, [3, 4, 8, 16])));
        expect(Array.from(decodeBinary(Uint8Array.from(rle)))).toEqual(Array.from(rgba));
        expect(Array.from(rleToMask(rle, w, h))).toEqual(Array.from(mask));
      }),
      { numRuns: 300 },
    );
  });

  it('long runs (> 65536 words) match rle-pack', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 1, max: 300 }), (k, a, b) => {
        const w = 256;
        const h = Math.ceil((16384 * k + a + b) / w);
        const mask = new Uint8Array(w * h);
        mask.fill(255, a, a + 16384 * k + b);
        const rle = maskToRle(mask, w, h);
        const rgba = maskToRgba(mask);
        expect(rle).toEqual(Array.from(encodeBinary(rgba, rgba.length, 8, [3, 4, 8, 16])));
        expect(rleToMask(rle, w, h)).toEqual(mask);
      }),
      { numRuns: 25 },
    );
  });

  it('generic words (literals and repeats) round-trip through encodeRle / encodeRuns', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 400 }), (words) => {
        const arr = Uint8Array.from(words);
        expect(Array.from(decodeRle(encodeRle(arr)))).toEqual(words);
        expect(Array.from(decodeBinary(encodeRuns(wordRuns(arr), arr.length)))).toEqual(words);
      }),
      { numRuns: 300 },
    );
  });
});

describe('k*65536+1 final-run guard', () => {
  for (const k of [1, 2]) {
    it(`final run of ${k}*65536+1 words keeps its last word`, () => {
      const words = new Uint8Array(3 + k * 65536 + 1);
      words.set([7, 8, 9]);
      words.fill(5, 3);
      // the bug this guards against: rle-pack alone loses the last word, so its
      // output either decodes short of the last word or reads past the end
      let intact: boolean;
      try {
        const raw = decodeBinary(encodeBinary(words, words.length, 8, [3, 4, 8, 16]));
        intact = raw[raw.length - 1] === 5;
      } catch {
        intact = false;
      }
      expect(intact).toBe(false);
      expect(hitsFinalRunBug(words)).toBe(true);
      const decoded = decodeRle(encodeRle(words));
      expect(decoded.length).toBe(words.length);
      expect(decoded).toEqual(words);
    });
  }
  it('does not flag safe runs', () => {
    expect(hitsFinalRunBug(new Uint8Array(65536))).toBe(false);
    expect(hitsFinalRunBug(new Uint8Array(65538))).toBe(false);
    expect(hitsFinalRunBug(new Uint8Array(65537))).toBe(true);
    expect(hitsFinalRunBug(maskToRgba(new Uint8Array(65537)))).toBe(false);
  });
});

describe('region masks', () => {
  it('paints alpha >= 128 as 255, clips to the image, unions regions', () => {
    const region = { x: -1, y: 1, width: 3, height: 2, data: Uint8Array.from([255, 128, 127, 0, 200, 255]) };
    const other = { x: 3, y: 0, width: 1, height: 1, data: Uint8Array.from([255]) };
    const m = paintRegions([region, other], 4, 3);
    expect(Array.from(m)).toEqual([0, 0, 0, 255, 128 >= 128 ? 255 : 0, 0, 0, 0, 255, 255, 0, 0]);
    const rgba = regionsToRgba([region, other], 4, 3);
    expect(rgba.length).toBe(4 * 3 * 4);
    expect(Array.from(rgba.slice(12, 16))).toEqual([255, 255, 255, 255]);
    expect(rleToMask(regionsToRle([region, other], 4, 3), 4, 3)).toEqual(m);
  });

  it('rejects wrong sizes', () => {
    expect(() => maskToRle([0, 0, 0], 2, 2)).toThrow(RleError);
    expect(() => rleToMask(maskToRle([0, 0, 0, 0], 2, 2), 3, 2)).toThrow(/expected 3x2x4/);
  });
});
