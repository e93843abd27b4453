// A refiner prior: what its limits let it redraw (turned faces of some sizes,
// near the engine's mask, nothing new below the chin), what a project's
// refiner must beat, REFINER_PRIOR, and the clear errors for a bad file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../backend/config.js';
import { asFaceRefiner, fitRefiner, refinerFits, trainRefiner, DEFAULT_FIT, type RefinerModel } from '../../backend/learning/refiner.js';
import { configuredPrior, loadRefinerPrior, priorId, priorOr, RefinerPriorError } from '../../backend/learning/refiner-prior.js';
import { PRIOR_MAX_GROW, PRIOR_MIN_FACE_SIZE, PRIOR_MIN_YAW } from '../../backend/eval/prior-fit.js';
import { sampleYaw } from '../../backend/learning/refiner-features.js';
import { FRAME_SIZE, type FaceSample } from '../../backend/pipeline/face-sample.js';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';

const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 8, epochs: 4 }, maxRows: 20_000 };

/** A synthetic face at `faceSize` image pixels, its nose moved `turn` face sizes towards a cheek (0 = frontal). */
function face(seed: number, faceSize: number, turn: number): FaceSample {
  const { sample } = syntheticFace(seed, FRAME_SIZE);
  const unit = FRAME_SIZE / 3;
  const nose = { x: sample.landmarks.nose.x + turn * unit, y: sample.landmarks.nose.y };
  // the frame spans three face sizes, in image pixels as in frame pixels
  return { ...sample, faceSize, frame: { ...sample.frame, size: 3 * faceSize }, landmarks: { ...sample.landmarks, nose } };
}

function tmpFile(name: string, text: string | Buffer): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'prior-')), name);
  writeFileSync(file, text);
  return file;
}

describe('a refiner prior', () => {
  // one that learned to take the hair (it wants to grow the engine's mask), with the eval's limits, saved and read back
  const learned = trainRefiner(Array.from({ length: 10 }, (_, k) => syntheticFace(200 + k, FRAME_SIZE)).map((f, k) => ({ sample: f.sample, target: f.head, group: `g${k}` })), fast);
  const file = tmpFile('prior.json', JSON.stringify({ ...learned, minYaw: PRIOR_MIN_YAW, minFaceSize: PRIOR_MIN_FACE_SIZE, maxGrow: PRIOR_MAX_GROW, chinLimit: true }));
  const prior = loadRefinerPrior(file);

  it('reads back with its limits', () => {
    expect(prior.frameSize).toBe(FRAME_SIZE);
    expect([prior.minYaw, prior.minFaceSize, prior.maxGrow, prior.chinLimit]).toEqual([PRIOR_MIN_YAW, PRIOR_MIN_FACE_SIZE, PRIOR_MAX_GROW, true]);
  });

  it('redraws a turned face and leaves frontal and tiny faces to the engine', () => {
    const turned = face(3, 200, 0.45);
    const frontal = face(3, 200, 0);
    const tiny = face(3, PRIOR_MIN_FACE_SIZE - 1, 0.45);
    expect(sampleYaw(turned)).toBeGreaterThan(PRIOR_MIN_YAW);
    expect(sampleYaw(frontal)).toBeLessThan(PRIOR_MIN_YAW);
    expect([turned, frontal, tiny].map((s) => refinerFits(prior, s))).toEqual([true, false, false]);
    const r = asFaceRefiner(prior);
    expect(r.refine(frontal)).toBeUndefined();
    expect(r.refine(tiny)).toBeUndefined();
    const field = r.refine(turned)!;
    expect(field.size).toBe(FRAME_SIZE);
    // a face, not an empty or full frame
    const inside = field.field.filter((v) => v > 0).length / field.field.length;
    expect(inside).toBeGreaterThan(0.02);
    expect(inside).toBeLessThan(0.6);
  });

  it('draws nothing beyond maxGrow of the engine mask, nor below the chin where the engine drew nothing', () => {
    const turned = face(4, 200, 0.45);
    const unlimited = asFaceRefiner({ ...prior, maxGrow: undefined, chinLimit: undefined }).refine(turned)!.field;
    // the synthetic hair reaches 0.15-0.35 face sizes past the face: a tighter limit than the eval's shows the cut
    const grow = 0.1;
    const limited = asFaceRefiner({ ...prior, maxGrow: grow }).refine(turned)!.field;
    const n = turned.size;
    const far = (i: number) => turned.sd[i] < -grow;
    const belowChin = (i: number) => Math.floor(i / n) + 0.5 > turned.landmarks.chin.y && turned.sd[i] <= 0;
    const count = (f: Float32Array, where: (i: number) => boolean) => f.reduce((a, v, i) => a + (v > 0 && where(i) ? 1 : 0), 0);
    // this prior takes the hair: without limits it reaches far outside the engine's mask
    expect(count(unlimited, far)).toBeGreaterThan(20);
    expect(count(limited, far)).toBe(0);
    expect(count(limited, belowChin)).toBe(0);
    // within the limits it still redraws
    expect(count(limited, (i) => turned.sd[i] <= 0)).toBeGreaterThan(0);
  });

  it('is what a project refiner must beat: a candidate that does not is not kept', () => {
    // the labelers' masks are what the prior itself draws on turned faces and the engine's elsewhere
    const faces = Array.from({ length: 12 }, (_, k) => face(k + 1, 150, k % 2 ? 0.45 : 0));
    const examples = faces.map((sample, k) => {
      const field = asFaceRefiner(prior).refine(sample);
      const target = Float32Array.from(field ? field.field : sample.sd, (v) => (v > 0 ? 1 : 0));
      return { sample, target, group: `t${k}` };
    });
    const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 8, epochs: 3 }, maxRows: 20_000 };
    const vsPrior = fitRefiner(examples, prior, fast);
    expect(vsPrior.report.iouCurrent).toBeGreaterThan(0.97);
    expect(vsPrior.report.accepted).toBe(false);
    expect(vsPrior.model).toBe(prior);
  });

  it('has an id that changes with its weights (part of model_version)', () => {
    const other: RefinerModel = { ...prior, net: { ...prior.net, b2: prior.net.b2 + 0.1 } };
    expect(priorId(prior)).toMatch(/^[0-9a-f]{8}$/);
    expect(priorId(prior)).toBe(priorId(loadRefinerPrior(file)));
    expect(priorId(other)).not.toBe(priorId(prior));
  });

  it('is read from REFINER_PRIOR only when the caller has not read it already (null: none)', () => {
    expect(priorOr(undefined, { refinerPrior: file })).toEqual(prior);
    expect(priorOr(null, { refinerPrior: file })).toBeNull();
    const other: RefinerModel = { ...prior, examples: prior.examples + 1 };
    expect(priorOr(other, { refinerPrior: file })).toBe(other);
    expect(() => priorOr(undefined, { refinerPrior: `${file}.missing` })).toThrow(RefinerPriorError);
  });
});

