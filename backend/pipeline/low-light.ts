// Low light and low contrast: the models were trained on well-exposed photos
// and see nothing in an image whose brightest faces sit at 10-40 of 255. A
// normalised copy (gain + gamma on a tone curve, then a light blur against
// the amplified sensor noise) goes to the detectors and the face mesh; masks
// are still pasted onto the original image's grid. Full-resolution detector
// tiles take the copy before the blur: they look for faces of about 20 px,
// whose eyes are 2-3 px wide. Pure functions.
import type { RgbImage } from './types.js';

export interface LightStats {
  /** Luma percentiles 0..255 over a subsample. */
  p1: number;
  p50: number;
  p99: number;
  /** 0.1 and 99.9 percentiles: small high-contrast content (a photo on a plain wall) shows here. */
  p01: number;
  p999: number;
  mean: number;
}

/** 8-bit luma of the RGB pixel at byte offset `o` (integer Rec. 709-like weights). */
const luma8 = (d: Uint8Array, o: number): number => (54 * d[o] + 183 * d[o + 1] + 19 * d[o + 2]) >> 8;

/** The smallest value v with at least q * count of a 256-bin histogram's samples at or below it. */
function histogramQuantile(hist: Uint32Array, count: number, q: number): number {
  const target = q * count;
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v];
    if (acc >= target) return v;
  }
  return 255;
}

/** Luma statistics from about `samples` pixels spread over the image. */
export function lightStats(img: RgbImage, samples = 40_000): LightStats {
  const n = img.width * img.height;
  const step = Math.max(1, Math.floor(n / samples));
  const hist = new Uint32Array(256);
  let count = 0;
  let sum = 0;
  const d = img.data;
  for (let i = 0; i < n; i += step) {
    const y = luma8(d, i * 3);
    hist[y]++;
    sum += y;
    count++;
  }
  const pct = (q: number): number => histogramQuantile(hist, count, q);
  return { p1: pct(0.01), p50: pct(0.5), p99: pct(0.99), p01: pct(0.001), p999: pct(0.999), mean: count ? sum / count : 0 };
}

export interface NormaliseOptions {
  /** Normalise when the 99th luma percentile is below this (dark image). */
  darkP99: number;
  /** ...or when p99 - p1 is below this (flat, low-contrast image). */
  minRange: number;
  /** Where the median luma lands after the tone curve, 0..1. */
  targetMid: number;
}

export const DEFAULT_NORMALISE: NormaliseOptions = { darkP99: 110, minRange: 60, targetMid: 0.4 };

export function needsNormalising(s: LightStats, o: NormaliseOptions = DEFAULT_NORMALISE): boolean {
  // flat: also no small part with real contrast, which the tone curve (clipping at p1/p99) would wash out
  return s.p99 < o.darkP99 || (s.p99 - s.p1 < o.minRange && s.p999 - s.p01 < 2 * o.minRange);
}

/** Side, in pixels, of the blocks hasContrastedPart looks at; even, as it averages 2x2 cells. */
const CONTRAST_BLOCK = 8;

/**
 * Whether some 8x8 block spans at least `range` of luma, in the means of
 * its 2x2 cells (so a single hot or dead pixel does not count): a small part
 * with real contrast, however few pixels it has. Stops at the first one.
 */
export function hasContrastedPart(img: RgbImage, range: number): boolean {
  const { width: w, height: h, data } = img;
  const b = CONTRAST_BLOCK;
  for (let by = 0; by + b <= h; by += b) {
    for (let bx = 0; bx + b <= w; bx += b) {
      let lo = 1020;
      let hi = 0;
      for (let y = by; y < by + b; y += 2) {
        for (let x = bx; x < bx + b; x += 2) {
          const o = (y * w + x) * 3;
          // four lumas summed: 0..1020
          const cell = luma8(data, o) + luma8(data, o + 3) + luma8(data, o + w * 3) + luma8(data, o + w * 3 + 3);
          if (cell < lo) lo = cell;
          if (cell > hi) hi = cell;
        }
      }
      if (hi - lo >= 4 * range) return true;
    }
  }
  return false;
}

/**
 * The tone curve as a lookup table: black point p1, white point p99 (so 1 %
 * of pixels clip), then the gamma that puts the median at `targetMid`.
 * Monotone, 0 -> 0 side, 255 -> 255 side.
 */
