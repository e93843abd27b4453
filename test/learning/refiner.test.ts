import { describe, expect, it } from 'vitest';
import { fitRefiner, meanFrameIou, refinedField, trainRefiner, DEFAULT_FIT, type RefinerExample } from '../../backend/learning/refiner.js';
import { predictMlp, trainMlp } from '../../backend/learning/mlp.js';
import { decodeSample, decodeTarget, encodeSample, encodeTarget, targetInFrame } from '../../backend/learning/sample-codec.js';
import { fromFullMask } from '../../backend/learning/masks.js';
import { trainInWorker } from '../../backend/learning/train-runner.js';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';

const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 12, epochs: 5 }, maxRows: 20_000 };

function examples(from: number, count: number, convention: 'head' | 'face'): RefinerExample[] {
  return Array.from({ length: count }, (_, k) => {
    const f = syntheticFace(from + k, 48);
    return { sample: f.sample, target: convention === 'head' ? f.head : f.face, group: `task-${from + k}` };
  });
}

describe('mlp', () => {
  it('learns a non-linear rule (inside a ring) that a linear model cannot', () => {
    const rows = 4000;
    const x = new Float32Array(rows * 2);
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const a = ((r * 7919) % 1000) / 500 - 1;
      const b = ((r * 104729) % 997) / 498.5 - 1;
      x[r * 2] = a;
      x[r * 2 + 1] = b;
      y[r] = Math.hypot(a, b) < 0.6 ? 1 : 0;
    }
    const net = trainMlp({ x, y, w: new Float32Array(rows).fill(1), rows }, 2, { hidden: 8, epochs: 40, batch: 128, lr: 0.02, l2: 0, seed: 3 });
    const p = predictMlp(net, x, rows);
    let right = 0;
    for (let r = 0; r < rows; r++) if (p[r] >= 0.5 === y[r] >= 0.5) right++;
    expect(right / rows).toBeGreaterThan(0.95);
  });
});

describe('refiner', () => {
  it('learns a project convention (face + hair) the engine does not follow', () => {
    const train = examples(1, 10, 'head');
    const test = examples(100, 6, 'head');
    const model = trainRefiner(train, fast);
    const before = meanFrameIou(null, test);
    const after = meanFrameIou(model, test);
    expect(before).toBeLessThan(0.8);
    expect(after).toBeGreaterThan(before + 0.1);
  });

  it('scores a stored refiner of another feature list or frame size as the engine applies it: not at all', () => {
    const train = examples(1, 10, 'head');
    const test = examples(100, 6, 'head');
    const model = trainRefiner(train, fast);
    const engineOnly = meanFrameIou(null, test);
    expect(meanFrameIou(model, test)).toBeGreaterThan(engineOnly + 0.1);
    expect(meanFrameIou({ ...model, features: `${model.features}-old` }, test)).toBe(engineOnly);
    expect(meanFrameIou({ ...model, frameSize: model.frameSize * 2 }, test)).toBe(engineOnly);
  });

  it('keeps the current model when the candidate does not beat it on held-out corrections', () => {
    // the labelers accepted the engine's masks as they were: nothing to learn
    const same = examples(1, 12, 'face').map((e) => ({ ...e, target: Float32Array.from(e.sample.sd, (v) => (v > 0 ? 1 : 0)) }));
    const { model, report } = fitRefiner(same, null, fast);
    expect(model).toBeNull();
    expect(report.accepted).toBe(false);
    expect(report.heldOut).toBeGreaterThan(0);
    expect(report.iouCurrent).toBeGreaterThan(0.99);
  });

  it('accepts a candidate that beats the engine and reports both held-out figures', () => {
    const { model, report } = fitRefiner(examples(1, 12, 'head'), null, fast);
    expect(model).not.toBeNull();
    expect(report.accepted).toBe(true);
    expect(report.iouCandidate).toBeGreaterThan(report.iouCurrent + fast.minGain);
  });

  it('refuses to fit on too few corrections', () => {
    const { model, report } = fitRefiner(examples(1, 3, 'head'), null, fast);
    expect(model).toBeNull();
    expect(report.reason).toMatch(/needed/);
  });

  it('returns a field whose zero crossing is the refined mask, in the sample frame', () => {
    const model = trainRefiner(examples(1, 10, 'head'), fast);
    const s = syntheticFace(500, 48);
    const r = refinedField(model, s.sample);
    expect(r.size).toBe(48);
    expect(r.roi).toEqual(s.sample.frame);
    let inter = 0;
    let union = 0;
    for (let i = 0; i < r.field.length; i++) {
      const a = r.field[i] > 0;
      const b = s.head[i] > 0;
      inter += a && b ? 1 : 0;
      union += a || b ? 1 : 0;
    }
    expect(inter / union).toBeGreaterThan(0.85);
  });
});

describe('sample codec', () => {
  it('round-trips a sample (pixels exact, distances to 0.01 face sizes) and a target', () => {
    const s = syntheticFace(7).sample;
    const back = decodeSample(encodeSample(s));
    expect(back.size).toBe(s.size);
    expect(Buffer.from(back.rgb).equals(Buffer.from(s.rgb))).toBe(true);
    for (let i = 0; i < s.sd.length; i += 97) expect(Math.abs(back.sd[i] - Math.max(-1.27, Math.min(1.27, s.sd[i])))).toBeLessThanOrEqual(0.0051);
    expect(back.landmarks).toEqual(s.landmarks);
    const t = Float32Array.from({ length: s.size * s.size }, (_, i) => (i % 5 === 0 ? -1 : (i % 3) / 2));
    const tb = decodeTarget(encodeTarget(t), s.size);
    for (let i = 0; i < t.length; i++) expect(tb[i]).toBeCloseTo(t[i], 2);
  });

  it('refuses damaged or oversized samples and targets of another size', () => {
    expect(() => decodeSample(Buffer.from('not a sample').toString('base64'))).toThrow();
    const s = syntheticFace(7, 32).sample;
    expect(() => decodeTarget(encodeTarget(new Float32Array(40 * 40)), 32)).toThrow(/size/);
    // a header that claims a frame larger than its pixels
    const forged = encodeSample({ ...s, size: 32 });
    const raw = Buffer.from(forged, 'base64');
    expect(() => decodeSample(encodeSample({ ...s, size: 300 }))).toThrow(/size/);
    expect(raw.length).toBeGreaterThan(0);
  });

  it('maps a full-image mask into the frame, with rows below the cut marked as do-not-care', () => {
    const s = syntheticFace(3, 32).sample; // frame = the image, 1 px per frame pixel
    const full = new Uint8Array(32 * 32);
    for (let y = 8; y < 24; y++) for (let x = 4; x < 12; x++) full[y * 32 + x] = 1;
    const t = targetInFrame(s, fromFullMask(full, 32, 32)!, 20);
    expect(t[10 * 32 + 5]).toBe(1);
    expect(t[10 * 32 + 20]).toBe(0);
    expect(t[22 * 32 + 5]).toBe(-1);
  });
});

describe('training worker', () => {
  it('fits off the main thread and returns the model and report', async () => {
    const faces = examples(1, 10, 'head').map((e) => ({ sample: encodeSample(e.sample), target: encodeTarget(e.target), group: e.group }));
    const out = await trainInWorker({ faces: [...faces, { sample: 'garbage', target: 'garbage', group: 'x' }], current: null, options: fast });
    expect(out.report.skipped).toBe(1);
    expect(out.report.examples).toBe(10);
    expect(out.model?.kind).toBe('faceseg-refiner');
  }, 60_000);
});