describe('REFINER_PRIOR', () => {
  it('is off by default and with "off", and takes a path', () => {
    expect(loadConfig({}).refinerPrior).toBeNull();
    expect(loadConfig({ REFINER_PRIOR: 'off' }).refinerPrior).toBeNull();
    expect(configuredPrior({ refinerPrior: null })).toBeNull();
    expect(loadConfig({ REFINER_PRIOR: '/x/p.json' }).refinerPrior).toBe('/x/p.json');
  });

  it('refuses a bad file with a clear error that names it and the way out', () => {
    const prior = trainRefiner(Array.from({ length: 8 }, (_, k) => syntheticFace(k + 1, FRAME_SIZE)).map((f, k) => ({ sample: f.sample, target: f.face, group: `g${k}` })), fast);
    const bad: [string, string | Buffer, RegExp][] = [
      ['missing.json', '', /cannot read it/],
      ['not-json.json', '{"kind": "faceseg-ref', /not a faceseg refiner/],
      ['kind.json', JSON.stringify({ ...prior, kind: 'other' }), /not a faceseg refiner/],
      ['frame.json', JSON.stringify({ ...prior, frameSize: 64 }), /another frame/],
      ['features.json', JSON.stringify({ ...prior, features: 'sd,dx' }), /feature list/],
      ['short.json', JSON.stringify({ ...prior, net: { ...prior.net, w1: prior.net.w1.slice(1) } }), /missing, extra or non-finite/],
      ['nan.json', JSON.stringify({ ...prior, net: { ...prior.net, std: prior.net.std.map((v, i) => (i ? v : 0)) } }), /non-finite/],
      ['gate.json', JSON.stringify({ ...prior, minYaw: 'turned' }), /not a faceseg refiner/],
      ['huge.json', Buffer.alloc(2 << 20, 32), /more than/],
    ];
    for (const [name, text, why] of bad) {
      const file = name === 'missing.json' ? path.join(tmpdir(), 'no-such-dir', name) : tmpFile(name, text);
      let err: unknown;
      try {
        loadRefinerPrior(file);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(RefinerPriorError);
      expect((err as Error).message, name).toMatch(why);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toContain('REFINER_PRIOR=off');
      expect((err as Error).message).toContain('faceseg prior');
    }
  });
});
