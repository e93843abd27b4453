// Controlled skin-tone copies of FASSEG photos: the labelled skin (face, neck,
// ears, nose, lips, eye regions) darkened in linear light until its ITA
// reaches a target, while hair, clothes and background keep their pixels.
// The same photo at several tones separates the engine's response to skin
// colour from what per-image ITA thirds mix into it (lighting session,
// person, pose). Pure.
import { boxMean } from '../pipeline/box-filter.js';
import type { RgbImage } from '../pipeline/types.js';
import { linearToSrgb8 } from './darken.js';
import { maskIta, SRGB_TO_LINEAR } from './ita.js';

/** FASSEG classes recoloured: skin, eyes (the label covers the lids), nose, mouth. */
export const TONE_CLASSES: readonly number[] = [1, 3, 4, 5];
/** Hair: recoloured only within ToneOptions.hairReach of the skin (brows, the hairline). */
const HAIR = 2;

/** The ITA targets `faceseg eval` darkens to ("dark" in Chardon's scale is below -30). */
export const TONE_TARGETS: readonly number[] = [-50, -75];

/** The eval's name for a set's copies at `target`: "<set> skin ITA -50". */
export const toneSetSuffix = (target: number): string => `skin ITA ${target}`;

export interface ToneOptions {
  /**
   * Extra darkening of green and blue against red (0 = none): darker skin is
   * warmer, so the multipliers are [k, k^(1 + tint / 2), k^(1 + tint)].
   */
  tint: number;
  /** Box radius (px) that feathers the mask's edge, so no hard seam marks the face. */
  feather: number;
  /**
   * Hair pixels within this box radius (px) of skin are recoloured too: the
   * labels give eyebrows and a band of the hairline to hair, which would
   * otherwise stay light around darkened skin, a seam the engine could use.
   */
  hairReach: number;
}

export const DEFAULT_TONE: ToneOptions = { tint: 0.3, feather: 2, hairReach: 4 };

/** Weight 0..1 per pixel: the recoloured classes and hair near them, feathered. */
export function toneWeights(label: Uint8Array, width: number, height: number, opts: Pick<ToneOptions, 'feather' | 'hairReach'>): Float32Array {
  const set = new Uint8Array(256);
  for (const c of TONE_CLASSES) set[c] = 1;
  const m = new Float32Array(label.length);
  for (let i = 0; i < m.length; i++) m[i] = set[label[i]];
  if (opts.hairReach > 0) {
    const near = boxMean(m, width, height, opts.hairReach);
    for (let i = 0; i < m.length; i++) if (label[i] === HAIR && near[i] > 0) m[i] = 1;
  }
  markBrows(m, label, width, height, Math.round(BROW_REACH * height));
  return opts.feather > 0 ? boxMean(m, width, height, opts.feather) : m;
}

/** Eyebrow blobs (hair with skin above and below) span up to this share of the photo's height. */
const BROW_REACH = 0.06;

/**
 * Hair pixels with skin within `reach` rows both above and below them in
 * their column: the eyebrows, whose labelled blobs hold skin around the hairs.
 */
function markBrows(m: Float32Array, label: Uint8Array, width: number, height: number, reach: number): void {
  const skinRows = new Int32Array(height + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) skinRows[y + 1] = skinRows[y] + (label[y * width + x] === 1 ? 1 : 0);
    for (let y = 0; y < height; y++) {
      if (label[y * width + x] !== HAIR) continue;
      const above = skinRows[y] - skinRows[Math.max(0, y - reach)];
      const below = skinRows[Math.min(height, y + 1 + reach)] - skinRows[y + 1];
      if (above > 0 && below > 0) m[y * width + x] = 1;
    }
  }
}

/** `img` with the weighted pixels' linear light scaled by k (and the tint): k = 1 returns the same pixels. */
export function retone(img: RgbImage, weights: Float32Array, k: number, tint: number): RgbImage {
  const mul = [k, k ** (1 + tint / 2), k ** (1 + tint)];
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < weights.length; i++) {
    const a = weights[i];
    for (let c = 0; c < 3; c++) {
      const v = img.data[i * 3 + c];
      out[i * 3 + c] = a === 0 ? v : linearToSrgb8(SRGB_TO_LINEAR[v] * (1 + a * (mul[c] - 1)));
    }
  }
  return { width: img.width, height: img.height, data: out };
}

export interface Toned {
  image: RgbImage;
  /** The linear-light factor used (1: the photo was already at or below the target). */
  k: number;
  /** ITA of `skin` in the returned image. */
  ita: number;
}

/**
 * The photo darkened until the ITA of `skin` (a 0/1 mask: the pixels whose
 * tone counts) is at most `target`, by bisection on k (ITA falls as k does).
 * A photo already at or below the target comes back as it is.
 */
export function toneTo(img: RgbImage, label: Uint8Array, skin: Uint8Array, target: number, opts: ToneOptions = DEFAULT_TONE): Toned {
  const start = maskIta(img, skin);
  if (!(start > target)) return { image: img, k: 1, ita: start };
  const w = toneWeights(label, img.width, img.height, opts);
  let lo = 0.005;
  let hi = 1;
  let best: Toned | undefined;
  for (let step = 0; step < 14; step++) {
    const k = Math.sqrt(lo * hi);
    const image = retone(img, w, k, opts.tint);
    const ita = maskIta(image, skin);
    if (ita <= target) {
      best = { image, k, ita };
      lo = k;
    } else hi = k;
    if (best && best.ita > target - 1) break;
  }
  if (best) return best;
  // even the darkest factor stays above the target (skin near black already): use that
  const image = retone(img, w, lo, opts.tint);
  return { image, k: lo, ita: maskIta(image, skin) };
}
