// Per-pixel features of a face sample for the refiner: where the pixel lies in
// the face's own frame (relative to the eyes, nose, chin and the engine's
// mask), its colour against the face's skin, the frame's background and the
// crown of the head, and local texture. Pure functions.
import type { FaceSample, SampleHead } from '../pipeline/face-sample.js';
import type { Point } from '../pipeline/types.js';
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

/** Where the face lies in its frame, in frame pixels. */
interface FaceFrame {
  /** Frame side. */
  n: number;
  /** Face size in frame pixels. */
  face: number;
  eyes: Point;
  /** Which way the face looks: the nose's offset from the middle of the cheeks, -2..2. */
  yaw: number;
  chinY: number;
  foreheadY: number;
  /** A patch above the forehead: hair or the top of the head. */
  crown: Point;
}

function faceFrame(s: SampleHead): FaceFrame {
  const n = s.size;
  const face = (s.faceSize / s.frame.size) * n;
  const lm = s.landmarks;
  const eyes = { x: (lm.leftEye.x + lm.rightEye.x) / 2, y: (lm.leftEye.y + lm.rightEye.y) / 2 };
  const cheekMid = (lm.leftCheek.x + lm.rightCheek.x) / 2;
  const cheekSpan = Math.max(0.2 * face, Math.abs(lm.leftCheek.x - lm.rightCheek.x));
  const yaw = clamp((lm.nose.x - cheekMid) / cheekSpan, -1, 1) * 2;
  return { n, face, eyes, yaw, chinY: lm.chin.y, foreheadY: lm.forehead.y, crown: { x: lm.forehead.x, y: lm.forehead.y - 0.15 * face } };
}

/** How far the face is turned, from its landmarks: 0 frontal, 2 a full profile (either side). */
export function sampleYaw(s: SampleHead): number {
  return Math.abs(faceFrame(s).yaw);
}

/** Luma, and the 3x3-smoothed luma and chroma, of every frame pixel. */
interface Planes {
  Y: Float32Array;
  Ys: Float32Array;
  Cbs: Float32Array;
  Crs: Float32Array;
}

function colourPlanes(s: FaceSample): Planes {
  const N = s.size * s.size;
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
  return { Y, Ys: boxMean(Y, s.size, 1), Cbs: boxMean(Cb, s.size, 1), Crs: boxMean(Cr, s.size, 1) };
}

/** A colour's robust centre and spread per channel. */
interface ColourModel {
  y: Robust;
  cb: Robust;
  cr: Robust;
}

/** What a pixel's colour is compared with: the face's skin, the crown of the head, and background pixels of the frame's border. */
interface References {
  skin: ColourModel;
  crown: ColourModel;
  /** Pixel indices of up to 48 background colours, spread over the border ring. */
  background: number[];
}

function colourReferences(s: FaceSample, valid: Uint8Array, planes: Planes, frame: FaceFrame): References {
  const { n, face, eyes, crown } = frame;
  const { Ys, Cbs, Crs } = planes;
  const skin: number[][] = [[], [], []];
  const crownPx: number[][] = [[], [], []];
  const border: number[] = [];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      if (!valid[i]) continue;
      // skin: inside the engine's mask, between the eyes and the chin
      if (s.sd[i] > 0.06 && y > eyes.y && y < frame.chinY) [Ys, Cbs, Crs].forEach((plane, c) => skin[c].push(plane[i]));
      if (x < 3 || y < 3 || x >= n - 3 || y >= n - 3) border.push(i);
      if (Math.abs(x - crown.x) < 0.12 * face && Math.abs(y - crown.y) < 0.06 * face) [Ys, Cbs, Crs].forEach((plane, c) => crownPx[c].push(plane[i]));
    }
  }
  const model = (px: number[][]): ColourModel => ({ y: robust(Float64Array.from(px[0]), 4), cb: robust(Float64Array.from(px[1]), 2), cr: robust(Float64Array.from(px[2]), 2) });
  const step = Math.max(1, Math.floor(border.length / 48));
  return { skin: model(skin), crown: model(crownPx), background: border.filter((_, k) => k % step === 0) };
}

/** Per-pixel maps around the colour features: distance to the skin colour (and its local mean), local luma mean and mean square. */
interface TextureMaps {
  skinDist: Float32Array;
  skinLocal: Float32Array;
  Yl: Float32Array;
  Y2: Float32Array;
}

