// What surrounds a face, as a colour histogram, next to the face's own skin
// histogram: a band pixel is judged by which of the two it resembles more.
// A skin-only model must tolerate shading, so dark hair under a fringe, at
// the temple or behind the cheek of a turned head (and dark skin next to dark
// hair) passes it; the hair itself, sampled just outside the landmark region,
// tells them apart. Pure functions, crop space.

/** Bins per axis: luma in steps of 16, chroma in steps of 4 around neutral. */
const BINS = 16;
const CHROMA_LO = 96;
const CHROMA_STEP = 4;

const levels = (v: number, lo: number, step: number): number => Math.min(BINS - 1, Math.max(0, Math.floor((v - lo) / step)));

const YCC: [number, number, number] = [0, 0, 0];

/**
 * Luma and chroma (ITU-R BT.601 YCbCr) into a shared scratch triple: this
 * runs per pixel and must not allocate. Read it before the next call.
 */
export function ycc(r: number, g: number, b: number): readonly [number, number, number] {
  YCC[0] = 0.299 * r + 0.587 * g + 0.114 * b;
  YCC[1] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  YCC[2] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return YCC;
}

/** Histogram bin of an RGB pixel in YCbCr. */
export function colourBin(r: number, g: number, b: number): number {
  return yccBin(ycc(r, g, b));
}

/** Histogram bin of a pixel already in YCbCr (from ycc), for callers that need both. */
export function yccBin(c: readonly [number, number, number]): number {
  // indexed, not destructured: destructuring runs the array iterator, per pixel
  return (levels(c[0], 0, 16) * BINS + levels(c[1], CHROMA_LO, CHROMA_STEP)) * BINS + levels(c[2], CHROMA_LO, CHROMA_STEP);
}

/** Bins of a colour histogram (16 per axis). */
export const BIN_COUNT = BINS ** 3;

/**
 * Normalised colour histogram from pixel counts per colourBin (`n` pixels in
 * all; callers count in their own pass over the crop), blurred by one bin on
 * each axis (a few thousand samples leave most of 4096 bins empty). Null when
 * fewer than `minCount` pixels were counted.
 */
export function histogramFromCounts(h: Float32Array, n: number, minCount = 100): Float32Array | null {
  if (n < minCount) return null;
  const out = blurBins(h);
  let sum = 0;
  for (const v of out) sum += v;
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** 3x3x3 box blur over the bin cube, separable, edges clipped. */
function blurBins(h: Float32Array): Float32Array {
  let cur = h;
  for (const stride of [1, BINS, BINS * BINS]) {
    const next = new Float32Array(cur.length);
    for (let i = 0; i < cur.length; i++) {
      const k = Math.floor(i / stride) % BINS;
      next[i] = cur[i] + (k > 0 ? cur[i - stride] : 0) + (k < BINS - 1 ? cur[i + stride] : 0);
    }
    cur = next;
  }
  return cur;
}

/** Per bin: how much likelier the colour is in `other` than in `skin` (floored); index it with a pixel's bin. */
export function ratioTable(skin: Float32Array, other: Float32Array, floor = 1e-4): Float32Array {
  const table = new Float32Array(skin.length);
  for (let b = 0; b < table.length; b++) table[b] = (other[b] + floor) / (skin[b] + floor);
  return table;
}
