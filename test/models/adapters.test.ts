// Every shipped model, through its adapter, on the astronaut fixture and on
// images made here. Thresholds are loose: they check wiring and coordinate
// mapping, not accuracy.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModelSet, type ModelSet } from '../../backend/models/index.js';
import { loadManifest, sha256File, defaultManifestPath, defaultModelDir } from '../../backend/models/manifest.js';
import { cropResize, resizeRgb } from '../../backend/pipeline/image-ops.js';
import { COARSE_RULE, frontal } from '../../backend/pipeline/detector-size.js';
import type { Box, RgbImage } from '../../backend/pipeline/types.js';
import { ASTRONAUT, ASTRONAUT_FACE, decode, inside, noise, paste } from './fixtures.js';
import { paddedBatchSize } from '../../backend/models/face-landmarks.js';
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

describe('fixed input shapes (the CUDA setting)', () => {
  it('square letterboxes for MoveNet and CenterFace: one input shape per side, the same people and faces', async () => {
    const dims: number[][] = [];
    type Run = (this: unknown, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => Promise<unknown>;
    const proto = (ort.InferenceSession as unknown as { prototype: { run: Run } }).prototype;
    const run = proto.run;
    const spy = vi.spyOn(proto, 'run').mockImplementation(function (this: unknown, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) {
      for (const v of Object.values(feeds)) dims.push([...v.dims]);
      return run.call(this, feeds, ...rest);
    });
    let fixed: ModelSet | undefined;
    try {
      fixed = await loadModelSet({ provider: 'cpu', threads: 1, keypoints: { square: true }, faceDetector: { square: true, warmSides: [COARSE_RULE.side] } });
      // load-time warm-up: MoveNet 256 x 256, CenterFace 640 x 640 and the coarse 256 x 256 (NCHW)
      expect(dims).toContainEqual([1, 256, 256, 3]);
      expect(dims).toContainEqual([1, 3, 640, 640]);
      expect(dims).toContainEqual([1, 3, COARSE_RULE.side, COARSE_RULE.side]);
      dims.length = 0;
      const wide = paste(resizeRgb(astro, 256, 256), 900, 300, 500, 30); // 3:1, far from square
      const [poses, faces, coarse] = [await fixed.keypoints.detect(wide), await fixed.faceDetector.detect(wide), await fixed.faceDetector.detectAt!(wide, 0.5, COARSE_RULE.side)];
      expect(dims).toEqual([[1, 256, 256, 3], [1, 3, 640, 640], [1, 3, COARSE_RULE.side, COARSE_RULE.side]]);
      spy.mockRestore();
      const [poses0, faces0] = [await ms.keypoints.detect(wide), await ms.faceDetector.detect(wide)];
      expect(poses).toHaveLength(poses0.length);
      expect(poses.length).toBeGreaterThanOrEqual(1);
      for (let k = 0; k < 3; k++) expect(Math.hypot(poses[0].keypoints[k].x - poses0[0].keypoints[k].x, poses[0].keypoints[k].y - poses0[0].keypoints[k].y)).toBeLessThan(6);
      expect(faces).toHaveLength(faces0.length);
      expect(faces.length).toBe(1);
      expect(boxIou(faces[0].box, faces0[0].box)).toBeGreaterThan(0.9);
      expect(coarse).toHaveLength(1);
      expect(boxIou(coarse[0].box, faces0[0].box)).toBeGreaterThan(0.8);
      // the CPU default keeps the tighter letterbox
      expect(ms.keypoints.square).toBe(false);
    } finally {
      spy.mockRestore();
      await fixed?.close();
    }
  });
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

  it('paddedBatchSize: the next power of two up to the most per call', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 16].map((n) => paddedBatchSize(n, 16))).toEqual([1, 2, 4, 4, 8, 8, 16, 16]);
    expect([5, 6, 7].map((n) => paddedBatchSize(n, 6))).toEqual([6, 6, 7]);
  });

  it('padded batches (the CUDA setting) give each real crop the result it gets unpadded', async () => {
    const padded = await loadModelSet({ provider: 'cpu', threads: 1, faceLandmarks: { padBatch: true, maxBatch: 4 } });
    try {
      expect(padded.faceLandmarks.padBatch).toBe(true);
      expect(ms.faceLandmarks.padBatch).toBe(false); // CPU default: no padding
      const s = ms.faceLandmarks.inputSize;
      const crops = [
        cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, s, s),
        noise(s, s),
        cropResize(astro, { x: 120, y: 20, width: 210, height: 210 }, s, s),
      ];
      const plain = await ms.faceLandmarks.run(crops); // one call of 3
      const pad = await padded.faceLandmarks.run(crops); // one call of 4, last crop blank
      expect(pad).toHaveLength(3);
      for (let i = 0; i < 3; i++) {
        expect(pad[i].faceScore).toBeCloseTo(plain[i].faceScore, 4);
        let worst = 0;
        for (let k = 0; k < plain[i].points.length; k++) worst = Math.max(worst, Math.abs(pad[i].points[k] - plain[i].points[k]));
        expect(worst).toBeLessThan(1e-2);
      }
      // five crops with at most 4 per call: split 4 + 1, still in order
      const five = await padded.faceLandmarks.run([...crops, crops[0], crops[1]]);
      expect(five).toHaveLength(5);
      expect(five[3].faceScore).toBeCloseTo(plain[0].faceScore, 4);
      expect(five[4].faceScore).toBeCloseTo(plain[1].faceScore, 4);
    } finally {
      await padded.close();
    }
  });

  it('accepts crops of other sizes and returns points in their pixels', async () => {
    const crop = cropResize(astro, { x: 140, y: 35, width: 170, height: 170 }, 384, 384);
    const [r] = await ms.faceLandmarks.run([crop]);
    expect(r.points[3]).toBeGreaterThan(150); // nose x in a 384 crop
    expect(r.points[3]).toBeLessThan(234);
  });
});
