// The generic (user-supplied) face segmenter, against a tiny ONNX graph with
// a Nirkin-like signature whose output is a known function of the input.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GenericSegmenter, splitFaceProbability } from '../../backend/models/generic-segmenter.js';
import { loadModelSet } from '../../backend/models/index.js';
import { parseModelEntry, type ModelEntryInput } from '../../backend/models/manifest.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { nirkinLikeSegmenter } from '../helpers/tiny-onnx.js';

const MEAN_BGR: [number, number, number] = [104.00698793, 116.66876762, 122.67891434];
const WEIGHTS = { bg: [0, 0, 0], face: [0.05, 0, -0.02], bias: [0, 0.5] as [number, number] };
const SIZE = 16;

const spec: Omit<ModelEntryInput, 'file'> = {
  role: 'face-segmenter',
  id: 'tiny-nirkin',
  decoder: 'generic',
  license: 'test',
  input: {
    name: 'data', shape: ['N', 3, SIZE, SIZE], dtype: 'float32', layout: 'NCHW', channelOrder: 'BGR',
    scale: 1, mean: MEAN_BGR, std: [1, 1, 1], size: [SIZE, SIZE],
  },
  outputs: [{ name: 'score', shape: ['N', 2, SIZE, SIZE], meaning: 'logits: background, face' }],
  segmenter: { faceClasses: [1], outputLayout: 'NCHW', outputKind: 'logits' },
};

/** Expected face probability for a flat colour, computed independently. */
function expected(r: number, g: number, b: number): number {
  const x = [b - MEAN_BGR[0], g - MEAN_BGR[1], r - MEAN_BGR[2]]; // BGR, mean-subtracted
  const face = WEIGHTS.face[0] * x[0] + WEIGHTS.face[1] * x[1] + WEIGHTS.face[2] * x[2] + WEIGHTS.bias[1];
  const bg = WEIGHTS.bias[0];
  return 1 / (1 + Math.exp(bg - face));
}

function flat(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
}

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'faceseg-seg-'));
  file = path.join(dir, 'tiny-nirkin.onnx');
  await writeFile(file, nirkinLikeSegmenter(SIZE, WEIGHTS));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generic segmenter', () => {
  it('applies BGR order and mean subtraction, softmax over classes', async () => {
    const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
    const entry = parseModelEntry({ ...spec, file });
    const seg = await GenericSegmenter.create(session, entry);
    expect(seg.inputSize).toBe(SIZE);
    const colours: [number, number, number][] = [[10, 200, 150], [200, 30, 40], [122, 117, 104]];
    const maps = await seg.run(colours.map((c) => flat(SIZE, SIZE, c)));
    expect(maps).toHaveLength(3);
    colours.forEach((c, k) => {
      expect(maps[k].width).toBe(SIZE);
      expect(maps[k].height).toBe(SIZE);
      for (const v of [maps[k].data[0], maps[k].data[SIZE * SIZE - 1]]) expect(v).toBeCloseTo(expected(...c), 4);
    });
    // an RGB/BGR mix-up would change the answer a lot for this colour
    expect(Math.abs(expected(10, 200, 150) - expected(150, 200, 10))).toBeGreaterThan(0.5);
    await session.release();
  });

  it('resizes crops of another size to the model input', async () => {
    const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
    const seg = await GenericSegmenter.create(session, parseModelEntry({ ...spec, file }));
    const [m] = await seg.run([flat(40, 40, [10, 200, 150])]);
    expect(m.width).toBe(SIZE);
    expect(m.data[5]).toBeCloseTo(expected(10, 200, 150), 4);
    await session.release();
  });

  it('is loaded by loadModelSet from an override with a sidecar spec', async () => {
    await writeFile(`${file}.json`, JSON.stringify({ ...spec, file: path.basename(file) }));
    const ms = await loadModelSet({ provider: 'cpu', threads: 1, overrides: { 'face-segmenter': file } });
    try {
      expect(ms.faceSegmenter).toBeDefined();
      expect(ms.entries['face-segmenter']?.id).toBe('tiny-nirkin');
      const [m] = await ms.faceSegmenter!.run([flat(SIZE, SIZE, [200, 30, 40])]);
      expect(m.data[0]).toBeCloseTo(expected(200, 30, 40), 4);
    } finally {
      await ms.close();
    }
  });

  it('with oneShape (the CUDA setting) a batch-taking parser gets one crop per call, with the same maps', async () => {
    await writeFile(`${file}.json`, JSON.stringify({ ...spec, file: path.basename(file) }));
    const batches: number[] = [];
    const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
    const run = proto.run;
    const spy = vi.spyOn(proto, 'run').mockImplementation(function (this: unknown, ...a: unknown[]) {
      const feeds = a[0] as Record<string, ort.Tensor>;
      if ('data' in feeds) batches.push(feeds.data.dims[0]);
      return run.apply(this, a);
    });
    const one = await loadModelSet({ provider: 'cpu', threads: 1, oneShape: true, overrides: { 'face-segmenter': file } });
    const plain = await loadModelSet({ provider: 'cpu', threads: 1, overrides: { 'face-segmenter': file } });
    try {
      const crops = [flat(SIZE, SIZE, [10, 200, 150]), flat(SIZE, SIZE, [200, 30, 40]), flat(SIZE, SIZE, [122, 117, 104])];
      batches.length = 0;
      const a = await one.faceSegmenter!.run(crops);
      expect(batches).toEqual([1, 1, 1]);
      batches.length = 0;
      const b = await plain.faceSegmenter!.run(crops);
      expect(batches).toEqual([3]);
      expect(a.map((m) => Array.from(m.data))).toEqual(b.map((m) => Array.from(m.data)));
    } finally {
      spy.mockRestore();
      await one.close();
      await plain.close();
    }
  });

  it('a segmenter override that does not exist says so, not "regenerate the shipped models"', async () => {
    const err = await loadModelSet({ provider: 'cpu', overrides: { 'face-segmenter': path.join(dir, 'not-there.onnx') } }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ModelFileError', message: expect.stringMatching(/not-there\.onnx given for the face-segmenter role does not exist; check the path/) });
    expect((err as Error).message).not.toMatch(/models:export/);
  });

  it('refuses a segmenter override without a spec', async () => {
    const bare = path.join(dir, 'bare.onnx');
    await writeFile(bare, nirkinLikeSegmenter(SIZE, WEIGHTS));
    await expect(loadModelSet({ provider: 'cpu', overrides: { 'face-segmenter': bare } })).rejects.toThrow(/needs a spec/);
  });
});

