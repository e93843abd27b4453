// A one-hidden-layer perceptron for per-pixel classification, trained with
// Adam on weighted logistic loss. Small on purpose: a project gives tens of
// corrected faces, and a few hundred weights train in seconds on one core
// with no native dependency. Pure and deterministic for a given seed.
import { seededRandom } from '../util/random.js';

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

export function trainMlp(set: TrainSet, inputs: number, opts: TrainOptions = DEFAULT_TRAIN): MlpWeights {
  const H = opts.hidden;
  const rnd = seededRandom(opts.seed);
  const { mean, std } = standardise(set, inputs);
  const w1 = new Float64Array(H * inputs).map(() => (rnd() * 2 - 1) * Math.sqrt(3 / inputs));
  const b1 = new Float64Array(H);
  const w2 = new Float64Array(H).map(() => (rnd() * 2 - 1) * Math.sqrt(3 / H));
  let b2 = 0;
  // Adam state
  const params = [w1, b1, w2];
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  let mb2 = 0;
  let vb2 = 0;
  const g1 = new Float64Array(H * inputs);
  const gb1 = new Float64Array(H);
  const g2 = new Float64Array(H);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let t = 0;

  const rows: number[] = [];
  for (let r = 0; r < set.rows; r++) if (set.w[r] > 0) rows.push(r);
  const xs = new Float64Array(inputs);
  const h = new Float64Array(H);
  outer: for (let epoch = 0; epoch < opts.epochs; epoch++) {
    // shuffle (Fisher-Yates)
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const tmp = rows[i];
      rows[i] = rows[j];
      rows[j] = tmp;
    }
    for (let start = 0; start < rows.length; start += opts.batch) {
      if (opts.stop?.()) break outer;
      g1.fill(0);
      gb1.fill(0);
      g2.fill(0);
      let gb2 = 0;
      let wsum = 0;
      const end = Math.min(rows.length, start + opts.batch);
      for (let q = start; q < end; q++) {
        const r = rows[q];
        for (let k = 0; k < inputs; k++) xs[k] = (set.x[r * inputs + k] - mean[k]) / std[k];
        let z = b2;
        for (let j = 0; j < H; j++) {
          let a = b1[j];
          const o = j * inputs;
          for (let k = 0; k < inputs; k++) a += w1[o + k] * xs[k];
          h[j] = Math.tanh(a);
          z += w2[j] * h[j];
        }
        const p = 1 / (1 + Math.exp(-z));
        const wt = set.w[r];
        const dz = (p - set.y[r]) * wt;
        wsum += wt;
        gb2 += dz;
        for (let j = 0; j < H; j++) {
          g2[j] += dz * h[j];
          const da = dz * w2[j] * (1 - h[j] * h[j]);
          gb1[j] += da;
          const o = j * inputs;
          for (let k = 0; k < inputs; k++) g1[o + k] += da * xs[k];
        }
      }
      if (wsum <= 0) continue;
      t++;
      const lrT = (opts.lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
      const grads = [g1, gb1, g2];
      for (let p = 0; p < params.length; p++) {
        const P = params[p];
        const G = grads[p];
        const M = m[p];
        const V = v[p];
        const decay = p === 1 ? 0 : opts.l2;
        for (let i = 0; i < P.length; i++) {
          const g = G[i] / wsum + decay * P[i];
          M[i] = beta1 * M[i] + (1 - beta1) * g;
          V[i] = beta2 * V[i] + (1 - beta2) * g * g;
          P[i] -= (lrT * M[i]) / (Math.sqrt(V[i]) + 1e-8);
        }
      }
      const g = gb2 / wsum;
      mb2 = beta1 * mb2 + (1 - beta1) * g;
      vb2 = beta2 * vb2 + (1 - beta2) * g * g;
      b2 -= (lrT * mb2) / (Math.sqrt(vb2) + 1e-8);
    }
  }
  return { inputs, hidden: H, mean, std, w1: Array.from(w1), b1: Array.from(b1), w2: Array.from(w2), b2 };
}

/** Probabilities for rows x inputs features. */
export function predictMlp(net: MlpWeights, x: Float32Array, rows: number): Float32Array {
  const { inputs, hidden: H, mean, std, w1, b1, w2, b2 } = net;
  const out = new Float32Array(rows);
  const xs = new Float64Array(inputs);
  for (let r = 0; r < rows; r++) {
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
