// The engine's refiner prior on the real models: it reaches every face when a
// project has no refiner of its own, a project's refiner replaces it, it is
// part of model_version, and one limited to turned faces leaves a frontal face alone.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../backend/compose.js';
import { PRIOR_MIN_FACE_SIZE, PRIOR_MIN_YAW } from '../../backend/eval/prior-fit.js';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';
import { DEFAULT_FIT, trainRefiner } from '../../backend/learning/refiner.js';
import { FaceSegEngine } from '../../backend/pipeline/engine.js';
import { FRAME_SIZE, type FaceSample } from '../../backend/pipeline/face-sample.js';
import type { FaceRefiner, RgbImage } from '../../backend/pipeline/types.js';
import { testConfig } from '../http/helpers.js';
import { ASTRONAUT, bundledModels, decode } from '../models/fixtures.js';

/** A stand-in refiner: records the faces it sees and draws a disc of a third of the frame. */
function discRefiner(): FaceRefiner & { seen: FaceSample[] } {
  const seen: FaceSample[] = [];
  return {
    seen,
    refine(s) {
      seen.push(s);
      const n = s.size;
      const field = Float32Array.from({ length: n * n }, (_, i) => n / 6 - Math.hypot((i % n) + 0.5 - n / 2, Math.floor(i / n) + 0.5 - n / 2));
      return { field, size: n, roi: s.frame };
    },
  };
}

const area = (m: { data: Uint8Array }): number => m.data.reduce((a, v) => a + (v >= 128 ? 1 : 0), 0);

describe('the refiner prior in the engine', () => {
  const models = bundledModels();
  let img: RgbImage;
  beforeAll(async () => {
    img = await decode(ASTRONAUT);
  });
  const engineWith = (prior?: FaceRefiner) => {
    const m = models();
    return new FaceSegEngine(
      { keypoints: m.keypoints, faceDetector: m.faceDetector, faceLandmarks: m.faceLandmarks },
      { fingerprint: m.fingerprint, provider: 'cpu', ...(prior ? { prior: { refiner: prior, id: 'disc' } } : {}) },
    );
  };

  it('redraws every face of a project without a refiner, and gives way to a project refiner', async () => {
    const prior = discRefiner();
    const bare = await engineWith().segment(img);
    const withPrior = await engineWith(prior).segment(img);
    expect(bare.faces).toHaveLength(1);
    expect(withPrior.faces).toHaveLength(1);
    expect(prior.seen).toHaveLength(1);
    // the disc (radius a sixth of the frame) is not the engine's face mask
    expect(area(withPrior.faces[0].mask)).not.toBe(area(bare.faces[0].mask));
    // the sample stays the engine's own mask, whatever the prior drew
    expect(prior.seen[0].sd.some((v) => v > 0)).toBe(true);

    const project = discRefiner();
    const own = await engineWith(prior).segment(img, { refiner: project });
    expect(project.seen).toHaveLength(1);
    expect(prior.seen).toHaveLength(1);
    expect(own.faces[0].mask.data).toEqual(withPrior.faces[0].mask.data);
  });

  it('is part of model_version', () => {
    const a = engineWith().modelVersion;
    const b = engineWith(discRefiner()).modelVersion;
    expect(b).not.toBe(a);
    expect(b.startsWith(a.slice(0, 'faceseg-'.length + 8))).toBe(true);
  });

  it('a REFINER_PRIOR for turned faces leaves a frontal face as the engine draws it, under another model_version', async () => {
    const net = trainRefiner(Array.from({ length: 8 }, (_, k) => syntheticFace(k + 1, FRAME_SIZE)).map((f, k) => ({ sample: f.sample, target: f.head, group: `g${k}` })), { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 8, epochs: 3 }, maxRows: 20_000 });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'prior-')), 'prior.json');
    writeFileSync(file, JSON.stringify({ ...net, minYaw: PRIOR_MIN_YAW, minFaceSize: PRIOR_MIN_FACE_SIZE }));
    const on = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu', ORT_THREADS: '1', REFINER_PRIOR: file }) });
    const off = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu', ORT_THREADS: '1' }) });
    try {
      expect(on.prior).toBeDefined();
      expect(off.prior).toBeUndefined();
      expect(on.modelVersion).not.toBe(off.modelVersion);
      const [a, b] = [await on.segment(img), await off.segment(img)];
      expect(a.faces).toHaveLength(1);
      expect(a.faces[0].mask.data).toEqual(b.faces[0].mask.data);
    } finally {
      await Promise.all([on.close(), off.close()]);
    }
  });

  it('a bad REFINER_PRIOR stops the engine before its models load, naming the file', async () => {
    const err = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu', REFINER_PRIOR: '/nonexistent/prior.json' }) }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('RefinerPriorError');
    expect((err as Error).message).toContain('/nonexistent/prior.json');
  });
});
