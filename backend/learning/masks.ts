// Mask maths for learning from corrections: decode the labeler's final brush
// regions, match them to the faces we predicted, and summarise each matched
// pair as an "IoU curve": how the IoU would change had the engine grown or
// shrunk our mask (EngineParams.dilate), so calibration never needs the
// images or the masks again.
import { RleError, rleToMask } from '../labelstudio/brush-rle.js';
import { roundTo } from '../util/num.js';
import { cutWindow, onBounds, unionInto, type RectMask } from '../pipeline/mask-ops.js';
import { signedDistance } from '../pipeline/mask-raster.js';

/** A binary mask (non-zero = on) confined to a rectangle of a W x H image. */
export interface BitMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
  /** Number of on pixels. */
  area: number;
}

/** Histogram range of the IoU curve, in dilate units (px per 100 px of face size). */
export const CURVE_RANGE = 40;
/** Histogram bin width, in dilate units. */
export const CURVE_BIN = 0.25;
const BINS = Math.round((2 * CURVE_RANGE) / CURVE_BIN);
/** Above this many window pixels the signed distance runs on a subsampled grid. */
const MAX_WINDOW_PIXELS = 1_000_000;

/**
 * How the IoU of one predicted face with its corrected mask depends on the
 * dilate parameter. u(p) = signed distance of pixel p to our mask's edge in
 * dilate units (positive inside). With dilate d the engine's mask holds the
 * pixels with u(p) > d0 - d, where d0 is the dilate it was predicted with.
 */
export interface IouCurve {
  /** Dilate the prediction was made with. */
  d0: number;
  /** Face size in pixels that one dilate unit is a hundredth of. */
  faceSize: number;
  /** Corrected (ground truth) area in pixels. */
  gtArea: number;
  /** Pixels of the analysed window per u bin (bin i covers [-R + i*B, -R + (i+1)*B)); ends are open. */
  all: number[];
  /** Ground-truth pixels per u bin. */
  gt: number[];
}

/** Tight box of a full-image mask (non-zero = on); undefined when empty. */
export function fromFullMask(mask: Uint8Array, width: number, height: number): BitMask | undefined {
  const box = onBounds(mask, width, height, 1);
  return box && toBits({ ...box, data: cutWindow(mask, width, box) });
}

/** A rectangle mask as a BitMask: 1 where non-zero, with its area. */
function toBits(m: RectMask): BitMask {
  const data = new Uint8Array(m.data.length);
  let area = 0;
  for (let i = 0; i < data.length; i++) {
    if (m.data[i]) {
      data[i] = 1;
      area++;
    }
  }
  return { x: m.x, y: m.y, width: m.width, height: m.height, data, area };
}

/** Decode one brush RLE of a W x H image into a BitMask (undefined when empty). */
export function decodeBrush(rle: ArrayLike<number>, width: number, height: number): BitMask | undefined {
  return fromFullMask(rleToMask(rle, width, height), width, height);
}

export function at(m: BitMask, x: number, y: number): number {
  const lx = x - m.x;
  const ly = y - m.y;
  if (lx < 0 || ly < 0 || lx >= m.width || ly >= m.height) return 0;
  return m.data[ly * m.width + lx];
}

export function intersection(a: BitMask, b: BitMask): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  let n = 0;
  for (let y = y0; y < y1; y++) {
    const ra = (y - a.y) * a.width - a.x;
    const rb = (y - b.y) * b.width - b.x;
    for (let x = x0; x < x1; x++) if (a.data[ra + x] && b.data[rb + x]) n++;
  }
  return n;
}

export function maskIou(a: BitMask, b: BitMask): number {
  const i = intersection(a, b);
  const u = a.area + b.area - i;
  return u > 0 ? i / u : 0;
}

/** Union of masks (same image). */
export function union(masks: readonly BitMask[]): BitMask {
  const x0 = Math.min(...masks.map((m) => m.x));
  const y0 = Math.min(...masks.map((m) => m.y));
  const frame = { x: x0, y: y0, width: Math.max(...masks.map((m) => m.x + m.width)) - x0, height: Math.max(...masks.map((m) => m.y + m.height)) - y0 };
  return toBits({ ...frame, data: unionInto(masks, frame) });
}

/**
 * The labeler's faces: brush regions that overlap are one face drawn in
 * several strokes, so they are merged (union-find over overlapping pairs).
 */
export function groupRegions(regions: readonly BitMask[]): BitMask[] {
  const parent = regions.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      if (intersection(regions[i], regions[j]) > 0) parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, BitMask[]>();
  regions.forEach((r, i) => {
    const k = find(i);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  });
  return [...groups.values()].map((g) => (g.length === 1 ? g[0] : union(g)));
}

export interface Match {
  /** Index of our predicted face. */
  pred: number;
  /** Index of the labeler's face. */
  gt: number;
  iou: number;
}

/**
 * One-to-one matching by IoU, greedy from the best pair down. A pair counts
 * as the same face when IoU >= minIou or when one mask mostly (>= 50 %) lies
 * inside the other (a very small or very large prediction is still that face).
 */