function textureMaps(planes: Planes, skin: ColourModel, n: number): TextureMaps {
  const { Y, Ys, Cbs, Crs } = planes;
  const skinDist = new Float32Array(n * n);
  for (let i = 0; i < skinDist.length; i++) {
    const a = (Ys[i] - skin.y.m) / skin.y.s;
    const b = (Cbs[i] - skin.cb.m) / skin.cb.s;
    const c = (Crs[i] - skin.cr.m) / skin.cr.s;
    skinDist[i] = Math.min(8, Math.sqrt(a * a + b * b + c * c)) / 4;
  }
  return {
    skinDist,
    skinLocal: boxMean(skinDist, n, 3),
    Yl: boxMean(Y, n, 2),
    Y2: boxMean(
      Y.map((v) => v * v),
      n,
      2,
    ),
  };
}

/** Features 0-8: where pixel (x, y) lies relative to the engine's mask and the face's landmarks. */
function writeGeometry(out: Float32Array, o: number, x: number, y: number, sd: number, frame: FaceFrame): void {
  const px = x + 0.5;
  const py = y + 0.5;
  const dx = (px - frame.eyes.x) / frame.face;
  const dy = (py - frame.eyes.y) / frame.face;
  out[o] = clamp(sd, -1, 1) * 2;
  out[o + 1] = Math.tanh(sd * 12);
  out[o + 2] = dx;
  out[o + 3] = dy;
  out[o + 4] = (py - frame.chinY) / frame.face;
  out[o + 5] = (py - frame.foreheadY) / frame.face;
  out[o + 6] = Math.hypot(dx, dy);
  out[o + 7] = frame.yaw;
  out[o + 8] = dx * frame.yaw;
}

/** Features 9-20: pixel i's colour, against the skin, background and crown, and its texture. */
function writeColour(out: Float32Array, o: number, x: number, y: number, n: number, planes: Planes, refs: References, maps: TextureMaps): void {
  const { Ys, Cbs, Crs } = planes;
  const { skin, crown } = refs;
  const i = y * n + x;
  let bgd = 1e9;
  for (const j of refs.background) {
    const d = Math.abs(Ys[i] - Ys[j]) + Math.abs(Cbs[i] - Cbs[j]) * 2 + Math.abs(Crs[i] - Crs[j]) * 2;
    if (d < bgd) bgd = d;
  }
  if (refs.background.length === 0) bgd = 60;
  const crownD = Math.sqrt(((Ys[i] - crown.y.m) / crown.y.s) ** 2 + ((Cbs[i] - crown.cb.m) / crown.cb.s) ** 2 + ((Crs[i] - crown.cr.m) / crown.cr.s) ** 2);
  const gx = Ys[y * n + Math.min(n - 1, x + 1)] - Ys[y * n + Math.max(0, x - 1)];
  const gy = Ys[Math.min(n - 1, y + 1) * n + x] - Ys[Math.max(0, y - 1) * n + x];
  const variance = Math.max(0, maps.Y2[i] - maps.Yl[i] * maps.Yl[i]);
  out[o + 9] = (Ys[i] - 128) / 64;
  out[o + 10] = (Cbs[i] - 128) / 16;
  out[o + 11] = (Crs[i] - 128) / 16;
  out[o + 12] = clamp((Ys[i] - skin.y.m) / skin.y.s, -6, 6) / 3;
  out[o + 13] = clamp((Cbs[i] - skin.cb.m) / skin.cb.s, -6, 6) / 3;
  out[o + 14] = clamp((Crs[i] - skin.cr.m) / skin.cr.s, -6, 6) / 3;
  out[o + 15] = maps.skinDist[i];
  out[o + 16] = Math.min(60, bgd) / 20;
  out[o + 17] = Math.min(8, crownD) / 4;
  out[o + 18] = Math.sqrt(variance) / 16;
  out[o + 19] = Math.min(80, Math.hypot(gx, gy)) / 20;
  out[o + 20] = maps.skinLocal[i];
}

/**
 * Features of every frame pixel, row-major, FEATURES values each.
 * `valid` = pixel centre inside the image (see validMask); `only` = the pixels wanted (all by default).
 */
export function sampleFeatures(s: FaceSample, valid: Uint8Array, only?: (i: number) => boolean): Float32Array {
  const frame = faceFrame(s);
  const { n } = frame;
  const planes = colourPlanes(s);
  const refs = colourReferences(s, valid, planes, frame);
  const maps = textureMaps(planes, refs.skin, n);
  const out = new Float32Array(n * n * FEATURES);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      // pixels the caller will not ask about stay 0
      if (only && !only(i)) continue;
      const o = i * FEATURES;
      writeGeometry(out, o, x, y, s.sd[i], frame);
      writeColour(out, o, x, y, n, planes, refs, maps);
      out[o + 21] = valid[i];
    }
  }
  return out;
}
