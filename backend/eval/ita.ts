// Individual Typology Angle (Chardon et al. 1991): a skin-tone measure from
// CIELAB, ITA = atan((L* - 50) / b*) in degrees; higher is lighter skin.
// Used by the eval to split faces into thirds by tone. Pure functions.
import type { RgbImage } from '../pipeline/types.js';
import { medianOf } from './metrics.js';

function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** sRGB 0..255 -> linear light 0..1. */
export const SRGB_TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => srgbToLinear(v));
const LINEAR = SRGB_TO_LINEAR;

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116;
}

/** sRGB 0..255 -> CIELAB (D65 white): L* 0..100, a*, b*. */
export function rgbToLab(r: number, g: number, b: number): { L: number; a: number; b: number } {
  const R = LINEAR[r];
  const G = LINEAR[g];
  const B = LINEAR[b];
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = labF(x);
  const fy = labF(y);
  const fz = labF(z);
  return { L: 116 * fy - 16, a: 500 * (fx - fy), b: 200 * (fy - fz) };
}

/** ITA in degrees from L* and b*; atan2 keeps it defined when b* is 0. */
export function itaOf(L: number, b: number): number {
  return (Math.atan2(L - 50, b) * 180) / Math.PI;
}

/**
 * ITA of the pixels where `mask` is set (same size as the image): the
 * median L* and median b* of those pixels, so a few highlight or shadow
 * pixels do not move it. NaN when the mask is empty.
 */
export function maskIta(img: RgbImage, mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  if (n === 0) return NaN;
  const Ls = new Float64Array(n);
  const bs = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const lab = rgbToLab(img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]);
    Ls[k] = lab.L;
    bs[k] = lab.b;
    k++;
  }
  return itaOf(medianOf(Ls), medianOf(bs));
}

export type ItaThird = 'darker' | 'middle' | 'lighter';
export const ITA_THIRDS: readonly ItaThird[] = ['darker', 'middle', 'lighter'];

/**
 * Thirds by ITA over a set: the lowest third of the values is 'darker'. Ties
 * keep input order; NaN values (no skin seen) get no third. With n not a
 * multiple of 3 the middle third takes the remainder.
 */
export function itaThirds(values: readonly number[]): (ItaThird | null)[] {
  const idx = values.map((v, i) => ({ v, i })).filter((x) => Number.isFinite(x.v));
  idx.sort((a, b) => a.v - b.v || a.i - b.i);
  const out: (ItaThird | null)[] = values.map(() => null);
  const n = idx.length;
  const cut = Math.floor(n / 3);
  idx.forEach((x, rank) => {
    out[x.i] = rank < cut ? 'darker' : rank >= n - cut ? 'lighter' : 'middle';
  });
  return out;
}
