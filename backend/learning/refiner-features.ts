// Per-pixel features of a face sample for the refiner: where the pixel lies in
// the face's own frame (relative to the eyes, nose, chin and the engine's
// mask), its colour against the face's skin, the frame's background and the
// crown of the head, and local texture. Pure functions.
import type { FaceSample } from '../pipeline/face-sample.js';
import { clamp } from '../util/num.js';

export const FEATURE_NAMES = [
  'sd',
  'sdSharp',
  'dx',
  'dy',
  'dyChin',
  'dyTop',
  'radius',
  'yaw',
  'dxYaw',
  'luma',
  'cb',
  'cr',
  'dLuma',
  'dCb',
  'dCr',
  'skinDist',
  'bgDist',
  'crownDist',
  'lumaStd',
  'gradient',
  'skinDistLocal',
  'valid',
] as const;

export const FEATURES = FEATURE_NAMES.length;

interface Robust {
  m: number;
  s: number;
}

function robust(values: Float64Array, minSpread: number): Robust {
  if (values.length === 0) return { m: 0, s: minSpread };
  const v = Float64Array.from(values).sort();
  const m = v[v.length >> 1];
  const dev = v.map((x) => Math.abs(x - m)).sort();
  return { m, s: Math.max(minSpread, 1.4826 * dev[dev.length >> 1]) };
}

/** 3x3 box mean of a plane (edges clamp). */
function boxMean(src: Float32Array, n: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += src[y * n + Math.min(n - 1, Math.max(0, x + k))];
      tmp[y * n + x] = s / (2 * r + 1);
    }
  }
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[Math.min(n - 1, Math.max(0, y + k)) * n + x];
      out[y * n + x] = s / (2 * r + 1);
    }
  }
  return out;
}

/**
 * Features of every frame pixel, row-major, FEATURES values each.
 * `valid` = pixel centre inside the image (see validMask).
 */
