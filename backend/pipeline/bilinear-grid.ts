// The one-sample-per-pixel bilinear pass of cropResize (no supersampling),
// with the taps and weights of each output column and row computed once
// instead of once per pixel. Same arithmetic in the same order, so the bytes
// equal the per-pixel path's; about 4x faster on a letterboxed portrait,
// which the face detector enlarges on every image.
import type { RgbImage } from './types.js';

interface Axis {
  /** Byte offsets (times `unit`) of the two taps of each output position; -1: outside, reads 0. */
  i0: Int32Array;
  i1: Int32Array;
  /** Weights of the taps: 1 - a and a. */
  w0: Float64Array;
  w1: Float64Array;
}

/** Taps along one axis: position k samples at origin + (k + 0.5) * step, clamped to [0, size - 1] after the half-pixel shift. */
function axis(n: number, origin: number, step: number, size: number, lim: number, unit: number): Axis {
  const a: Axis = { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float64Array(n), w1: new Float64Array(n) };
  for (let k = 0; k < n; k++) {
    const p = origin + (k + 0.5) * step;
    if (p < 0 || p >= lim) {
      a.i0[k] = -1;
      continue;
    }
    let f = p - 0.5;
    if (f < 0) f = 0;
    if (f > size - 1) f = size - 1;
    const p0 = Math.floor(f);
    const p1 = p0 + 1 < size ? p0 + 1 : p0;
    const t = f - p0;
    a.i0[k] = p0 * unit;
    a.i1[k] = p1 * unit;
    a.w0[k] = 1 - t;
    a.w1[k] = t;
  }
  return a;
}

/**
 * Bilinear resample of `img` to outW x outH: output pixel (u, v) samples the
 * continuous point (ox + (u + 0.5) * sx, oy + (v + 0.5) * sy); points outside
 * [0, limW) x [0, limH) are black, points inside clamp to the edge pixels.
 */
export function bilinearGrid(img: RgbImage, ox: number, oy: number, sx: number, sy: number, limW: number, limH: number, outW: number, outH: number): RgbImage {
  const { width: w, height: h, data } = img;
  const cols = axis(outW, ox, sx, w, limW, 3);
  const rows = axis(outH, oy, sy, h, limH, w * 3);
  const { i0: ci0, i1: ci1, w0: cw0, w1: cw1 } = cols;
  const out = new Uint8Array(outW * outH * 3);
  for (let v = 0; v < outH; v++) {
    const r0 = rows.i0[v];
    if (r0 < 0) continue;
    const r1 = rows.i1[v];
    const by = rows.w0[v];
    const ay = rows.w1[v];
    let o = v * outW * 3;
    for (let u = 0; u < outW; u++, o += 3) {
      const c0 = ci0[u];
      if (c0 < 0) continue;
      const c1 = ci1[u];
      const bx = cw0[u];
      const ax = cw1[u];
      // the per-pixel path's weights and sum order, exactly
      const w00 = bx * by;
      const w01 = ax * by;
      const w10 = bx * ay;
      const w11 = ax * ay;
      const i00 = r0 + c0;
      const i01 = r0 + c1;
      const i10 = r1 + c0;
      const i11 = r1 + c1;
      out[o] = Math.round(w00 * data[i00] + w01 * data[i01] + w10 * data[i10] + w11 * data[i11]);
      out[o + 1] = Math.round(w00 * data[i00 + 1] + w01 * data[i01 + 1] + w10 * data[i10 + 1] + w11 * data[i11 + 1]);
      out[o + 2] = Math.round(w00 * data[i00 + 2] + w01 * data[i01 + 2] + w10 * data[i10 + 2] + w11 * data[i11 + 2]);
    }
  }
  return { width: outW, height: outH, data: out };
}
