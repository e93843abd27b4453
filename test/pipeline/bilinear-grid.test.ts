import { describe, expect, it } from 'vitest';
import { bilinearGrid, type GridSpec } from '../../backend/pipeline/bilinear-grid.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

/** One bilinear sample as cropResize took it before bilinearGrid: adds the 3 channel values to acc. */
function sample(img: RgbImage, x: number, y: number, limW: number, limH: number, acc: number[]): void {
  const { width: w, height: h, data } = img;
  if (x < 0 || y < 0 || x >= limW || y >= limH) return;
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

/** The per-sample path: nx x ny samples per output pixel, averaged. */
function reference(img: RgbImage, g: GridSpec): Uint8Array {
  const out = new Uint8Array(g.outW * g.outH * 3);
  for (let v = 0; v < g.outH; v++) {
    for (let u = 0; u < g.outW; u++) {
      const acc = [0, 0, 0];
      for (let j = 0; j < g.ny; j++) {
        for (let i = 0; i < g.nx; i++) sample(img, g.ox + (u + (i + 0.5) / g.nx) * g.sx, g.oy + (v + (j + 0.5) / g.ny) * g.sy, g.limW, g.limH, acc);
      }
      for (let c = 0; c < 3; c++) out[(v * g.outW + u) * 3 + c] = Math.round(acc[c] * (1 / (g.nx * g.ny)));
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
  it('equals the per-sample bilinear path byte for byte (enlarging, shrinking, 1 or 2 samples per axis, offsets, outside areas)', () => {
    const cases: Array<[number, number, number, number, number, number]> = [
      // src w, h, ox, oy, out w, out h
      [363, 512, 0, 0, 454, 640],
      [37, 23, 0, 0, 50, 31],
      [40, 30, -7.3, 4.2, 33, 29],
      [25, 25, 3.5, -10, 60, 45],
      [64, 48, 0, 0, 47, 40],
      [363, 512, 0, 0, 227, 320],
      [90, 70, -3, 2, 40, 44],
    ];
    cases.forEach(([w, h, ox, oy, ow, oh], k) => {
      const im = noise(w, h, k + 1);
      const sx = (w - Math.abs(ox)) / ow + 0.01 * k;
      const sy = (h - Math.abs(oy)) / oh;
      const g: GridSpec = { ox, oy, sx, sy, limW: w, limH: h, outW: ow, outH: oh, nx: sx > 1.5 ? 2 : 1, ny: sy > 1.5 ? 2 : 1 };
      const got = bilinearGrid(im, g);
      expect(got.width).toBe(ow);
      expect(got.height).toBe(oh);
      expect(Buffer.from(got.data).equals(Buffer.from(reference(im, g)))).toBe(true);
    });
  });

  it('reads black past the limits', () => {
    const im: RgbImage = { width: 2, height: 2, data: new Uint8Array(12).fill(200) };
    const got = bilinearGrid(im, { ox: -2, oy: 0, sx: 1, sy: 1, limW: 2, limH: 2, outW: 4, outH: 2, nx: 1, ny: 1 });
    expect(Array.from(got.data.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(got.data.subarray(6, 12))).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
