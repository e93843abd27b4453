// Every shipped model, through its adapter, on the astronaut fixture and on
// images made here. Thresholds are loose: they check wiring and coordinate
// mapping, not accuracy.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModelSet, ONE_SHAPE_MESH_BATCH, type ModelSet } from '../../backend/models/index.js';
import { FaceSegEngine } from '../../backend/pipeline/engine.js';
import type { MeshResult } from '../../backend/models/face-landmarks.js';
import { loadManifest, sha256File, defaultManifestPath, defaultModelDir } from '../../backend/models/manifest.js';
import { cropResize, resizeRgb } from '../../backend/pipeline/image-ops.js';
import { COARSE_RULE, frontal } from '../../backend/pipeline/detector-size.js';
import type { Box, RgbImage } from '../../backend/pipeline/types.js';
import { ASTRONAUT, ASTRONAUT_FACE, decode, inside, noise, paste } from './fixtures.js';
import { boxIou } from '../../backend/models/face-detector.js';
import path from 'node:path';

let ms: ModelSet;
let blaze: ModelSet;
let astro: RgbImage;
/** The astronaut at half size inside a 700x420 canvas at (400, 150). */
let scene: RgbImage;
const SCENE_OFF = { x: 400, y: 150, s: 0.5 };
const sceneFace: Box = {
  x: ASTRONAUT_FACE.x * SCENE_OFF.s + SCENE_OFF.x,
  y: ASTRONAUT_FACE.y * SCENE_OFF.s + SCENE_OFF.y,
  width: ASTRONAUT_FACE.width * SCENE_OFF.s,
  height: ASTRONAUT_FACE.height * SCENE_OFF.s,
};

beforeAll(async () => {
  astro = await decode(ASTRONAUT);
  scene = paste(resizeRgb(astro, 256, 256), 700, 420, SCENE_OFF.x, SCENE_OFF.y);
  ms = await loadModelSet({ provider: 'cpu', threads: 2 });
  blaze = await loadModelSet({ provider: 'cpu', threads: 1, select: { 'face-detector': 'blazeface-back-256' } });
});

afterAll(async () => {
  await ms?.close();
  await blaze?.close();
});