export function matchFaces(preds: readonly BitMask[], gts: readonly BitMask[], minIou = 0.1): { matches: Match[]; falseFaces: number[]; missed: number[] } {
  const pairs: Match[] = [];
  preds.forEach((p, i) =>
    gts.forEach((g, j) => {
      const inter = intersection(p, g);
      if (inter === 0) return;
      const iou = inter / (p.area + g.area - inter);
      const contained = inter / Math.min(p.area, g.area) >= 0.5;
      if (iou >= minIou || contained) pairs.push({ pred: i, gt: j, iou });
    }),
  );
  pairs.sort((a, b) => b.iou - a.iou);
  const usedP = new Set<number>();
  const usedG = new Set<number>();
  const matches: Match[] = [];
  for (const m of pairs) {
    if (usedP.has(m.pred) || usedG.has(m.gt)) continue;
    usedP.add(m.pred);
    usedG.add(m.gt);
    matches.push(m);
  }
  matches.sort((a, b) => a.pred - b.pred);
  return {
    matches,
    falseFaces: preds.map((_, i) => i).filter((i) => !usedP.has(i)),
    missed: gts.map((_, j) => j).filter((j) => !usedG.has(j)),
  };
}

/**
 * Engine face size (landmark extent) / larger side of its dilate-0 mask: only
 * a fallback for prediction records without the face size the engine reports
 * (records made before it was recorded). It varies by photo: measured with the
 * real engine it is 1.12 on the bundled NASA portrait and 0.77-0.84 on FASSEG
 * portraits, so an estimate from it can be ~30 % off; learning uses the
 * recorded size (test/integration/real-engine.test.ts checks the recovery).
 */
export const FACE_SIZE_RATIO = 0.87;

/**
 * The face size the engine measured dilate against, estimated from our mask:
 * the engine's face size is the landmark extent, about FACE_SIZE_RATIO times
 * the larger side of a mask made with dilate 0; dilate d0 adds 2*d0 % of it.
 */
export function estimateFaceSize(pred: BitMask, d0: number): number {
  const side = Math.max(pred.width, pred.height);
  return Math.max(1, side / Math.max(0.2, 1 / FACE_SIZE_RATIO + (2 * d0) / 100));
}

/** The IoU curve of one matched pair (see IouCurve); imageWidth/Height clip the window. */
export function iouCurve(pred: BitMask, gt: BitMask, d0: number, imageWidth: number, imageHeight: number, faceSize = estimateFaceSize(pred, d0)): IouCurve {
  const unitPx = faceSize / 100;
  const margin = Math.ceil(CURVE_RANGE * unitPx) + 1;
  const x0 = Math.max(0, Math.min(pred.x, gt.x) - margin);
  const y0 = Math.max(0, Math.min(pred.y, gt.y) - margin);
  const x1 = Math.min(imageWidth, Math.max(pred.x + pred.width, gt.x + gt.width) + margin);
  const y1 = Math.min(imageHeight, Math.max(pred.y + pred.height, gt.y + gt.height) + margin);
  // subsample big windows: s x s blocks represented by their centre pixel
  const s = Math.max(1, Math.ceil(Math.sqrt(((x1 - x0) * (y1 - y0)) / MAX_WINDOW_PIXELS)));
  const w = Math.ceil((x1 - x0) / s);
  const h = Math.ceil((y1 - y0) / s);
  const pm = new Uint8Array(w * h);
  const gm = new Uint8Array(w * h);
  const off = Math.floor(s / 2);
  for (let j = 0; j < h; j++) {
    const y = Math.min(y1 - 1, y0 + j * s + off);
    for (let i = 0; i < w; i++) {
      const x = Math.min(x1 - 1, x0 + i * s + off);
      pm[j * w + i] = at(pred, x, y);
      gm[j * w + i] = at(gt, x, y);
    }
  }
  const sd = signedDistance(pm, w, h);
  const all = new Array<number>(BINS).fill(0);
  const gtBins = new Array<number>(BINS).fill(0);
  const weight = s * s;
  for (let k = 0; k < sd.length; k++) {
    // sd: grid px from the mask's edge (half a pixel beyond the outermost on pixel), + inside
    const u = (sd[k] * s) / unitPx;
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor((u + CURVE_RANGE) / CURVE_BIN)));
    all[bin] += weight;
    if (gm[k]) gtBins[bin] += weight;
  }
  return { d0, faceSize, gtArea: gt.area, all, gt: gtBins };
}

/** IoU the pair would have had with dilate d (from the curve, no masks needed). */
export function iouAt(c: IouCurve, d: number): number {
  // pixel in the grown mask when u > d0 - d; a bin counts when its centre is above the cut
  const cut = c.d0 - d;
  let inter = 0;
  let area = 0;
  for (let i = c.all.length - 1; i >= 0; i--) {
    const centre = -CURVE_RANGE + (i + 0.5) * CURVE_BIN;
    if (centre <= cut) break;
    area += c.all[i];
    inter += c.gt[i];
  }
  const u = area + c.gtArea - inter;
  return u > 0 ? inter / u : 0;
}

/** The dilate in [lo, hi] (step) that maximises this face's IoU, ties to the one nearest d0. */
export function bestDilate(c: IouCurve, lo = -20, hi = 40, step = 0.5): { dilate: number; iou: number } {
  let best = { dilate: c.d0, iou: iouAt(c, c.d0) };
  for (let d = lo; d <= hi + 1e-9; d += step) {
    const v = iouAt(c, d);
    if (v > best.iou + 1e-9 || (Math.abs(v - best.iou) <= 1e-9 && Math.abs(d - c.d0) < Math.abs(best.dilate - c.d0))) best = { dilate: d, iou: v };
  }
  return { dilate: roundTo(best.dilate, 2), iou: best.iou };
}

export { RleError };
