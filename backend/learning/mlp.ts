// A one-hidden-layer perceptron for per-pixel classification, trained with
// Adam on weighted logistic loss. Small on purpose: a project gives tens of
// corrected faces, and a few hundred weights train in seconds on one core
// with no native dependency. Pure and deterministic for a given seed.
import { seededRandom, shuffleInPlace } from '../util/random.js';

export interface MlpWeights {
  inputs: number;
  hidden: number;
  /** Input standardisation. */
  mean: number[];
  std: number[];
  /** hidden x inputs, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

export interface TrainSet {
  /** rows x inputs features. */
  x: Float32Array;
  /** Targets 0..1. */
  y: Float32Array;
  /** Per-row weights (0 = ignore). */
  w: Float32Array;
  rows: number;
}

export interface TrainOptions {
  hidden: number;
  epochs: number;
  batch: number;
  lr: number;
  l2: number;
  seed: number;
  /** Stop early when this returns true (time budget). */
  stop?: () => boolean;
}

export const DEFAULT_TRAIN: TrainOptions = { hidden: 32, epochs: 20, batch: 512, lr: 0.01, l2: 1e-4, seed: 1 };

function standardise(set: TrainSet, inputs: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(inputs).fill(0);
  const sq = new Array<number>(inputs).fill(0);
  let n = 0;
  for (let r = 0; r < set.rows; r++) {
    if (set.w[r] <= 0) continue;
    n++;
    for (let k = 0; k < inputs; k++) {
      const v = set.x[r * inputs + k];
      mean[k] += v;
      sq[k] += v * v;
    }
  }
  const std = mean.map((m, k) => {
    const mu = n ? m / n : 0;
    return Math.sqrt(Math.max(1e-6, (n ? sq[k] / n : 1) - mu * mu));
  });
  return { mean: mean.map((m) => (n ? m / n : 0)), std };
}

/** The trained tensors, biases of the output included (b2 as one value), in the order Adam walks them. */
interface Tensors {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
}

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

function tensorList(t: Tensors): Float64Array[] {
  return [t.w1, t.b1, t.w2, t.b2];
}

/** Uniform (Glorot-like) initial weights, zero biases: w1 then w2 from `rnd`. */
function initialTensors(inputs: number, hidden: number, rnd: () => number): Tensors {
  const w1 = new Float64Array(hidden * inputs).map(() => (rnd() * 2 - 1) * Math.sqrt(3 / inputs));
  const b1 = new Float64Array(hidden);
  const w2 = new Float64Array(hidden).map(() => (rnd() * 2 - 1) * Math.sqrt(3 / hidden));
  return { w1, b1, w2, b2: new Float64Array(1) };
}

function zeroLike(t: Tensors): Tensors {
  return { w1: new Float64Array(t.w1.length), b1: new Float64Array(t.b1.length), w2: new Float64Array(t.w2.length), b2: new Float64Array(1) };
}


/** Work buffers of one training run: a standardised input row and the hidden activations. */
interface Scratch {
  xs: Float64Array;
  h: Float64Array;
}

/** Gradients of the weighted logistic loss over rows[start..end) into `grad` (zeroed first); returns the rows' total weight. */
function accumulateBatch(set: TrainSet, rows: readonly number[], start: number, end: number, net: Tensors, norm: { mean: number[]; std: number[] }, grad: Tensors, scratch: Scratch): number {
  for (const g of tensorList(grad)) g.fill(0);
  const { xs, h } = scratch;
  const inputs = xs.length;
  const hidden = h.length;
  let wsum = 0;
  for (let q = start; q < end; q++) {
    const r = rows[q];
    for (let k = 0; k < inputs; k++) xs[k] = (set.x[r * inputs + k] - norm.mean[k]) / norm.std[k];
    let z = net.b2[0];
    for (let j = 0; j < hidden; j++) {
      let a = net.b1[j];
      const o = j * inputs;
      for (let k = 0; k < inputs; k++) a += net.w1[o + k] * xs[k];
      h[j] = Math.tanh(a);
      z += net.w2[j] * h[j];
    }
    const p = 1 / (1 + Math.exp(-z));
    const wt = set.w[r];
    const dz = (p - set.y[r]) * wt;
    wsum += wt;
    grad.b2[0] += dz;
    for (let j = 0; j < hidden; j++) {
      grad.w2[j] += dz * h[j];
      const da = dz * net.w2[j] * (1 - h[j] * h[j]);
      grad.b1[j] += da;
      const o = j * inputs;
      for (let k = 0; k < inputs; k++) grad.w1[o + k] += da * xs[k];
    }
  }
  return wsum;
}

