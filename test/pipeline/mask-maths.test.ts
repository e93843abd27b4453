import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  convexHull,
  countOn,
  distanceTransform,
  fillHoles,
  fillPolygon,
  morph,
  rasterizeDisks,
  signedDistance,
  squaredDistanceTransform,
} from '../../backend/pipeline/mask-raster.js';
import { signedDistanceSides } from '../../backend/pipeline/distance-field.js';
import { tightenMask, unionMask } from '../../backend/pipeline/mask-ops.js';
import { cropToImage, imageToCrop, pasteDistanceField, roiBounds, sampleField, warpCrop, type Roi } from '../../backend/pipeline/warp.js';
import type { RegionMask, RgbImage } from '../../backend/pipeline/types.js';

/** pasteDistanceField's reference: every pixel of the whole ROI window sampled, stepped as it steps, then tightened. */
function wholeRoiPaste(field: Float32Array, n: number, roi: Roi, W: number, H: number, grow: number): RegionMask {
  const b = roiBounds(roi);
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const w = Math.max(0, Math.min(W, Math.ceil(b.x + b.width)) - x0);
  const h = Math.max(0, Math.min(H, Math.ceil(b.y + b.height)) - y0);
  const data = new Uint8Array(w * h);
  const [c, s, k] = [Math.cos(roi.angle), Math.sin(roi.angle), n / roi.size];
  const p0 = imageToCrop(roi, n, x0 + 0.5, y0 + 0.5);
  for (let y = 0; y < h; y++) {
    let px = p0.x + s * k * y;
    let py = p0.y + c * k * y;
    for (let x = 0; x < w; x++) {
      const d = sampleField(field, n, n, px, py, -1e6) * (roi.size / n) + grow;
      data[y * w + x] = Math.round(Math.min(1, Math.max(0, d + 0.5)) * 255);
      px += c * k;
      py -= s * k;
    }
  }
  return tightenMask({ x: x0, y: y0, width: w, height: h, data });
}

/** A w x h mask, each pixel set with probability p, from a Lehmer generator seeded with `seed`: fast-check shrinks the seed, not 500 bits. */
function seededMask(w: number, h: number, seed: number, p: number): Uint8Array {
  let x = seed || 1;
  const m = new Uint8Array(w * h);
  for (let i = 0; i < m.length; i++) {
    x = (x * 48271) % 2147483647;
    m[i] = x / 2147483647 < p ? 1 : 0;
  }
  return m;
}

describe('distance fields', () => {
  it('distance transform matches brute force', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 48, maxLength: 48 }), (bits) => {
        const w = 8;
        const h = 6;
        const m = Uint8Array.from(bits.map((b) => (b ? 1 : 0)));
        if (countOn(m) === 0) return;
        const dt = distanceTransform(m, w, h);
        for (let i = 0; i < w * h; i++) {
          let best = Infinity;
          for (let j = 0; j < w * h; j++) {
            if (m[j]) best = Math.min(best, Math.hypot((i % w) - (j % w), Math.floor(i / w) - Math.floor(j / w)));
          }
          expect(dt[i]).toBeCloseTo(best, 4);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('signed distance matches brute force, rows and columns without one side included', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 63, maxLength: 63 }), fc.integer({ min: 0, max: 8 }), (bits, clearRow) => {
        const w = 9;
        const h = 7;
        const m = Uint8Array.from(bits.map((b) => (b ? 1 : 0)));
        if (clearRow < h) m.fill(0, clearRow * w, clearRow * w + w);
        const on = countOn(m);
        if (on === 0 || on === w * h) return;
        const sd = signedDistance(m, w, h);
        for (let i = 0; i < w * h; i++) {
          let best = Infinity;
          for (let j = 0; j < w * h; j++) {
            if (!m[j] !== !m[i]) best = Math.min(best, Math.hypot((i % w) - (j % w), Math.floor(i / w) - Math.floor(j / w)));
          }
          expect(sd[i]).toBeCloseTo(m[i] ? best - 0.5 : 0.5 - best, 4);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('signed distance equals, to the bit, the plain field from two whole-image transforms, over calls of mixed sizes (its buffers are reused)', () => {
    const reference = (m: Uint8Array, w: number, h: number): Float32Array => {
      const toSet = squaredDistanceTransform(m, w, h);
      const toClear = squaredDistanceTransform(m.map((v) => (v ? 0 : 1)), w, h);
      return Float32Array.from(m, (v, i) => (v ? Math.sqrt(toClear[i]) - 0.5 : 0.5 - Math.sqrt(toSet[i])));
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0.05, max: 0.95 }), (w, h, seed, p) => {
        const m = seededMask(w, h, seed, p);
        const on = countOn(m);
        if (on === 0 || on === w * h) return;
        expect(signedDistance(m, w, h)).toEqual(reference(m, w, h));
      }),
      { numRuns: 300 },
    );
  });

  it('signedDistanceSides is signedDistance, to the bit, on its side (in the rows asked for) and 0 elsewhere; morph thresholds the full field', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0, max: 1 }), fc.double({ min: -30, max: 30 }), fc.integer({ min: -2, max: 26 }), (w, h, seed, p, r, rows) => {
        const m = seededMask(w, h, seed, p);
        const sd = signedDistance(m, w, h);
        const uniform = countOn(m) === 0 || countOn(m) === m.length;
        expect(signedDistanceSides(m, w, h, 'both')).toEqual(sd);
        expect(signedDistanceSides(m, w, h, 'outside')).toEqual(uniform ? sd : sd.map((v, i) => (m[i] ? 0 : v)));
        expect(signedDistanceSides(m, w, h, 'inside')).toEqual(uniform ? sd : sd.map((v, i) => (m[i] ? v : 0)));
        const above = (i: number): boolean => Math.floor(i / w) < rows;
        for (const side of ['outside', 'inside', 'both'] as const) {
          const read = (i: number): boolean => above(i) && (side === 'both' || (side === 'inside') === (m[i] !== 0));
          expect(signedDistanceSides(m, w, h, side, rows), side).toEqual(uniform ? sd : sd.map((v, i) => (read(i) ? v : 0)));
        }
        const expected = r === 0 ? m : Uint8Array.from(sd, (v) => (v + r > 0 ? 1 : 0));
        expect(morph(m, w, h, r)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('signed distance is positive inside and negative outside', () => {
    const m = rasterizeDisks([{ x: 10, y: 10 }], 5, 20, 20);
    const sd = signedDistance(m, 20, 20);
    expect(sd[10 * 20 + 10]).toBeGreaterThan(3);
    expect(sd[0]).toBeLessThan(-5);
  });

  it('grow then shrink of a disk keeps its area within a few percent', () => {
    const m = rasterizeDisks([{ x: 32, y: 32 }], 12, 64, 64);
    const grown = morph(m, 64, 64, 4);
    expect(countOn(grown)).toBeGreaterThan(countOn(m) * 1.5);
    const back = morph(grown, 64, 64, -4);
    expect(Math.abs(countOn(back) - countOn(m)) / countOn(m)).toBeLessThan(0.05);
  });
});

