// The bilinear pass of cropResize (1 or 2 samples per output pixel and axis),
// with the taps and weights of each output column and row computed once
// instead of once per sample. Same arithmetic in the same order, so the bytes
// equal the per-sample path's; about 2x faster on the detector's and the
// keypoint model's letterboxes, which every image pays for.
import { roundHalfUp } from '../util/num.js';
import type { RgbImage } from './types.js';

interface Axis {
  /** Byte offsets (times `unit`) of the two taps of each sample position; -1: outside, reads 0. */
  i0: Int32Array;
  i1: Int32Array;
  /** Weights of the taps: 1 - a and a. */
  w0: Float64Array;
  w1: Float64Array;
}

/**
 * Taps along one axis: sample s of output position k (index k * sub + s) sits
 * at origin + (k + (s + 0.5) / sub) * step, clamped to [0, size - 1] after the
 * half-pixel shift.
 */
function axis(n: number, sub: number, origin: number, step: number, size: number, lim: number, unit: number): Axis {
  const m = n * sub;
  const a: Axis = { i0: new Int32Array(m), i1: new Int32Array(m), w0: new Float64Array(m), w1: new Float64Array(m) };
  for (let k = 0; k < n; k++) {
    for (let s = 0; s < sub; s++) {
      const j = k * sub + s;
      const p = origin + (k + (s + 0.5) / sub) * step;
      if (p < 0 || p >= lim) {
        a.i0[j] = -1;
        continue;
      }
      let f = p - 0.5;
      if (f < 0) f = 0;
      if (f > size - 1) f = size - 1;
      const p0 = Math.floor(f);
      const p1 = p0 + 1 < size ? p0 + 1 : p0;
      const t = f - p0;
      a.i0[j] = p0 * unit;
      a.i1[j] = p1 * unit;
      a.w0[j] = 1 - t;
      a.w1[j] = t;
    }
  }
  return a;
}

/** Where to resample: output pixel (u, v) averages nx x ny samples around (ox + (u + 0.5) * sx, oy + (v + 0.5) * sy). */
export interface GridSpec {
  ox: number;
  oy: number;
  sx: number;
  sy: number;
  /** Samples outside [0, limW) x [0, limH) are black; inside, they clamp to the edge pixels. */
  limW: number;
  limH: number;
  outW: number;
  outH: number;
  nx: 1 | 2;
  ny: 1 | 2;
}

/** Bilinear resample of `img` on the grid `g`. */
export function bilinearGrid(img: RgbImage, g: GridSpec): RgbImage {
  const { width: w, height: h, data } = img;
  const { i0: ci0, i1: ci1, w0: cw0, w1: cw1 } = axis(g.outW, g.nx, g.ox, g.sx, w, g.limW, 3);
  const rows = axis(g.outH, g.ny, g.oy, g.sy, h, g.limH, w * 3);
  const { nx, ny, outW } = g;
  const inv = 1 / (nx * ny);
  const out = new Uint8Array(outW * g.outH * 3);
  for (let v = 0; v < g.outH; v++) {
    let o = v * outW * 3;
    for (let u = 0; u < outW; u++, o += 3) {
      let r = 0;
      let gr = 0;
      let b = 0;
      for (let j = v * ny; j < (v + 1) * ny; j++) {
        const r0 = rows.i0[j];
        if (r0 < 0) continue;
        const r1 = rows.i1[j];
        const by = rows.w0[j];
        const ay = rows.w1[j];
        for (let i = u * nx; i < (u + 1) * nx; i++) {
          const c0 = ci0[i];
          if (c0 < 0) continue;
          const c1 = ci1[i];
          // the per-sample path's weights and sum order, exactly
          const w00 = cw0[i] * by;
          const w01 = cw1[i] * by;
          const w10 = cw0[i] * ay;
          const w11 = cw1[i] * ay;
          const i00 = r0 + c0;
          const i01 = r0 + c1;
          const i10 = r1 + c0;
          const i11 = r1 + c1;
          r += w00 * data[i00] + w01 * data[i01] + w10 * data[i10] + w11 * data[i11];
          gr += w00 * data[i00 + 1] + w01 * data[i01 + 1] + w10 * data[i10 + 1] + w11 * data[i11 + 1];
          b += w00 * data[i00 + 2] + w01 * data[i01 + 2] + w10 * data[i10 + 2] + w11 * data[i11 + 2];
        }
      }
      out[o] = roundHalfUp(r * inv);
      out[o + 1] = roundHalfUp(gr * inv);
      out[o + 2] = roundHalfUp(b * inv);
    }
  }
  return { width: outW, height: g.outH, data: out };
}
