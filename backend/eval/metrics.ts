// Mask-quality metrics for the evaluation command. Pure functions.

export interface MaskScores {
  iou: number;
  precision: number;
  recall: number;
}

/** FASSEG classes: 0 background, 1 skin (with neck and ears), 2 hair (with brows), 3 eyes, 4 nose, 5 mouth. */
export const FASSEG_FACE = [1, 3, 4, 5];

export function classMask(label: Uint8Array, classes: readonly number[]): Uint8Array {
  const set = new Uint8Array(256);
  for (const c of classes) set[c] = 1;
  const out = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) out[i] = set[label[i]];
  return out;
}

function rowsOf(label: Uint8Array, w: number, cls: number): { min: number; max: number; mean: number } | null {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i] !== cls) continue;
    const y = Math.floor(i / w);
    min = Math.min(min, y);
    max = Math.max(max, y);
    sum += y;
    n++;
  }
  return n ? { min, max, mean: sum / n } : null;
}

/**
 * FASSEG's skin class runs down the neck, so we score above the chin. The chin
 * row is estimated from the labelled parts: it lies about a third of the
 * eyes-to-mouth distance below the bottom of the mouth (checked by eye on
 * frontal and profile labels). Without eyes or mouth the whole image counts.
 */
export function chinRow(label: Uint8Array, w: number, h: number): number {
  const eyes = rowsOf(label, w, 3);
  const mouth = rowsOf(label, w, 5);
  if (!eyes || !mouth) return h;
  return Math.min(h, Math.round(mouth.max + 0.33 * (mouth.mean - eyes.mean)));
}

/** FASSEG's skin class above row `chin` (0/1): the pixels whose tone counts (ITA, skin-tone copies). */
export function skinAboveChin(label: Uint8Array, w: number, chin: number): Uint8Array {
  return Uint8Array.from(label, (v, i) => (v === 1 && i < chin * w ? 1 : 0));
}

/** IoU / precision / recall of predicted vs truth, counting only rows < maxRow. */
export function maskScores(pred: Uint8Array, truth: Uint8Array, w: number, maxRow = Infinity): MaskScores {
  let inter = 0;
  let p = 0;
  let t = 0;
  const end = Math.min(pred.length, Number.isFinite(maxRow) ? maxRow * w : pred.length);
  for (let i = 0; i < end; i++) {
    const a = pred[i] ? 1 : 0;
    const b = truth[i] ? 1 : 0;
    inter += a & b;
    p += a;
    t += b;
  }
  const union = p + t - inter;
  return { iou: union ? inter / union : 1, precision: p ? inter / p : 0, recall: t ? inter / t : 1 };
}

/** Share of predicted pixels that fall on any of `classes` (whole image, neck included). */
export function precisionOn(pred: Uint8Array, label: Uint8Array, classes: readonly number[]): number {
  const ok = classMask(label, classes);
  let p = 0;
  let hit = 0;
  for (let i = 0; i < pred.length; i++) {
    if (!pred[i]) continue;
    p++;
    hit += ok[i];
  }
  return p ? hit / p : 0;
}

export function meanOf(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Median (mean of the middle two for an even count); NaN when empty. */
export function medianOf(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
