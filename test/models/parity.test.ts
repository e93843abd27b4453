// Conversion parity: each TFJS graph (run with @tensorflow/tfjs, pure-JS CPU
// backend) against the ONNX file we ship (onnxruntime-node), on the astronaut
// fixture and on noise. Runs when FACESEG_PARITY=1 (as .ci/run and
// `npm run models:export` set it), and then fails, rather than skips, when the
// upstream TFJS files that the export unpacks into models/export/.cache are
// missing.
//
// Tolerances (max abs diff), about 30x what was measured (2026-11, tfjs
// 4.22 cpu vs onnxruntime-node 1.30): MoveNet rows of confident people
// (normalised coordinates and scores) 1e-4 (measured 3e-6); face mesh 0.01
// crop pixels of 192 (measured 1.2e-4) and face flag 1e-4. float32 kernels
// differ in summation order, so bit-exact equality is not expected.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropResize, resizeRgb } from '../../backend/pipeline/image-ops.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ASTRONAUT, decode, noise } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TFJS_DIR = path.join(ROOT, 'models/export/.cache/human-models/package/models');
const WANTED = process.env.FACESEG_PARITY === '1';
const TFJS_FILES = ['movenet-multipose.json', 'facemesh-attention.json'];
// TFJS's pure-JS kernels: MoveNet took 38 s of wall time on a busy 2-core machine (load 14), over vitest's 60 s default once.
const SLOW_MS = 300_000;

type Tf = typeof import('@tensorflow/tfjs');
let tf: Tf;
let astro: RgbImage;

