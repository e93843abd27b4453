// The engine in worker threads (backend/engine-pool.ts) with the bundled
// models: the same masks as the engine on the main thread, calls in parallel,
// a learned refiner carried across, and a worker that exits replaced.
import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../backend/compose.js';
import { EnginePool } from '../../backend/engine-pool.js';
import { asFaceRefiner, trainRefiner, DEFAULT_FIT } from '../../backend/learning/refiner.js';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';
import type { FaceSegEngine } from '../../backend/pipeline/engine.js';
import { FRAME_SIZE } from '../../backend/pipeline/face-sample.js';
import type { RgbImage, SegmentResult } from '../../backend/pipeline/types.js';
import { testConfig } from '../http/helpers.js';
import { ASTRONAUT, decode } from '../models/fixtures.js';

/** Masks, boxes and scores of a result, hashed (timings left out). */
function digest(r: SegmentResult): string {
  const h = createHash('sha256');
  for (const f of r.faces) {
    h.update(Buffer.from(f.mask.data.buffer, f.mask.data.byteOffset, f.mask.data.byteLength));
    h.update(JSON.stringify([f.box, f.score, f.keypoints]));
  }
  return `${r.faces.length}:${h.digest('hex')}`;
}

describe('engine pool (worker threads, bundled models)', () => {
  const config = testConfig({ EXECUTION_PROVIDER: 'cpu' });
  let pool: EnginePool;
  let local: FaceSegEngine;
  let image: RgbImage;
  beforeAll(async () => {
    [pool, local, image] = await Promise.all([EnginePool.start({ config, workers: 2, prior: null }), buildEngine({ config }), decode(ASTRONAUT)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([pool?.close(), local?.close()]);
  });

  it('gives the same masks, model_version and per-project versions as the engine on the main thread', async () => {
    expect(pool.workers).toBe(2);
    expect(pool.modelVersion).toBe(local.modelVersion);
    expect(pool.versionWith({ dilate: 3 })).toBe(local.versionWith({ dilate: 3 }));
    expect(pool.versionWith({})).toBe(local.modelVersion);
    const [a, b] = await Promise.all([pool.segment(image), local.segment(image)]);
    expect(a.faces).toHaveLength(1);
    expect(digest(a)).toBe(digest(b));
  });

  it('runs several calls at once, each answered with its own image', async () => {
    const small: RgbImage = { width: 1, height: 1, data: new Uint8Array(3) };
    const results = await Promise.all([pool.segment(image), pool.segment(small), pool.segment(image), pool.segment(small)]);
    expect(results.map((r) => [r.width, r.faces.length])).toEqual([
      [image.width, 1],
      [1, 0],
      [image.width, 1],
      [1, 0],
    ]);
  }, 60_000);

  it("carries a project's refiner to the workers: the same masks as the main thread with it", async () => {
    const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 8, epochs: 3 }, maxRows: 10_000 };
    const examples = Array.from({ length: 6 }, (_, k) => {
      const f = syntheticFace(k + 1, FRAME_SIZE);
      return { sample: f.sample, target: f.head, group: `t${k}` };
    });
    const refiner = asFaceRefiner(trainRefiner(examples, fast));
    const plain = await local.segment(image);
    const [a, b] = await Promise.all([pool.segment(image, { refiner }), local.segment(image, { refiner })]);
    expect(digest(a)).toBe(digest(b));
    expect(digest(a)).not.toBe(digest(plain));
    await expect(pool.segment(image, { refiner: { refine: () => undefined } })).rejects.toThrow(/cannot be sent to an engine worker/);
  }, 60_000);

  it('gives the workers the prior the main thread read: they apply it without reading REFINER_PRIOR again', async () => {
    const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 8, epochs: 3 }, maxRows: 10_000 };
    const prior = trainRefiner(Array.from({ length: 6 }, (_, k) => syntheticFace(k + 1, FRAME_SIZE)).map((f, k) => ({ sample: f.sample, target: f.head, group: `t${k}` })), fast);
    // the path the workers would read is gone: only the prior handed over can reach them
    const gone = testConfig({ EXECUTION_PROVIDER: 'cpu', REFINER_PRIOR: '/nonexistent/prior.json' });
    const [withPrior, mainThread] = await Promise.all([EnginePool.start({ config: gone, workers: 1, prior }), buildEngine({ config, prior })]);
    try {
      expect(withPrior.modelVersion).toBe(mainThread.modelVersion);
      expect(withPrior.modelVersion).not.toBe(pool.modelVersion);
      const [a, b] = await Promise.all([withPrior.segment(image), mainThread.segment(image)]);
      expect(digest(a)).toBe(digest(b));
      expect(digest(a)).not.toBe(digest(await local.segment(image)));
    } finally {
      await Promise.all([withPrior.close(), mainThread.close()]);
    }
  }, 120_000);

  it('a worker that exits is replaced: later calls still run on two workers', async () => {
    // terminated while idle: stopping a thread inside a native ONNX Runtime call aborts the process
    const slots = (pool as unknown as { slots: { worker: Worker }[] }).slots;
    const old = slots[0]!.worker;
    await old.terminate();
    // the other worker answers meanwhile
    expect((await pool.segment(image)).faces).toHaveLength(1);
    for (let t = 0; slots[0]!.worker === old && t < 600; t++) await new Promise((r) => setTimeout(r, 100));
    expect(slots[0]!.worker).not.toBe(old);
    const results = await Promise.all([pool.segment(image), pool.segment(image)]);
    expect(results.map((r) => r.faces.length)).toEqual([1, 1]);
    expect(pool.workers).toBe(2);
  }, 120_000);

  it('a worker that cannot be restarted leaves the pool smaller; with none left, calls fail at once', async () => {
    const inner = pool as unknown as { slots: { worker: Worker }[]; data: { config: { modelsManifest: string } } };
    inner.data.config.modelsManifest = '/nonexistent/manifest.json';
    await inner.slots[0]!.worker.terminate();
    for (let t = 0; pool.workers === 2 && t < 600; t++) await new Promise((r) => setTimeout(r, 100));
    expect(pool.workers).toBe(1);
    expect((await pool.segment(image)).faces).toHaveLength(1);
    await inner.slots[0]!.worker.terminate();
    for (let t = 0; pool.workers === 1 && t < 600; t++) await new Promise((r) => setTimeout(r, 100));
    expect(pool.workers).toBe(0);
    await expect(pool.segment(image)).rejects.toThrow(/no engine worker is running/);
  }, 180_000);
});
