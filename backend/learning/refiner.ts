// The per-project mask refiner: a small per-pixel classifier in each face's
// own frame, trained on the labelers' corrected masks, that turns the engine's
// mask (plus colour, texture and landmark geometry) into the project's idea
// of "face". It predicts a correction of a strong prior (the engine's signed
// distance is its first feature), so tens of corrections are enough, and a new
// one is kept only when it beats the current model on held-out corrections.
import { connectedTo, fillHoles } from '../pipeline/mask-raster.js';
import { FRAME_SCALE, validMask, type FaceSample, type SampleHead } from '../pipeline/face-sample.js';
import type { FaceRefiner, RefinedField } from '../pipeline/types.js';
import { FEATURE_NAMES, FEATURES, sampleFeatures, sampleYaw } from './refiner-features.js';
import { DEFAULT_TRAIN, predictMlp, trainMlp, type MlpWeights, type TrainOptions } from './mlp.js';
import { seededRandom } from '../util/random.js';
import { roundTo } from '../util/num.js';
import { fnv1a } from '../util/random.js';

/** One corrected face: what the engine saw and what the labeler kept (0..1, -1 = don't care). */
export interface RefinerExample {
  sample: FaceSample;
  target: Float32Array;
  /** Groups examples for the held-out split (e.g. the task id). */
  group: string;
}

export interface RefinerModel {
  kind: 'faceseg-refiner';
  version: 1;
  frameSize: number;
  frameScale: number;
  features: string;
  net: MlpWeights;
  /** Examples it was trained on. */
  examples: number;
  /** Refine only faces turned more than this (sampleYaw, 0..2); absent = every face. The evaluation prior (`eval --fit-prior`) sets it. */
  minYaw?: number;
  /** Refine only faces at least this big (FaceSample.faceSize, image pixels); absent = every face. The evaluation prior (`eval --fit-prior`) sets it. */
  minFaceSize?: number;
  /** Pixels farther outside the engine's mask than this (face sizes) stay outside; absent = no limit. The evaluation prior (`eval --fit-prior`) sets it. */
  maxGrow?: number;
  /** Below the chin it may only remove: trained where rows below the chin were "don't care", it would take the neck. */
  chinLimit?: boolean;
}

export interface FitReport {
  examples: number;
  heldOut: number;
  /** Mean frame IoU on the held-out examples: the model in use (engine or current refiner) and the candidate. */
  iouCurrent: number;
  iouCandidate: number;
  accepted: boolean;
  reason: string;
  trainMs: number;
}

export interface FitOptions {
  train: TrainOptions;
  /** Most training pixels (rows) over all examples. */
  maxRows: number;
  /** Share of example groups held out for validation. */
  holdOut: number;
  /** The candidate must beat the current model by this much held-out IoU. */
  minGain: number;
  /** Fewest examples to fit at all. */
  minExamples: number;
  /** Wall-clock budget; training stops early past it. */
  budgetMs: number;
}

export const DEFAULT_FIT: FitOptions = { train: DEFAULT_TRAIN, maxRows: 120_000, holdOut: 0.25, minGain: 0.005, minExamples: 6, budgetMs: 90_000 };

const FEATURES_ID = FEATURE_NAMES.join(',');

/**
 * Training rows of one example: pixels near the engine's edge or where the
 * labeler disagrees, the rest thinned (and everything thinned by `keep`).
 * Only the chosen rows' features are kept, so memory grows with maxRows, not
 * with the number of examples.
 */
function exampleRows(e: RefinerExample, rnd: () => number, keepFar: number, keep: number): { x: Float32Array; y: number[]; w: number[] } {
  const valid = validMask(e.sample);
  const all = sampleFeatures(e.sample, valid);
  const idx: number[] = [];
  const y: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < e.target.length; i++) {
    const t = e.target[i];
    if (t < 0 || !valid[i]) continue;
    const sd = e.sample.sd[i];
    const informative = Math.abs(sd) < 0.3 || (t >= 0.5) !== (sd > 0);
    if (!informative && rnd() >= keepFar) continue;
    if (keep < 1 && rnd() >= keep) continue;
    idx.push(i);
    y.push(t);
    w.push((informative ? 1 : 1 / keepFar) / keep);
  }
  const x = new Float32Array(idx.length * FEATURES);
  idx.forEach((i, r) => x.set(all.subarray(i * FEATURES, (i + 1) * FEATURES), r * FEATURES));
  return { x, y, w };
}