describe('holes', () => {
  /** Reference: flood the whole image's background from its border, then invert. */
  function fillHolesReference(m: Uint8Array, w: number, h: number): Uint8Array {
    const outside = new Uint8Array(w * h);
    const stack: number[] = [];
    const push = (x: number, y: number) => {
      const i = y * w + x;
      if (x >= 0 && y >= 0 && x < w && y < h && !m[i] && !outside[i]) {
        outside[i] = 1;
        stack.push(i);
      }
    };
    for (let x = 0; x < w; x++) [push(x, 0), push(x, h - 1)];
    for (let y = 0; y < h; y++) [push(0, y), push(w - 1, y)];
    while (stack.length) {
      const i = stack.pop() as number;
      const [x, y] = [i % w, Math.floor(i / w)];
      [push(x - 1, y), push(x + 1, y), push(x, y - 1), push(x, y + 1)];
    }
    return outside.map((v) => 1 - v);
  }

  it('fillHoles equals a whole-image flood from the border, at any size and density', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 14 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (w, h, density, seed) => {
        let s = seed >>> 0;
        const m = Uint8Array.from({ length: w * h }, () => (((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) < density ? 1 : 0));
        expect(fillHoles(m, w, h)).toEqual(fillHolesReference(m, w, h));
      }),
      { numRuns: 500 },
    );
  });
});

describe('polygons and holes', () => {
  it('fills a square polygon exactly at pixel centres', () => {
    const m = fillPolygon([{ x: 2, y: 2 }, { x: 6, y: 2 }, { x: 6, y: 6 }, { x: 2, y: 6 }], 10, 10);
    expect(countOn(m)).toBe(16);
    expect(m[2 * 10 + 2]).toBe(1);
    expect(m[6 * 10 + 6]).toBe(0);
  });

  it('convex hull of a grid is its four corners', () => {
    const pts = [];
    for (let x = 0; x <= 4; x++) for (let y = 0; y <= 4; y++) pts.push({ x, y });
    expect(convexHull(pts)).toHaveLength(4);
  });

  it('fills a ring into a disk but not a C shape open to the border', () => {
    const w = 20;
    const ring = new Uint8Array(w * w);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) {
      const r = Math.hypot(x - 10, y - 10);
      if (r >= 5 && r < 7) ring[y * w + x] = 1;
    }
    const filled = fillHoles(ring, w, w);
    expect(filled[10 * w + 10]).toBe(1);
    const open = ring.slice();
    for (let x = 10; x < w; x++) for (let y = 9; y <= 11; y++) open[y * w + x] = 0;
    expect(fillHoles(open, w, w)[10 * w + 10]).toBe(0);
  });
});