export function toneCurve(s: LightStats, o: NormaliseOptions = DEFAULT_NORMALISE): Uint8Array {
  const lo = Math.min(s.p1, s.p50);
  const hi = Math.max(s.p99, lo + 4);
  const mid = Math.min(0.95, Math.max(0.05, (s.p50 - lo) / (hi - lo)));
  // mid^g = target  ->  g = ln(target) / ln(mid), bounded so noise is not blown up without limit
  const g = Math.min(1.6, Math.max(0.35, Math.log(o.targetMid) / Math.log(mid)));
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
    lut[v] = Math.round(255 * t ** g);
  }
  return lut;
}

/** 3x3 box blur per channel, edges clamped: the amplified noise of a dark photo is pixel-scale. */
export function boxBlur3(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const tmp = new Uint16Array(data.length);
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) {
      const l = row + Math.max(0, x - 1) * 3;
      const c = row + x * 3;
      const r = row + Math.min(w - 1, x + 1) * 3;
      for (let k = 0; k < 3; k++) tmp[c + k] = data[l + k] + data[c + k] + data[r + k];
    }
  }
  for (let y = 0; y < h; y++) {
    const u = Math.max(0, y - 1) * w * 3;
    const c = y * w * 3;
    const dn = Math.min(h - 1, y + 1) * w * 3;
    for (let i = 0; i < w * 3; i++) out[c + i] = Math.round((tmp[u + i] + tmp[c + i] + tmp[dn + i]) / 9);
  }
  return { width: w, height: h, data: out };
}

export interface ModelView {
  /** The copy the models see: the image itself when it is well exposed, else tone-mapped and blurred. */
  image: RgbImage;
  /** The tone-mapped copy before the blur, for full-resolution tiles (the image itself when not normalised). */
  unblurred: RgbImage;
  normalised: boolean;
  stats: LightStats;
}

/**
 * The copies the models should see. Tiles take `unblurred`: on the tune
 * split's rendered 20-px faces in 1920x1080 (their flat backgrounds are
 * normalised too) 47 instead of 45 of 48 were found, and 44 instead of 40
 * in the darkened copies; every other tune row was unchanged.
 */
export function normaliseForModels(img: RgbImage, o: NormaliseOptions = DEFAULT_NORMALISE): ModelView {
  const stats = lightStats(img);
  const keep = { image: img, unblurred: img, normalised: false, stats };
  if (!needsNormalising(stats, o)) return keep;
  // flat but not dark: a part of real contrast too small for the 0.1 % tails (a 40-px head on a plain
  // wall) would be clipped away by the curve, as the models then see no face where the photo shows one
  if (stats.p99 >= o.darkP99 && hasContrastedPart(img, 2 * o.minRange)) return keep;
  const lut = toneCurve(stats, o);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = lut[img.data[i]];
  const unblurred = { width: img.width, height: img.height, data };
  return { image: boxBlur3(unblurred), unblurred, normalised: true, stats };
}

export interface CropLift {
  /** Crops whose centre's median luma (0..255) is below this are lifted... */
  darkBelow: number;
  /** ...by the gamma that puts that median at this share of white... */
  targetMid: number;
  /** ...but no stronger than this gamma. */
  minGamma: number;
}

export const DEFAULT_CROP_LIFT: CropLift = { darkBelow: 80, targetMid: 0.45, minGamma: 0.3 };

/** Median luma of the central half (each axis) of an image: where a face crop's face is. */
export function centreLuma(img: RgbImage): number {
  const hist = new Uint32Array(256);
  const { width: w, height: h, data: d } = img;
  let n = 0;
  for (let y = Math.floor(h / 4); y < Math.ceil((3 * h) / 4); y++) {
    for (let x = Math.floor(w / 4); x < Math.ceil((3 * w) / 4); x++) {
      const i = (y * w + x) * 3;
      hist[luma8(d, i)]++;
      n++;
    }
  }
  return histogramQuantile(hist, n, 0.5);
}

/**
 * A face crop with its shadows lifted when its centre is dark, else null: a
 * dark-skinned face exposed for a bright background is what the landmark
 * model rejects (eval: the same profiles with the skin darkened to ITA -75).
 */
export function liftDarkCrop(crop: RgbImage, o: CropLift = DEFAULT_CROP_LIFT): RgbImage | null {
  const mid = centreLuma(crop);
  if (!(mid < o.darkBelow)) return null;
  const g = Math.max(o.minGamma, Math.log(o.targetMid) / Math.log(Math.max(1, mid) / 255));
  return liftShadows(crop, g);
}

/** A copy with the shadows lifted by a gamma curve: v' = 255 (v / 255)^gamma. */
export function liftShadows(img: RgbImage, gamma: number): RgbImage {
  const lut = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * (v / 255) ** gamma));
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = lut[img.data[i]];
  return { width: img.width, height: img.height, data };
}
