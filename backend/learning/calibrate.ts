// Fitting per-project parameters and the score map on stored corrections.
// Pure functions over CorrectionRecord; quick (arithmetic on IoU curves).
import { iouAt } from './masks.js';
import type { CorrectionRecord, ScoreMap } from './store.js';
import { clamp, roundTo } from '../util/num.js';

/** Below this IoU a face counts as changed by the labeler (an untouched mask gives 1). */
export const CHANGED_IOU = 0.99;
/** Dilate search grid. */
export const DILATE_GRID = { lo: -20, hi: 40, step: 0.5 };
/** The fit must beat the defaults by this much mean IoU to replace them. */
const MIN_GAIN = 1e-3;

export interface DilateFit {
  dilate: number;
  /** Mean IoU over matched faces with the default dilate. */
  meanIouDefault: number;
  /** Mean IoU over matched faces with the fitted dilate. */
  meanIouFitted: number;
  faces: number;
}

export function meanIouAt(corrections: readonly CorrectionRecord[], dilate: number): number {
  let sum = 0;
  let n = 0;
  for (const c of corrections) {
    for (const f of c.faces) {
      sum += iouAt(f.curve, dilate);
      n++;
    }
  }
  return n ? sum / n : 0;
}

/**
 * The dilate that maximises mean IoU over the matched faces, searched on a
 * grid. Keeps the default unless the fit beats it by MIN_GAIN, so the result
 * is never worse than the defaults on the corrections it was fitted on.
 */
export function fitDilate(corrections: readonly CorrectionRecord[], defaultDilate: number): DilateFit {
  const faces = corrections.reduce((a, c) => a + c.faces.length, 0);
  const base = meanIouAt(corrections, defaultDilate);
  let best = { dilate: defaultDilate, iou: base };
  if (faces > 0) {
    for (let d = DILATE_GRID.lo; d <= DILATE_GRID.hi + 1e-9; d += DILATE_GRID.step) {
      const v = meanIouAt(corrections, d);
      if (v > best.iou + 1e-12) best = { dilate: roundTo(d, 2), iou: v };
    }
  }
  if (best.iou < base + MIN_GAIN) best = { dilate: defaultDilate, iou: base };
  return { dilate: best.dilate, meanIouDefault: base, meanIouFitted: best.iou, faces };
}

/** Average ranks (ties share their mean rank), 1-based. */
function ranks(v: readonly number[]): number[] {
  const idx = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k][1]] = mean;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation; null when undefined (fewer than 3 pairs or a constant side). */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  const n = a.length;
  if (n < 3 || b.length !== n) return null;
  const ra = ranks(a);
  const rb = ranks(b);
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  if (da === 0 || db === 0) return null;
  return roundTo(num / Math.sqrt(da * db), 4);
}

/**
 * Isotonic regression (pool adjacent violators) of "changed" on the score,
 * constrained non-increasing: a higher score never means a higher chance of
 * a change. Returns block centres for piecewise-linear interpolation; null
 * when there is too little to fit (fewer than minPairs, or one class only).
 */
export function fitScoreMap(pairs: ReadonlyArray<{ score: number; changed: boolean }>, minPairs = 10): ScoreMap | null {
  if (pairs.length < minPairs) return null;
  const pos = pairs.filter((p) => p.changed).length;
  if (pos === 0 || pos === pairs.length) return null;
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  // blocks of (sum x, sum y, weight); fit y non-increasing in x
  const blocks: Array<{ sx: number; sy: number; w: number }> = [];
  for (const p of sorted) {
    blocks.push({ sx: p.score, sy: p.changed ? 1 : 0, w: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.sy / a.w >= b.sy / b.w && a.sx / a.w !== b.sx / b.w) break;
      blocks.splice(blocks.length - 2, 2, { sx: a.sx + b.sx, sy: a.sy + b.sy, w: a.w + b.w });
    }
  }
  return { x: blocks.map((b) => roundTo(b.sx / b.w, 4)), p: blocks.map((b) => roundTo(b.sy / b.w, 4)) };
}

/** P(change) for a raw score (linear between block centres, flat beyond the ends). */
export function pChange(map: ScoreMap, score: number): number {
  const { x, p } = map;
  if (score <= x[0]) return p[0];
  if (score >= x[x.length - 1]) return p[p.length - 1];
  let i = 1;
  while (x[i] < score) i++;
  const t = (score - x[i - 1]) / (x[i] - x[i - 1]);
  return p[i - 1] + t * (p[i] - p[i - 1]);
}

/**
 * The score sent to Label Studio: 1 - P(change), with a sliver of the raw
 * score so that flat parts of the map keep the raw order (uncertainty
 * sampling sorts on it).
 */
export function calibratedScore(map: ScoreMap, raw: number): number {
  const v = 0.99 * (1 - pChange(map, raw)) + 0.01 * raw;
  return roundTo(clamp(v, 0, 1), 4);
}

/** Per-correction IoU: matched faces by IoU, removed and missed faces count 0. */
export function taskIou(c: CorrectionRecord): number {
  const n = c.faces.length + c.falseFaceScores.length + c.missed;
  if (n === 0) return 1; // no face predicted, none drawn: right
  return c.faces.reduce((a, f) => a + f.iou, 0) / n;
}

export interface QualityFigures {
  corrections: number;
  changed: number;
  facesMatched: number;
  facesMissed: number;
  facesFalse: number;
  /** Mean IoU over matched faces, as predicted. */
  meanFaceIou: number | null;
  /** Mean per-task IoU (missed and removed faces count 0). */
  meanTaskIou: number | null;
  /** Median dilate the matched faces would have needed. */
  medianBestDilate: number | null;
  /** Spearman correlation of our face score with the face's IoU. */
  spearmanFaceScoreIou: number | null;
  /** Spearman correlation of our prediction score with the task's IoU. */
  spearmanTaskScoreIou: number | null;
}

export function qualityFigures(cs: readonly CorrectionRecord[]): QualityFigures {
  const faces = cs.flatMap((c) => c.faces);
  const bests = faces.map((f) => f.bestDilate).sort((a, b) => a - b);
  return {
    corrections: cs.length,
    changed: cs.filter((c) => c.changed).length,
    facesMatched: faces.length,
    facesMissed: cs.reduce((a, c) => a + c.missed, 0),
    facesFalse: cs.reduce((a, c) => a + c.falseFaceScores.length, 0),
    meanFaceIou: faces.length ? roundTo(faces.reduce((a, f) => a + f.iou, 0) / faces.length, 4) : null,
    meanTaskIou: cs.length ? roundTo(cs.reduce((a, c) => a + taskIou(c), 0) / cs.length, 4) : null,
    medianBestDilate: bests.length ? bests[Math.floor(bests.length / 2)] : null,
    spearmanFaceScoreIou: spearman(
      faces.map((f) => f.score),
      faces.map((f) => f.iou),
    ),
    spearmanTaskScoreIou: spearman(
      cs.map((c) => c.score),
      cs.map(taskIou),
    ),
  };
}