/** One Adam step (step number `t`, from 1) on the batch mean gradient; L2 decay on the weights, not the biases. */
function adamStep(net: Tensors, grad: Tensors, m: Tensors, v: Tensors, wsum: number, t: number, opts: TrainOptions): void {
  const { beta1, beta2, eps } = ADAM;
  const lrT = (opts.lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
  const [params, grads, ms, vs] = [net, grad, m, v].map(tensorList);
  for (let p = 0; p < params.length; p++) {
    const [P, G, M, V] = [params[p], grads[p], ms[p], vs[p]];
    const decay = P === net.w1 || P === net.w2 ? opts.l2 : 0;
    for (let i = 0; i < P.length; i++) {
      const g = G[i] / wsum + decay * P[i];
      M[i] = beta1 * M[i] + (1 - beta1) * g;
      V[i] = beta2 * V[i] + (1 - beta2) * g * g;
      P[i] -= (lrT * M[i]) / (Math.sqrt(V[i]) + eps);
    }
  }
}

export function trainMlp(set: TrainSet, inputs: number, opts: TrainOptions = DEFAULT_TRAIN): MlpWeights {
  const hidden = opts.hidden;
  const rnd = seededRandom(opts.seed);
  const norm = standardise(set, inputs);
  const net = initialTensors(inputs, hidden, rnd);
  const [grad, m, v] = [zeroLike(net), zeroLike(net), zeroLike(net)];
  const scratch: Scratch = { xs: new Float64Array(inputs), h: new Float64Array(hidden) };
  const rows: number[] = [];
  for (let r = 0; r < set.rows; r++) if (set.w[r] > 0) rows.push(r);
  let t = 0;
  outer: for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffleInPlace(rows, rnd);
    for (let start = 0; start < rows.length; start += opts.batch) {
      if (opts.stop?.()) break outer;
      const wsum = accumulateBatch(set, rows, start, Math.min(rows.length, start + opts.batch), net, norm, grad, scratch);
      if (wsum <= 0) continue;
      adamStep(net, grad, m, v, wsum, ++t, opts);
    }
  }
  const { w1, b1, w2, b2 } = net;
  return { inputs, hidden, mean: norm.mean, std: norm.std, w1: Array.from(w1), b1: Array.from(b1), w2: Array.from(w2), b2: b2[0] };
}

/** Probabilities for rows x inputs features. */
export function predictMlp(net: MlpWeights, x: Float32Array, rows: number, only?: (row: number) => boolean): Float32Array {
  const { inputs, hidden: H, mean, std, w1, b1, w2, b2 } = net;
  const out = new Float32Array(rows);
  const xs = new Float64Array(inputs);
  for (let r = 0; r < rows; r++) {
    // rows the caller does not need stay 0 (and cost nothing)
    if (only && !only(r)) continue;
    for (let k = 0; k < inputs; k++) xs[k] = (x[r * inputs + k] - mean[k]) / std[k];
    let z = b2;
    for (let j = 0; j < H; j++) {
      let a = b1[j];
      const o = j * inputs;
      for (let k = 0; k < inputs; k++) a += w1[o + k] * xs[k];
      z += w2[j] * Math.tanh(a);
    }
    out[r] = 1 / (1 + Math.exp(-z));
  }
  return out;
}