describe('crop and paste-back', () => {
  it('crop and image coordinates invert each other under rotation', () => {
    const roi = { center: { x: 100, y: 80 }, size: 64, angle: 0.4 };
    const p = cropToImage(roi, 32, 7, 21);
    const q = imageToCrop(roi, 32, p.x, p.y);
    expect(q.x).toBeCloseTo(7);
    expect(q.y).toBeCloseTo(21);
  });

  it('an unrotated crop at scale 1 copies pixels', () => {
    const w = 16;
    const data = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) data[i * 3] = i % 256;
    const img: RgbImage = { width: w, height: w, data };
    const crop = warpCrop(img, { center: { x: 8, y: 8 }, size: 8, angle: 0 }, 8);
    // crop (0,0) is image pixel (4,4)
    expect(crop.data[0]).toBe(4 * w + 4);
    expect(crop.data[(7 * 8 + 7) * 3]).toBe(11 * w + 11);
  });

  it('pastes a crop-space disk back to the right place and size, with soft edges', () => {
    const size = 64;
    const field = signedDistance(rasterizeDisks([{ x: 32, y: 32 }], 16, size, size), size, size);
    const roi = { center: { x: 200, y: 150 }, size: 128, angle: 0.3 };
    const m = pasteDistanceField(field, size, roi, 400, 300);
    const full = unionMask([m], 400, 300);
    let on = 0;
    let partial = 0;
    for (const v of full) {
      if (v >= 128) on++;
      if (v > 0 && v < 255) partial++;
    }
    // radius 16 crop px * 2 image px per crop px = 32 px
    expect(on / (Math.PI * 32 * 32)).toBeGreaterThan(0.95);
    expect(on / (Math.PI * 32 * 32)).toBeLessThan(1.05);
    expect(full[150 * 400 + 200]).toBe(255);
    expect(partial).toBeGreaterThan(0);
    const b = roiBounds(roi);
    expect(m.x).toBeGreaterThanOrEqual(Math.floor(b.x));
  });

  it('samples only where the field can paint: the same mask as sampling the whole ROI', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 4, max: 40 }),
          cx: fc.double({ min: 0, max: 1, noNaN: true }),
          cy: fc.double({ min: 0, max: 1, noNaN: true }),
          r: fc.double({ min: 0.5, max: 30, noNaN: true }),
          x: fc.double({ min: -40, max: 140, noNaN: true }),
          y: fc.double({ min: -40, max: 140, noNaN: true }),
          size: fc.double({ min: 3, max: 200, noNaN: true }),
          angle: fc.double({ min: -4, max: 4, noNaN: true }),
          grow: fc.double({ min: -5, max: 5, noNaN: true }),
        }),
        ({ n, cx, cy, r, x, y, size, angle, grow }) => {
          const field = signedDistance(rasterizeDisks([{ x: cx * n, y: cy * n }], r, n, n), n, n);
          const roi = { center: { x, y }, size, angle };
          expect(pasteDistanceField(field, n, roi, 100, 80, grow)).toEqual(wholeRoiPaste(field, n, roi, 100, 80, grow));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('paints 255 without sampling only where sampling gives 255: fields at and around the solid depth', () => {
    // the whole-ROI reference on fields whose values sit at, just under and just over (1 - grow) / scale
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 2, max: 24 }),
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
          x: fc.double({ min: 0, max: 60, noNaN: true }),
          y: fc.double({ min: 0, max: 60, noNaN: true }),
          size: fc.double({ min: 2, max: 120, noNaN: true }),
          angle: fc.double({ min: -4, max: 4, noNaN: true }),
          grow: fc.double({ min: -3, max: 3, noNaN: true }),
        }),
        ({ n, seed, x, y, size, angle, grow }) => {
          const depth = (1 - grow) / (size / n);
          let state = seed;
          const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          const field = Float32Array.from({ length: n * n }, () => {
            const u = next();
            return u < 0.5 ? depth : u < 0.65 ? depth * (1 - 1e-7) - 1e-7 : u < 0.8 ? depth + 0.3 : depth - 2 * next();
          });
          const roi = { center: { x, y }, size, angle };
          expect(pasteDistanceField(field, n, roi, 70, 60, grow)).toEqual(wholeRoiPaste(field, n, roi, 70, 60, grow));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('clips masks at the image border', () => {
    const field = new Float32Array(16 * 16).fill(10);
    const m = pasteDistanceField(field, 16, { center: { x: 0, y: 0 }, size: 20, angle: 0 }, 50, 50);
    expect(m.x).toBe(0);
    expect(m.width).toBeLessThanOrEqual(10);
    expect(tightenMask(m).width).toBe(m.width);
  });
});