async function loadTfjs(name: string) {
  const json = JSON.parse(readFileSync(path.join(TFJS_DIR, `${name}.json`), 'utf8'));
  const weightSpecs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const buffers = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(path.join(TFJS_DIR, p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const handler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  };
  const model = await tf.loadGraphModel(handler);
  return { model, signature: json.signature as { outputs: Record<string, { name: string }> } };
}

async function onnx(file: string, feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(path.join(ROOT, 'models', file), { logSeverityLevel: 3 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Measured differences, printed so that the export log records them. */
function report(model: string, what: string): void {
  process.stdout.write(`[parity] ${model}: max abs diff ${what}\n`);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.runIf(WANTED)('TFJS vs ONNX parity (FACESEG_PARITY=1)', () => {
  const warn = console.warn;
  beforeAll(async () => {
    const missing = TFJS_FILES.filter((f) => !existsSync(path.join(TFJS_DIR, f)));
    if (missing.length > 0) {
      throw new Error(`FACESEG_PARITY=1 but ${missing.join(', ')} missing from ${TFJS_DIR}: run \`npm run models:export\` (or models:check) first`);
    }
    // tfjs greets Node users, suggesting tfjs-node: not wanted here
    console.warn = (...a: unknown[]) => {
      if (!String(a[0]).includes('TensorFlow.js in Node.js')) warn(...a);
    };
    tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await tf.ready();
    astro = await decode(ASTRONAUT);
  });
  afterAll(() => {
    console.warn = warn;
  });

  it('movenet-multipose', async () => {
    const { model } = await loadTfjs('movenet-multipose');
    const inputs = [resizeRgb(astro, 256, 256), cropResize(astro, { x: -100, y: 0, width: 512, height: 512 }, 256, 256)];
    for (const img of inputs) {
      const data = Int32Array.from(img.data);
      const t = tf.tensor4d(data, [1, 256, 256, 3], 'int32');
      const ref = (await (model.execute(t) as import('@tensorflow/tfjs').Tensor).data()) as Float32Array;
      t.dispose();
      const out = await onnx('movenet-multipose.onnx', { input: new ort.Tensor('int32', data, [1, 256, 256, 3]) });
      const got = out.output_0.data as Float32Array;
      // compare the confident people (rows are sorted by the model's own ranking)
      let compared = 0;
      for (let p = 0; p < 6; p++) {
        if (ref[p * 56 + 55] < 0.2) continue;
        compared++;
        const d = maxAbsDiff(ref.subarray(p * 56, p * 56 + 56), got.subarray(p * 56, p * 56 + 56));
        report('movenet-multipose', `person ${p}: ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-4);
      }
      expect(compared).toBeGreaterThan(0);
    }
    model.dispose();
  }, SLOW_MS);

  it('facemesh-attention (478 merged points)', async () => {
    const { model, signature } = await loadTfjs('facemesh-attention');
    const map = JSON.parse(readFileSync(path.join(ROOT, 'models/export/facemesh-refinement.json'), 'utf8')) as {
      raw: Record<'mesh' | 'flag' | 'lips' | 'eyeA' | 'eyeB' | 'irisA' | 'irisB', string>;
      lips: number[]; eyeA: number[]; eyeB: number[]; irisDepthFrom: { irisA: number[]; irisB: number[] };
    };
    const crops = [cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, 192, 192), noise(192, 192, 7)];
    const n = crops.length;
    const x = new Float32Array(n * 192 * 192 * 3);
    crops.forEach((c, b) => c.data.forEach((v, i) => (x[b * 192 * 192 * 3 + i] = v / 255)));
    const keys = Object.keys(map.raw) as (keyof typeof map.raw)[];
    const nodeNames = keys.map((k) => {
      const sigKey = map.raw[k];
      return (signature.outputs[sigKey]?.name ?? sigKey).replace(/:0$/, '');
    });
    const t = tf.tensor4d(x, [n, 192, 192, 3]);
    const outs = model.execute(t, nodeNames) as import('@tensorflow/tfjs').Tensor[];
    const raw: Record<string, Float32Array> = {};
    for (let i = 0; i < keys.length; i++) raw[keys[i]] = (await outs[i].data()) as Float32Array;
    t.dispose();
    outs.forEach((o) => o.dispose());
    // the merge, in JS, from the TFJS outputs
    const ref = new Float32Array(n * 478 * 3);
    for (let b = 0; b < n; b++) {
      const mesh = raw.mesh.subarray(b * 1404, (b + 1) * 1404);
      const o = b * 478 * 3;
      ref.set(mesh, o);
      const put2 = (src: Float32Array, count: number, idx: (i: number) => number) => {
        for (let i = 0; i < count; i++) {
          ref[o + idx(i) * 3] = src[b * count * 2 + 2 * i];
          ref[o + idx(i) * 3 + 1] = src[b * count * 2 + 2 * i + 1];
        }
      };
      put2(raw.lips, 80, (i) => map.lips[i]);
      put2(raw.eyeA, 71, (i) => map.eyeA[i]);
      put2(raw.eyeB, 71, (i) => map.eyeB[i]);
      put2(raw.irisA, 5, (i) => 468 + i);
      put2(raw.irisB, 5, (i) => 473 + i);
      const zA = map.irisDepthFrom.irisA.reduce((s, k) => s + mesh[3 * k + 2], 0) / 16;
      const zB = map.irisDepthFrom.irisB.reduce((s, k) => s + mesh[3 * k + 2], 0) / 16;
      for (let i = 0; i < 5; i++) {
        ref[o + (468 + i) * 3 + 2] = zA;
        ref[o + (473 + i) * 3 + 2] = zB;
      }
    }
    const out = await onnx('facemesh-attention.onnx', { input_1: new ort.Tensor('float32', x, [n, 192, 192, 3]) });
    const dMesh = maxAbsDiff(out.landmarks.data as Float32Array, ref);
    const dFlag = maxAbsDiff(out.face_flag.data as Float32Array, raw.flag);
    report('facemesh-attention', `landmarks ${dMesh.toExponential(2)} px, face flag ${dFlag.toExponential(2)}`);
    expect(dMesh).toBeLessThan(0.01);
    expect(dFlag).toBeLessThan(1e-4);
    model.dispose();
  }, SLOW_MS);
});