/** Most examples a fit uses (the latest): bounds time and memory whatever a project holds. */
export const MAX_EXAMPLES = 400;

function buildSet(examples: readonly RefinerExample[], maxRows: number, seed: number) {
  const rnd = seededRandom(seed);
  const used = examples.slice(-MAX_EXAMPLES);
  // about 45 % of a frame's pixels are kept before thinning (measured on FASSEG frames)
  const perExample = used.length ? 0.45 * used[0].sample.size * used[0].sample.size : 1;
  const keep = Math.min(1, maxRows / Math.max(1, used.length * perExample));
  const parts = used.map((e) => exampleRows(e, rnd, 0.25, keep));
  const rows = parts.reduce((a, p) => a + p.y.length, 0);
  const x = new Float32Array(rows * FEATURES);
  const y = new Float32Array(rows);
  const w = new Float32Array(rows);
  let r = 0;
  for (const p of parts) {
    x.set(p.x, r * FEATURES);
    y.set(p.y, r);
    w.set(p.w, r);
    r += p.y.length;
  }
  return { x, y, w, rows };
}

export function trainRefiner(examples: readonly RefinerExample[], opts: FitOptions = DEFAULT_FIT, deadline = Infinity): RefinerModel {
  const set = buildSet(examples, opts.maxRows, opts.train.seed);
  const net = trainMlp(set, FEATURES, { ...opts.train, stop: () => performance.now() > deadline });
  const size = examples[0]?.sample.size ?? 0;
  return { kind: 'faceseg-refiner', version: 1, frameSize: size, frameScale: FRAME_SCALE, features: FEATURES_ID, net, examples: examples.length };
}

/** Face probability of every frame pixel. */
export function refinerProbability(model: RefinerModel, sample: FaceSample): Float32Array {
  // pixels a limit keeps outside are "not face" whatever the network says: it is not asked (most of the frame)
  const only = askedPixels(model, sample);
  const x = sampleFeatures(sample, validMask(sample), only);
  return predictMlp(model.net, x, sample.size * sample.size, only);
}

/** The frame pixels a refiner may call face under its limits (maxGrow, chinLimit); undefined = all. */
function askedPixels(model: RefinerModel, sample: FaceSample): ((i: number) => boolean) | undefined {
  const { maxGrow, chinLimit } = model;
  if (maxGrow === undefined && !chinLimit) return undefined;
  const grow = maxGrow ?? Infinity;
  const chinRow = chinLimit ? sample.landmarks.chin.y : Infinity;
  const n = sample.size;
  return (i) => sample.sd[i] >= -grow && (Math.floor(i / n) + 0.5 <= chinRow || sample.sd[i] > 0);
}

/** Smooth, keep the part connected to the face's core, fill holes. */
export function cleanProbability(prob: Float32Array, sample: FaceSample): Uint8Array {
  const n = sample.size;
  const smooth = new Float32Array(prob.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      let c = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= n || xx >= n) continue;
          s += prob[yy * n + xx];
          c++;
        }
      }
      smooth[y * n + x] = s / c;
    }
  }
  const on = new Uint8Array(prob.length);
  for (let i = 0; i < on.length; i++) on[i] = smooth[i] > 0.5 ? 1 : 0;
  let core = connectedTo(on, n, n, (i) => sample.sd[i] > 0.1);
  if (!core.some((v) => v)) core = connectedTo(on, n, n, (i) => sample.sd[i] > 0);
  const filled = fillHoles(core, n, n);
  // keep the smoothed probability for sub-pixel edges, forced to agree with the cleaned mask
  for (let i = 0; i < smooth.length; i++) smooth[i] = filled[i] ? Math.max(smooth[i], 0.52) : Math.min(smooth[i], 0.48);
  return Uint8Array.from(smooth, (p) => Math.round(p * 255));
}

/** The refined mask as a field for pasteDistanceField: about frame pixels from the edge, sub-pixel at the edge. */
export function refinedField(model: RefinerModel, sample: FaceSample): RefinedField {
  const p = cleanProbability(refinerProbability(model, sample), sample);
  const field = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) field[i] = (p[i] / 255 - 0.5) * 4;
  return { field, size: sample.size, roi: sample.frame };
}