export function sampleFeatures(s: FaceSample, valid: Uint8Array): Float32Array {
  const n = s.size;
  const N = n * n;
  const face = (s.faceSize / s.frame.size) * n; // face size in frame pixels
  const lm = s.landmarks;
  const eyes = { x: (lm.leftEye.x + lm.rightEye.x) / 2, y: (lm.leftEye.y + lm.rightEye.y) / 2 };
  const cheekMid = (lm.leftCheek.x + lm.rightCheek.x) / 2;
  const cheekSpan = Math.max(0.2 * face, Math.abs(lm.leftCheek.x - lm.rightCheek.x));
  // which way the face looks: the nose's offset from the middle of the cheeks
  const yaw = clamp((lm.nose.x - cheekMid) / cheekSpan, -1, 1) * 2;

  const Y = new Float32Array(N);
  const Cb = new Float32Array(N);
  const Cr = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const r = s.rgb[i * 3];
    const g = s.rgb[i * 3 + 1];
    const b = s.rgb[i * 3 + 2];
    Y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    Cb[i] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    Cr[i] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  const Ys = boxMean(Y, n, 1);
  const Cbs = boxMean(Cb, n, 1);
  const Crs = boxMean(Cr, n, 1);

  // skin: inside the engine's mask, between the eyes and the chin
  const skinY: number[] = [];
  const skinCb: number[] = [];
  const skinCr: number[] = [];
  const bg: number[] = [];
  const crownY: number[] = [];
  const crownCb: number[] = [];
  const crownCr: number[] = [];
  const crown = { x: lm.forehead.x, y: lm.forehead.y - 0.15 * face };
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      if (!valid[i]) continue;
      if (s.sd[i] > 0.06 && y > eyes.y && y < lm.chin.y) {
        skinY.push(Ys[i]);
        skinCb.push(Cbs[i]);
        skinCr.push(Crs[i]);
      }
      if (x < 3 || y < 3 || x >= n - 3 || y >= n - 3) bg.push(i);
      if (Math.abs(x - crown.x) < 0.12 * face && Math.abs(y - crown.y) < 0.06 * face) {
        crownY.push(Ys[i]);
        crownCb.push(Cbs[i]);
        crownCr.push(Crs[i]);
      }
    }
  }
  const sy = robust(Float64Array.from(skinY), 4);
  const scb = robust(Float64Array.from(skinCb), 2);
  const scr = robust(Float64Array.from(skinCr), 2);
  const cy = robust(Float64Array.from(crownY), 4);
  const ccb = robust(Float64Array.from(crownCb), 2);
  const ccr = robust(Float64Array.from(crownCr), 2);
  // up to 48 background colours, spread over the border ring
  const bgStep = Math.max(1, Math.floor(bg.length / 48));
  const bgIdx = bg.filter((_, k) => k % bgStep === 0);

  const skinDist = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const a = (Ys[i] - sy.m) / sy.s;
    const b = (Cbs[i] - scb.m) / scb.s;
    const c = (Crs[i] - scr.m) / scr.s;
    skinDist[i] = Math.min(8, Math.sqrt(a * a + b * b + c * c)) / 4;
  }
  const skinLocal = boxMean(skinDist, n, 3);
  const Yl = boxMean(Y, n, 2);
  const Y2 = boxMean(
    Y.map((v) => v * v),
    n,
    2,
  );

  const F = FEATURES;
  const out = new Float32Array(N * F);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const o = i * F;
      const px = x + 0.5;
      const py = y + 0.5;
      const dx = (px - eyes.x) / face;
      const dy = (py - eyes.y) / face;
      const sd = s.sd[i];
      let bgd = 1e9;
      for (const j of bgIdx) {
        const d = Math.abs(Ys[i] - Ys[j]) + Math.abs(Cbs[i] - Cbs[j]) * 2 + Math.abs(Crs[i] - Crs[j]) * 2;
        if (d < bgd) bgd = d;
      }
      if (bgIdx.length === 0) bgd = 60;
      const crownD = Math.sqrt(((Ys[i] - cy.m) / cy.s) ** 2 + ((Cbs[i] - ccb.m) / ccb.s) ** 2 + ((Crs[i] - ccr.m) / ccr.s) ** 2);
      const gx = Ys[y * n + Math.min(n - 1, x + 1)] - Ys[y * n + Math.max(0, x - 1)];
      const gy = Ys[Math.min(n - 1, y + 1) * n + x] - Ys[Math.max(0, y - 1) * n + x];
      const variance = Math.max(0, Y2[i] - Yl[i] * Yl[i]);
      out[o] = clamp(sd, -1, 1) * 2;
      out[o + 1] = Math.tanh(sd * 12);
      out[o + 2] = dx;
      out[o + 3] = dy;
      out[o + 4] = (py - lm.chin.y) / face;
      out[o + 5] = (py - lm.forehead.y) / face;
      out[o + 6] = Math.hypot(dx, dy);
      out[o + 7] = yaw;
      out[o + 8] = dx * yaw;
      out[o + 9] = (Ys[i] - 128) / 64;
      out[o + 10] = (Cbs[i] - 128) / 16;
      out[o + 11] = (Crs[i] - 128) / 16;
      out[o + 12] = clamp((Ys[i] - sy.m) / sy.s, -6, 6) / 3;
      out[o + 13] = clamp((Cbs[i] - scb.m) / scb.s, -6, 6) / 3;
      out[o + 14] = clamp((Crs[i] - scr.m) / scr.s, -6, 6) / 3;
      out[o + 15] = skinDist[i];
      out[o + 16] = Math.min(60, bgd) / 20;
      out[o + 17] = Math.min(8, crownD) / 4;
      out[o + 18] = Math.sqrt(variance) / 16;
      out[o + 19] = Math.min(80, Math.hypot(gx, gy)) / 20;
      out[o + 20] = skinLocal[i];
      out[o + 21] = valid[i];
    }
  }
  return out;
}