describe('splitFaceProbability', () => {
  it('sums probabilities of several face classes in NHWC', () => {
    // 1 image, 1x2 pixels, 3 classes
    const data = Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.1, 0.3]);
    const [m] = splitFaceProbability(data, [1, 1, 2, 3], { faceClasses: [1, 2], outputLayout: 'NHWC', outputKind: 'probabilities' });
    expect(Array.from(m.data).map((v) => +v.toFixed(4))).toEqual([0.8, 0.4]);
  });

  it('with hairClasses, gives the hair probability beside the face (probabilities and logits)', () => {
    // 1 image, 2 pixels, 3 classes (background, face, hair), NCHW
    const probs = Float32Array.from([0.2, 0.1, 0.5, 0.3, 0.3, 0.6]);
    const [p] = splitFaceProbability(probs, [1, 3, 1, 2], { faceClasses: [1], hairClasses: [2], outputLayout: 'NCHW', outputKind: 'probabilities' });
    expect(Array.from(p.data).map((v) => +v.toFixed(4))).toEqual([0.5, 0.3]);
    expect(Array.from(p.hair!).map((v) => +v.toFixed(4))).toEqual([0.3, 0.6]);
    const logits = Float32Array.from([0, 0, Math.log(2), 0, Math.log(3), Math.log(5)]);
    const [l] = splitFaceProbability(logits, [1, 3, 1, 2], { faceClasses: [1], hairClasses: [2], outputLayout: 'NCHW', outputKind: 'logits' });
    expect(l.data[0]).toBeCloseTo(2 / 6, 6);
    expect(l.hair![0]).toBeCloseTo(3 / 6, 6);
    expect(l.hair![1]).toBeCloseTo(5 / 7, 6);
    // without hairClasses there is no hair map
    expect(splitFaceProbability(probs, [1, 3, 1, 2], { faceClasses: [1], outputLayout: 'NCHW', outputKind: 'probabilities' })[0].hair).toBeUndefined();
    expect(() => splitFaceProbability(probs, [1, 3, 1, 2], { faceClasses: [1], hairClasses: [3], outputLayout: 'NCHW', outputKind: 'probabilities' })).toThrow(/hair class 3/);
  });

  it('handles a single sigmoid channel', () => {
    const [m] = splitFaceProbability(Float32Array.from([0, 2]), [1, 1, 1, 2], { faceClasses: [0], outputLayout: 'NCHW', outputKind: 'sigmoid' });
    expect(m.data[0]).toBeCloseTo(0.5);
    expect(m.data[1]).toBeCloseTo(1 / (1 + Math.exp(-2)));
  });

  it('rejects a face class beyond the channels', () => {
    expect(() => splitFaceProbability(new Float32Array(4), [1, 2, 1, 2], { faceClasses: [2], outputLayout: 'NCHW', outputKind: 'logits' })).toThrow(/face class 2/);
  });
});