/** A refiner fitted on another frame size or feature list, or a face outside the turns and sizes it is meant for, leaves the engine's mask as it is. */
export function refinerFits(model: RefinerModel, sample: SampleHead): boolean {
  if (sample.size !== model.frameSize || model.features !== FEATURES_ID) return false;
  if (model.minFaceSize !== undefined && !(sample.faceSize >= model.minFaceSize)) return false;
  return model.minYaw === undefined || sampleYaw(sample) > model.minYaw;
}

export function asFaceRefiner(model: RefinerModel): FaceRefiner {
  return {
    accepts: (head) => refinerFits(model, head),
    refine: (sample) => (refinerFits(model, sample) ? refinedField(model, sample) : undefined),
    data: model,
  };
}

/** Frame IoU of a binary prediction with the target (valid, cared-for pixels). */
export function frameIou(pred: (i: number) => boolean, e: RefinerExample): number {
  const valid = validMask(e.sample);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < e.target.length; i++) {
    if (e.target[i] < 0 || !valid[i]) continue;
    const a = pred(i);
    const b = e.target[i] >= 0.5;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union ? inter / union : 1;
}

/** Mean frame IoU of what the engine would paste with `model` in use (scored as asFaceRefiner applies it). */
export function meanFrameIou(model: RefinerModel | null, examples: readonly RefinerExample[]): number {
  if (examples.length === 0) return NaN;
  let sum = 0;
  for (const e of examples) {
    if (model && refinerFits(model, e.sample)) {
      const p = cleanProbability(refinerProbability(model, e.sample), e.sample);
      sum += frameIou((i) => p[i] >= 128, e);
    } else {
      sum += frameIou((i) => e.sample.sd[i] > 0, e);
    }
  }
  return sum / examples.length;
}

/** Deterministic split of groups: a hash of the group id. */
function heldOutGroup(group: string, share: number): boolean {
  return (fnv1a(group) % 1000) / 1000 < share;
}

/**
 * Train a candidate on part of the examples, compare it with the model in use
 * on the rest, and when it wins refit it on all of them. Returns the model to
 * use from now on (the current one when the candidate lost) and the figures.
 */
export function fitRefiner(examples: readonly RefinerExample[], current: RefinerModel | null, opts: FitOptions = DEFAULT_FIT): { model: RefinerModel | null; report: FitReport } {
  const t0 = performance.now();
  const deadline = t0 + opts.budgetMs;
  const usable = examples.filter((e) => e.sample.size > 0 && e.target.some((t) => t >= 0));
  const base = { examples: usable.length, heldOut: 0, iouCurrent: NaN, iouCandidate: NaN, trainMs: 0 };
  if (usable.length < opts.minExamples) {
    return { model: current, report: { ...base, accepted: false, reason: `${usable.length} usable corrected faces, ${opts.minExamples} needed` } };
  }
  let test = usable.filter((e) => heldOutGroup(e.group, opts.holdOut));
  if (test.length < 2 || test.length > usable.length - 4) {
    // too few groups for the hash split: every fourth example
    test = usable.filter((_, i) => i % 4 === 3);
  }
  const train = usable.filter((e) => !test.includes(e));
  // the validation fit gets half the budget, the final fit the rest
  const candidate = trainRefiner(train, opts, t0 + opts.budgetMs / 2);
  const iouCurrent = meanFrameIou(current, test);
  const iouCandidate = meanFrameIou(candidate, test);
  const report = { ...base, heldOut: test.length, iouCurrent: roundTo(iouCurrent, 4), iouCandidate: roundTo(iouCandidate, 4) };
  if (!(iouCandidate >= iouCurrent + opts.minGain)) {
    return { model: current, report: { ...report, accepted: false, reason: 'the candidate did not beat the current model on held-out corrections', trainMs: Math.round(performance.now() - t0) } };
  }
  const model = trainRefiner(usable, opts, deadline);
  return { model, report: { ...report, accepted: true, reason: 'beat the current model on held-out corrections', trainMs: Math.round(performance.now() - t0) } };
}

/** A stored refiner, or null when there is none or it does not parse (then the engine's masks are used). */
export function parseRefiner(text: string | undefined): RefinerModel | null {
  if (!text) return null;
  try {
    const m = JSON.parse(text) as RefinerModel;
    const gate = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v));
    return m.kind === 'faceseg-refiner' && m.version === 1 && gate(m.minYaw) && gate(m.minFaceSize) && gate(m.maxGrow) && (m.chinLimit === undefined || typeof m.chinLimit === 'boolean') ? m : null;
  } catch {
    return null;
  }
}