describe('shipped models', () => {
  it('every manifest file exists and matches its sha256', async () => {
    const m = await loadManifest();
    expect(m.models.map((e) => e.role).sort()).toEqual(['face-detector', 'face-detector', 'face-landmarks', 'keypoints']);
    for (const e of m.models) {
      expect(await sha256File(path.join(defaultModelDir(), e.file)), e.file).toBe(e.sha256);
    }
    expect(path.dirname(defaultManifestPath())).toBe(defaultModelDir());
  });

  it('reports provider and a stable fingerprint', () => {
    expect(ms.provider).toBe('cpu');
    expect(ms.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(blaze.fingerprint).not.toBe(ms.fingerprint);
    expect(ms.entries['face-landmarks']?.points).toBe(478);
  });
});

describe('keypoints (MoveNet multipose)', () => {
  it('finds one person whose nose and eyes lie in the face', async () => {
    const poses = await ms.keypoints.detect(astro);
    expect(poses.length).toBe(1);
    const [p] = poses;
    expect(p.keypoints).toHaveLength(17);
    expect(p.score).toBeGreaterThan(0.3);
    for (const k of p.keypoints.slice(0, 3)) {
      expect(k.score).toBeGreaterThan(0.3);
      expect(inside(k, ASTRONAUT_FACE)).toBe(true);
    }
    // subject's right eye (COCO 2) is on the image left of a frontal face
    expect(p.keypoints[2].x).toBeLessThan(p.keypoints[1].x);
    expect(inside(p.keypoints[0], p.box)).toBe(true);
  });

  it('maps back to image pixels on a letterboxed, offset scene', async () => {
    const poses = await ms.keypoints.detect(scene);
    expect(poses.length).toBeGreaterThanOrEqual(1);
    expect(inside(poses[0].keypoints[0], sceneFace, 4)).toBe(true);
  });
});

describe('face detector', () => {
  for (const which of ['centerface', 'blazeface'] as const) {
    it(`${which}: exactly one face containing the nose area, landmarks in order`, async () => {
      const det = which === 'centerface' ? ms.faceDetector : blaze.faceDetector;
      const faces = await det.detect(astro);
      expect(faces).toHaveLength(1);
      const [f] = faces;
      expect(f.score).toBeGreaterThan(0.7);
      const nose = { x: 224, y: 124 };
      expect(inside(nose, f.box)).toBe(true);
      expect(f.box.width).toBeGreaterThan(60);
      expect(f.box.width).toBeLessThan(160);
      expect(f.landmarks).toHaveLength(5);
      const [re, le, n, rm, lm] = f.landmarks;
      expect(re.x).toBeLessThan(le.x);
      expect(rm.x).toBeLessThan(lm.x);
      expect(n.y).toBeGreaterThan(re.y);
      expect(rm.y).toBeGreaterThan(n.y);
      expect(Math.hypot(n.x - nose.x, n.y - nose.y)).toBeLessThan(10);
    });

    it(`${which}: finds the face in the scene and nothing in a flat image`, async () => {
      const det = which === 'centerface' ? ms.faceDetector : blaze.faceDetector;
      const faces = await det.detect(scene);
      expect(faces.length).toBeGreaterThanOrEqual(1);
      expect(inside({ x: faces[0].box.x + faces[0].box.width / 2, y: faces[0].box.y + faces[0].box.height / 2 }, sceneFace)).toBe(true);
      // a per-call threshold overrides the one set at creation
      expect(await det.detect(scene, 0.999)).toHaveLength(0);
      const flat = paste({ width: 1, height: 1, data: new Uint8Array(3) }, 320, 240, -5, -5);
      expect(await det.detect(flat)).toHaveLength(0);
    });
  }

  it('centerface detectAt: the same face at a 320 input and at the engine\'s coarse one, in image pixels, frontal; sides under 32 refused', async () => {
    const det = ms.faceDetector;
    if (!det.detectAt) throw new Error('CenterFace must offer detectAt');
    const [full] = await det.detect(astro);
    for (const side of [320, COARSE_RULE.side]) {
      const coarse = await det.detectAt(astro, 0.5, side);
      expect(coarse).toHaveLength(1);
      expect(inside({ x: 224, y: 124 }, coarse[0].box)).toBe(true);
      expect(Math.abs(coarse[0].box.width - full.box.width)).toBeLessThan(0.25 * full.box.width);
      expect(frontal(coarse[0])).toBe(true);
    }
    await expect(det.detectAt(astro, 0.5, 16)).rejects.toThrow(RangeError);
  });

  it('centerface: reused input buffers change nothing, one call after another or several in flight at once', async () => {
    const det = ms.faceDetector;
    if (!det.detectAt) throw new Error('CenterFace must offer detectAt');
    const calls: [RgbImage, number][] = [
      [scene, 640],
      [astro, COARSE_RULE.side],
      [scene, 320],
      [astro, 640],
    ];
    const first = [];
    for (const [img, side] of calls) first.push(await det.detectAt(img, 0.3, side));
    // again in reverse order (a larger buffer's stale tail under a smaller input), then all at once
    const again = [];
    for (const [img, side] of [...calls].reverse()) again.push(await det.detectAt(img, 0.3, side));
    expect(again.reverse()).toEqual(first);
    expect(await Promise.all(calls.map(([img, side]) => det.detectAt!(img, 0.3, side)))).toEqual(first);
  });
});

describe('one input shape per session (the CUDA setting)', () => {
  type Run = (this: unknown, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => Promise<unknown>;
  /** Records every session call's input dims, by the session's first input name, while `fn` runs. */
  async function recordShapes<T>(fn: () => Promise<T>): Promise<{ result: T; shapes: Map<string, Set<string>> }> {
    const shapes = new Map<string, Set<string>>();
    const proto = (ort.InferenceSession as unknown as { prototype: { run: Run } }).prototype;
    const run = proto.run;
    const spy = vi.spyOn(proto, 'run').mockImplementation(function (this: unknown, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) {
      const name = (this as ort.InferenceSession).inputNames[0];
      const seen = shapes.get(name) ?? new Set<string>();
      for (const v of Object.values(feeds)) seen.add(v.dims.join('x'));
      shapes.set(name, seen);
      return run.call(this, feeds, ...rest);
    });
    try {
      return { result: await fn(), shapes };
    } finally {
      spy.mockRestore();
    }
  }

  /** Astronaut heads of `size` px pasted on a grey w x h canvas at `at` (top-left corners). */
  function group(w: number, h: number, size: number, at: [number, number][]): RgbImage {
    const head = resizeRgb(astro, size, size);
    const out = paste(head, w, h, at[0][0], at[0][1]);
    for (const [ox, oy] of at.slice(1)) {
      for (let y = 0; y < size; y++) out.data.set(head.data.subarray(y * size * 3, (y + 1) * size * 3), ((oy + y) * w + ox) * 3);
    }
    return out;
  }

  it('loads with square letterboxes, no coarse pass and one mesh batch; finds the same people and faces', async () => {
    const { result: fixed, shapes } = await recordShapes(() => loadModelSet({ provider: 'cpu', threads: 1, oneShape: true }));
    try {
      // the load-time warm-up already ran the one shape of each model
      expect([...shapes.values()].map((s) => [...s])).toEqual([['1x256x256x3'], ['1x3x640x640'], [`${ONE_SHAPE_MESH_BATCH}x192x192x3`]]);
      expect(fixed.faceDetector.detectAt).toBeUndefined();
      expect(ms.faceDetector.detectAt).toBeDefined(); // the CPU default keeps the coarse pass...
      expect(ms.keypoints.square).toBe(false); // ...and the tighter letterbox
      expect(fixed.faceLandmarks.fixedBatch).toBe(true);
      expect(ms.faceLandmarks.fixedBatch).toBe(false);
      const wide = paste(resizeRgb(astro, 256, 256), 900, 300, 500, 30); // 3:1, far from square
      const [poses, faces] = [await fixed.keypoints.detect(wide), await fixed.faceDetector.detect(wide)];
      const [poses0, faces0] = [await ms.keypoints.detect(wide), await ms.faceDetector.detect(wide)];
      expect(poses).toHaveLength(poses0.length);
      expect(poses.length).toBeGreaterThanOrEqual(1);
      for (let k = 0; k < 3; k++) expect(Math.hypot(poses[0].keypoints[k].x - poses0[0].keypoints[k].x, poses[0].keypoints[k].y - poses0[0].keypoints[k].y)).toBeLessThan(6);
      expect(faces).toHaveLength(faces0.length);
      expect(faces.length).toBe(1);
      expect(boxIou(faces[0].box, faces0[0].box)).toBeGreaterThan(0.9);
    } finally {
      await fixed.close();
    }
  });

  it('the whole engine calls each session with one shape over portraits, groups, a crowd and a dark photo, finding the faces the CPU default finds', async () => {
    const fixed = await loadModelSet({ provider: 'cpu', threads: 1, oneShape: true });
    try {
      const engineOf = (m: ModelSet) => new FaceSegEngine({ keypoints: m.keypoints, faceDetector: m.faceDetector, faceLandmarks: m.faceLandmarks }, { fingerprint: m.fingerprint, provider: 'cpu' });
      const crowd: [number, number][] = [];
      for (let i = 0; i < 10; i++) crowd.push([60 + (i % 5) * 360, 120 + Math.floor(i / 5) * 480]);
      const dark = { ...astro, data: astro.data.map((v) => Math.round(v * 0.04)) };
      const images: RgbImage[] = [
        astro, // a 512 x 512 portrait: the CPU default's coarse pass answers for it
        paste(resizeRgb(astro, 256, 256), 900, 300, 500, 30),
        group(1280, 720, 300, [[60, 200], [490, 180], [920, 220]]),
        group(1920, 1080, 240, crowd),
        dark,
        resizeRgb(astro, 96, 96),
      ];
      const { result: found, shapes } = await recordShapes(async () => {
        const engine = engineOf(fixed);
        const out: number[] = [];
        for (const img of images) out.push((await engine.segment(img)).faces.length);
        return out;
      });
      // MoveNet, CenterFace and the mesh by their input names: one shape each
      expect(Object.fromEntries([...shapes].map(([k, v]) => [k, [...v]]))).toEqual({
        input: ['1x256x256x3'],
        'input.1': ['1x3x640x640'],
        input_1: [`${ONE_SHAPE_MESH_BATCH}x192x192x3`],
      });
      const plain = engineOf(ms);
      const expected: number[] = [];
      for (const img of images) expected.push((await plain.segment(img)).faces.length);
      expect(found).toEqual(expected);
      expect(found.slice(0, 4)).toEqual([1, 1, 3, 10]);
    } finally {
      await fixed.close();
    }
  }, 60_000);
});

describe('face landmarks (face mesh with attention)', () => {
  it('gives a high face score and points inside a face crop, low on noise, batched', async () => {
    const s = ms.faceLandmarks.inputSize;
    expect(s).toBe(192);
    const crop = cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, s, s);
    const [face, junk] = await ms.faceLandmarks.run([crop, noise(s, s)]);
    expect(face.count).toBe(478);
    expect(face.points).toHaveLength(478 * 3);
    expect(face.faceScore).toBeGreaterThan(0.9);
    expect(junk.faceScore).toBeLessThan(0.2);
    let inCrop = 0;
    for (let i = 0; i < face.count; i++) {
      const x = face.points[3 * i];
      const y = face.points[3 * i + 1];
      if (x >= 0 && x < s && y >= 0 && y < s) inCrop++;
    }
    expect(inCrop).toBe(face.count);
    // nose tip (mesh point 1) near the crop centre-ish, below the eyes (33, 263)
    const py = (i: number) => face.points[3 * i + 1];
    expect(py(1)).toBeGreaterThan(py(33));
    // the same crop alone gives the same result as in the batch
    const [alone] = await ms.faceLandmarks.run([crop]);
    expect(Math.abs(alone.points[3] - face.points[3])).toBeLessThan(1e-3);
  });

  it('fixed batches (the CUDA setting) give each real crop the result it gets unpadded, every call at maxBatch', async () => {
    const fixed = await loadModelSet({ provider: 'cpu', threads: 1, faceLandmarks: { fixedBatch: true, maxBatch: 4 } });
    const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
    try {
      expect(fixed.faceLandmarks.fixedBatch).toBe(true);
      const s = ms.faceLandmarks.inputSize;
      const crops = [
        cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, s, s),
        noise(s, s),
        cropResize(astro, { x: 120, y: 20, width: 210, height: 210 }, s, s),
      ];
      const plain = await ms.faceLandmarks.run(crops); // one call of 3
      const batches: number[] = [];
      const run = proto.run;
      const spy = vi.spyOn(proto, 'run').mockImplementation(function (this: unknown, ...a: unknown[]) {
        for (const v of Object.values(a[0] as Record<string, ort.Tensor>)) batches.push(v.dims[0]);
        return run.apply(this, a);
      });
      let pad: MeshResult[] = [];
      let five: MeshResult[] = [];
      try {
        pad = await fixed.faceLandmarks.run(crops); // one call of 4, the last crop blank
        five = await fixed.faceLandmarks.run([...crops, crops[0], crops[1]]); // 4 + 1 crops: two calls of 4
      } finally {
        spy.mockRestore();
      }
      expect(batches).toEqual([4, 4, 4]);
      expect(pad).toHaveLength(3);
      for (let i = 0; i < 3; i++) {
        expect(pad[i].faceScore).toBeCloseTo(plain[i].faceScore, 4);
        let worst = 0;
        for (let k = 0; k < plain[i].points.length; k++) worst = Math.max(worst, Math.abs(pad[i].points[k] - plain[i].points[k]));
        expect(worst).toBeLessThan(1e-2);
      }
      expect(five).toHaveLength(5);
      expect(five[3].faceScore).toBeCloseTo(plain[0].faceScore, 4);
      expect(five[4].faceScore).toBeCloseTo(plain[1].faceScore, 4);
    } finally {
      await fixed.close();
    }
  });

  it('accepts crops of other sizes and returns points in their pixels', async () => {
    const crop = cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, 384, 384);
    const [r] = await ms.faceLandmarks.run([crop]);
    expect(r.points[3]).toBeGreaterThan(150); // nose x in a 384 crop
    expect(r.points[3]).toBeLessThan(234);
  });
});
