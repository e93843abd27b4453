// Low-light copies of eval photos: exposure scaled in linear light, then
// sensor noise (photon shot noise + read noise) added before re-encoding to
// 8-bit sRGB, as a phone would record an under-exposed scene. Seeded, so
// every run sees the same pixels. Pure function.
import type { RgbImage } from '../pipeline/types.js';
import { seededRandom } from '../util/random.js';
import { SRGB_TO_LINEAR } from './ita.js';

export interface DarkenOptions {
  /** Linear-light exposure factor, e.g. 0.03 for 3 % of normal. */
  exposure: number;
  /** PRNG seed for the noise. */
  seed: number;
  /** Full-well scale: photons at linear 1.0 of the *normal* exposure (shot noise sd = sqrt(signal * fullWell) / fullWell). */
  fullWell?: number;
  /** Read noise sd in linear units. */
  readNoise?: number;
}


/** Standard normal from two uniforms (Box-Muller). */
function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}


export function linearToSrgb8(l: number): number {
  const c = l <= 0 ? 0 : l >= 1 ? 1 : l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
  return Math.round(c * 255);
}

export function darken(img: RgbImage, opts: DarkenOptions): RgbImage {
  const fullWell = opts.fullWell ?? 20000;
  const readNoise = opts.readNoise ?? 0.0004;
  const r = seededRandom(opts.seed);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    const signal = SRGB_TO_LINEAR[img.data[i]] * opts.exposure;
    const shot = Math.sqrt(Math.max(signal, 0) / fullWell);
    out[i] = linearToSrgb8(signal + gaussian(r) * Math.hypot(shot, readNoise));
  }
  return { width: img.width, height: img.height, data: out };
}
