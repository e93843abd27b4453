import { describe, expect, it } from 'vitest';
import { bilinearGrid } from '../../backend/pipeline/bilinear-grid.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

/** The per-pixel bilinear sample cropResize used before bilinearGrid (one sample per output pixel). */
function reference(img: RgbImage, ox: number, oy: number, sx: number, sy: number, limW: number, limH: number, outW: number, outH: number): Uint8Array {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(outW * outH * 3);
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const acc = [0, 0, 0];
      const x = ox + (u + 0.5 / 1) * sx;
      const y = oy + (v + 0.5 / 1) * sy;
      if (!(x < 0 || y < 0 || x >= limW || y >= limH)) {
        const fx = Math.min(Math.max(x - 0.5, 0), w - 1);
        const fy = Math.min(Math.max(y - 0.5, 0), h - 1);
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const x1 = x0 + 1 < w ? x0 + 1 : x0;
        const y1 = y0 + 1 < h ? y0 + 1 : y0;
        const ax = fx - x0;
        const ay = fy - y0;
        const ws = [(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay];
        const is = [(y0 * w + x0) * 3, (y0 * w + x1) * 3, (y1 * w + x0) * 3, (y1 * w + x1) * 3];
        for (let c = 0; c < 3; c++) acc[c] += ws[0] * data[is[0] + c] + ws[1] * data[is[1] + c] + ws[2] * data[is[2] + c] + ws[3] * data[is[3] + c];
      }
      for (let c = 0; c < 3; c++) out[(v * outW + u) * 3 + c] = Math.round(acc[c] * (1 / 1));
    }
  }
  return out;
}

function noise(w: number, h: number, seed: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width: w, height: h, data };
}

describe('bilinearGrid', () => {
  it('equals the per-pixel bilinear path byte for byte (enlarging, shrinking < 1.5x, offsets, outside areas)', () => {
    const cases: Array<[number, number, number, number, number, number]> = [
      // src w, h, ox, oy, out w, out h
      [363, 512, 0, 0, 454, 640],
      [37, 23, 0, 0, 50, 31],
      [40, 30, -7.3, 4.2, 33, 29],
      [25, 25, 3.5, -10, 60, 45],
      [64, 48, 0, 0, 47, 40],
    ];
    cases.forEach(([w, h, ox, oy, ow, oh], k) => {
      const im = noise(w, h, k + 1);
      const sx = (w - Math.abs(ox)) / ow + 0.01 * k;
      const sy = (h - Math.abs(oy)) / oh;
      const got = bilinearGrid(im, ox, oy, sx, sy, w, h, ow, oh);
      expect(got.width).toBe(ow);
      expect(got.height).toBe(oh);
      expect(Buffer.from(got.data).equals(Buffer.from(reference(im, ox, oy, sx, sy, w, h, ow, oh)))).toBe(true);
    });
  });

  it('reads black past the limits', () => {
    const im: RgbImage = { width: 2, height: 2, data: new Uint8Array(12).fill(200) };
    const got = bilinearGrid(im, -2, 0, 1, 1, 2, 2, 4, 2);
    expect(Array.from(got.data.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(got.data.subarray(6, 12))).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
