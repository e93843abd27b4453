// The engine's flow (fusion, crops, re-centring, paste-back, hints) with model
// doubles that "see" bright disks, so results can be checked exactly.
import { describe, expect, it } from 'vitest';
import { MAX_SEARCHED_CLICKS, FaceSegEngine } from '../../backend/pipeline/engine.js';
import type { FaceDetection, LandmarkPort, MeshResult, PersonPose } from '../../backend/pipeline/ports.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { unionMask } from '../../backend/pipeline/mask-ops.js';

interface Disk { x: number; y: number; r: number }

function scene(w: number, h: number, disks: Disk[]): RgbImage {
  const data = new Uint8Array(w * h * 3).fill(20);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (disks.some((d) => Math.hypot(x + 0.5 - d.x, y + 0.5 - d.y) <= d.r)) data.fill(220, (y * w + x) * 3, (y * w + x) * 3 + 3);
  }
  return { width: w, height: h, data };
}

/** A striped scene without faces: luma between lo and hi (no blob the mesh double would call a face). */
function textured(w: number, h: number, lo: number, hi: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(((x >> 2) + (y >> 2)) % 2 ? hi : lo, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
}

/** Finds the bright blob in the crop and returns its rim and inside as "landmarks". */
class BlobMesh implements LandmarkPort {
  readonly inputSize = 64;
  calls = 0;
  async run(crops: RgbImage[]): Promise<MeshResult[]> {
    this.calls++;
    return crops.map((c) => {
      let sx = 0, sy = 0, n = 0;
      for (let i = 0; i < c.width * c.height; i++) if (c.data[i * 3] > 120) { sx += (i % c.width) + 0.5; sy += Math.floor(i / c.width) + 0.5; n++; }
      if (n < 10) return { points: new Float32Array(3 * 3), count: 3, faceScore: 0.01 };
      const cx = sx / n, cy = sy / n, r = Math.sqrt(n / Math.PI);
      const pts: number[] = [];
      for (let k = 0; k < 120; k++) { const a = (k / 120) * 2 * Math.PI; pts.push(cx + r * Math.cos(a), cy + r * Math.sin(a), 0); }
      pts.push(cx, cy, 0);
      return { points: Float32Array.from(pts), count: pts.length / 3, faceScore: 0.95 };
    });
  }
}

/** Bright connected blobs of an image as disks (centre, equivalent radius); 4-connected flood fill. */
function blobs(c: RgbImage): Disk[] {
  const seen = new Uint8Array(c.width * c.height);
  const out: Disk[] = [];
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] || c.data[i * 3] <= 120) continue;
    const stack = [i];
    seen[i] = 1;
    let n = 0, sx = 0, sy = 0;
    while (stack.length) {
      const j = stack.pop()!;
      const x = j % c.width, y = Math.floor(j / c.width);
      n++; sx += x + 0.5; sy += y + 0.5;
      for (const k of [j - 1, j + 1, j - c.width, j + c.width]) {
        if (k < 0 || k >= seen.length || seen[k] || c.data[k * 3] <= 120) continue;
        if ((k === j - 1 || k === j + 1) && Math.floor(k / c.width) !== y) continue;
        seen[k] = 1;
        stack.push(k);
      }
    }
    out.push({ x: sx / n, y: sy / n, r: Math.sqrt(n / Math.PI) });
  }
  return out;
}

function detectorFor(disks: Disk[]): { detect: () => Promise<FaceDetection[]> } {
  return {
    detect: async () => disks.map((d) => ({
      box: { x: d.x - d.r, y: d.y - d.r, width: 2 * d.r, height: 2 * d.r },
      score: 0.9,
      landmarks: [{ x: d.x - d.r / 2, y: d.y }, { x: d.x + d.r / 2, y: d.y }],
    })),
  };
}

function iouWithDisks(mask: Uint8Array, w: number, h: number, disks: Disk[]): number {
  let inter = 0, union = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const t = disks.some((d) => Math.hypot(x + 0.5 - d.x, y + 0.5 - d.y) <= d.r);
    const p = mask[y * w + x] >= 128;
    if (t && p) inter++;
    if (t || p) union++;
  }
  return inter / union;
}

describe('FaceSegEngine flow', () => {
  const disks = [{ x: 80, y: 70, r: 25 }, { x: 230, y: 120, r: 18 }];
  const img = scene(320, 200, disks);

  it('masks every detected face precisely at full resolution', async () => {
    const mesh = new BlobMesh();
    const engine = new FaceSegEngine({ faceDetector: detectorFor(disks), faceLandmarks: mesh }, { fingerprint: 'abc12345', provider: 'cpu' });
    const res = await engine.segment(img);
    expect(res.faces).toHaveLength(2);
    // one batched call for both faces; the crops already fit, so no second pass
    expect(mesh.calls).toBe(1);
    const full = unionMask(res.faces.map((f) => f.mask), 320, 200);
    expect(iouWithDisks(full, 320, 200, disks)).toBeGreaterThan(0.9);
    expect(res.score).toBeGreaterThan(0);
    expect(res.score).toBeLessThanOrEqual(1);
    expect(Object.keys(res.timings)).toEqual(expect.arrayContaining(['detector', 'crop', 'landmarks', 'recentre', 'retry', 'region', 'refine', 'paste']));
  });

  it('re-centres a crop that the detector placed off the face', async () => {
    const mesh = new BlobMesh();
    const d = disks[0];
    const off = { detect: async () => [{ box: { x: d.x - d.r + 12, y: d.y - d.r - 10, width: 2 * d.r, height: 2 * d.r }, score: 0.9, landmarks: [] }] };
    const engine = new FaceSegEngine({ faceDetector: off, faceLandmarks: mesh }, { fingerprint: 'abc12345', provider: 'cpu' });
    const res = await engine.segment(img);
    expect(mesh.calls).toBe(2);
    expect(iouWithDisks(unionMask(res.faces.map((f) => f.mask), 320, 200), 320, 200, [d])).toBeGreaterThan(0.9);
  });

  it('batches the face crops of several images into one landmark call, with the same masks as one by one', async () => {
    const other = [{ x: 60, y: 60, r: 20 }];
    const img2 = scene(200, 150, other);
    const det = { detect: async (im: RgbImage) => (im === img ? detectorFor(disks).detect() : detectorFor(other).detect()) };
    const mesh = new BlobMesh();
    const engine = new FaceSegEngine({ faceDetector: det, faceLandmarks: mesh }, { fingerprint: 'abc12345', provider: 'cpu' });
    const batch = await engine.segmentBatch([{ image: img }, { image: img2 }]);
    expect(mesh.calls).toBe(1);
    expect(batch.map((r) => r.faces.length)).toEqual([2, 1]);
    expect([batch[0].width, batch[1].width]).toEqual([320, 200]);
    const single = await engine.segment(img2);
    expect(Array.from(single.faces[0].mask.data)).toEqual(Array.from(batch[1].faces[0].mask.data));
    expect(iouWithDisks(unionMask(batch[1].faces.map((f) => f.mask), 200, 150), 200, 150, other)).toBeGreaterThan(0.9);
  });

  it('finds a face from body keypoints alone (detector silent)', async () => {
    const d = disks[0];
    const pose: PersonPose = {
      box: { x: 0, y: 0, width: 200, height: 200 },
      score: 0.8,
      keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0 })),
    };
    pose.keypoints[0] = { x: d.x, y: d.y + 3, score: 0.9 };
    pose.keypoints[1] = { x: d.x + 8, y: d.y - 5, score: 0.9 };
    pose.keypoints[2] = { x: d.x - 8, y: d.y - 5, score: 0.9 };
    const engine = new FaceSegEngine(
      { keypoints: { detect: async () => [pose] }, faceDetector: { detect: async () => [] }, faceLandmarks: new BlobMesh() },
      { fingerprint: 'abc12345', provider: 'cpu' },
    );
    const res = await engine.segment(img);
    expect(res.faces).toHaveLength(1);
    expect(res.faces[0].source).toBe('keypoints');
    expect(iouWithDisks(unionMask([res.faces[0].mask], 320, 200), 320, 200, [d])).toBeGreaterThan(0.85);
  });

  it('an empty well-exposed scene scores high; an empty dark or flat one low (there may be people we cannot see)', async () => {
    const engine = new FaceSegEngine({ faceDetector: { detect: async () => [] }, faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const bright = textured(100, 80, 40, 200);
    const res = await engine.segment(bright);
    expect(res.faces).toEqual([]);
    expect(res.score).toBeGreaterThan(0.5);
    const dark = await engine.segment(textured(100, 80, 2, 30));
    expect(dark.faces).toEqual([]);
    expect(dark.score).toBeLessThan(0.2);
    const flat = await engine.segment(scene(100, 80, []));
    expect(flat.score).toBeLessThan(0.2);
  });

  it('a person the keypoint model sees from behind (shoulders, no face) pulls the score down', async () => {
    const bright = textured(320, 200, 40, 200);
    const pose: PersonPose = { box: { x: 100, y: 60, width: 120, height: 140 }, score: 0.7, keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0 })) };
    pose.keypoints[5] = { x: 190, y: 130, score: 0.8 };
    pose.keypoints[6] = { x: 130, y: 130, score: 0.8 };
    const alone = new FaceSegEngine({ faceDetector: { detect: async () => [] }, faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const withPerson = new FaceSegEngine({ keypoints: { detect: async () => [pose] }, faceDetector: { detect: async () => [] }, faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const a = await alone.segment(bright);
    const b = await withPerson.segment(bright);
    expect(b.faces).toEqual([]);
    expect(b.score).toBeLessThan(a.score * 0.6);
  });

  it('interactive: a click keeps the face under it; a click elsewhere segments there', async () => {
    const engine = new FaceSegEngine({ faceDetector: detectorFor([disks[0]]), faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const onFirst = await engine.segment(img, { hints: [{ kind: 'point', point: { x: 80, y: 70 }, positive: true }] });
    expect(onFirst.faces).toHaveLength(1);
    expect(onFirst.faces[0].box.x).toBeLessThan(80);
    // the detector misses disk 2; clicking on it still returns its mask
    const onSecond = await engine.segment(img, { hints: [{ kind: 'point', point: { x: 230, y: 120 }, positive: true }] });
    expect(onSecond.faces).toHaveLength(1);
    expect(onSecond.faces[0].source).toBe('click');
    expect(iouWithDisks(unionMask([onSecond.faces[0].mask], 320, 200), 320, 200, [disks[1]])).toBeGreaterThan(0.8);
    const negative = await engine.segment(img, { hints: [{ kind: 'point', point: { x: 80, y: 70 }, positive: false }] });
    expect(negative.faces).toHaveLength(0);
  });

  it('interactive: a positive click where there is no face returns nothing (no blob on a coat)', async () => {
    const engine = new FaceSegEngine({ faceDetector: detectorFor([disks[0]]), faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const res = await engine.segment(img, { hints: [{ kind: 'point', point: { x: 170, y: 20 }, positive: true }] });
    expect(res.faces).toEqual([]);
  });

  it('interactive: a negative click removes that face and keeps the rest; with a positive click on a missed face, that one joins', async () => {
    const three = [...disks, { x: 290, y: 40, r: 14 }];
    const img3 = scene(320, 200, three);
    const engine = new FaceSegEngine({ faceDetector: detectorFor(disks), faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const neg = await engine.segment(img3, { hints: [{ kind: 'point', point: { x: 230, y: 120 }, positive: false }] });
    expect(neg.faces).toHaveLength(1);
    expect(iouWithDisks(unionMask(neg.faces.map((f) => f.mask), 320, 200), 320, 200, [disks[0]])).toBeGreaterThan(0.85);
    // a click on the face's hair (outside its mask, inside its head box) still removes it
    const nearMiss = await engine.segment(img3, { hints: [{ kind: 'point', point: { x: 230, y: 98 }, positive: false }] });
    expect(nearMiss.faces).toHaveLength(1);
    const both = await engine.segment(img3, {
      hints: [
        { kind: 'point', point: { x: 230, y: 120 }, positive: false },
        { kind: 'point', point: { x: 290, y: 40 }, positive: true },
      ],
    });
    expect(both.faces).toHaveLength(2);
    expect(iouWithDisks(unionMask(both.faces.map((f) => f.mask), 320, 200), 320, 200, [disks[0], three[2]])).toBeGreaterThan(0.85);
  });

  it('interactive: a click on a face too small for the detector finds it in an enlarged window around the click', async () => {
    const small = { x: 250, y: 60, r: 7 };
    const big = { x: 80, y: 120, r: 30 };
    const im = scene(320, 200, [big, small]);
    // sees bright disks of radius >= 12 px in whatever image it is given, like a detector blind to small faces
    const calls: number[] = [];
    const det = {
      detect: async (c: RgbImage) => {
        calls.push(c.width);
        return blobs(c).filter((b) => b.r >= 12).map((b) => ({ box: { x: b.x - b.r, y: b.y - b.r, width: 2 * b.r, height: 2 * b.r }, score: 0.9, landmarks: [] }));
      },
    };
    const engine = new FaceSegEngine({ faceDetector: det, faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const auto = await engine.segment(im);
    expect(auto.faces).toHaveLength(1);
    const res = await engine.segment(im, { hints: [{ kind: 'point', point: { x: 251, y: 61 }, positive: true }] });
    expect(res.faces).toHaveLength(1);
    expect(res.faces[0].source).toBe('click');
    expect(iouWithDisks(unionMask([res.faces[0].mask], 320, 200), 320, 200, [small])).toBeGreaterThan(0.6);
    expect(calls.length).toBeGreaterThan(2); // the whole image, then windows around the click
  });

  it('interactive: a click on a face the automatic pass saw but dropped (unsure landmarks) keeps it; a detection vouches for it, else the detector must confirm it', async () => {
    /** The blob mesh with a fixed, low face score: a small or blurred real face. */
    class UnsureMesh extends BlobMesh {
      constructor(private readonly score: number) { super(); }
      override async run(crops: RgbImage[]): Promise<MeshResult[]> {
        return (await super.run(crops)).map((m) => ({ ...m, faceScore: m.faceScore > 0.5 ? this.score : m.faceScore }));
      }
    }
    const d = disks[0];
    // a weak detection (a strong one is kept as an ellipse even when the mesh rejects it)
    const weak = { detect: async () => [{ box: { x: d.x - d.r, y: d.y - d.r, width: 2 * d.r, height: 2 * d.r }, score: 0.45, landmarks: [] }] };
    const onFace = { hints: [{ kind: 'point' as const, point: { x: d.x, y: d.y }, positive: true }] };
    const unsure = new FaceSegEngine({ faceDetector: weak, faceLandmarks: new UnsureMesh(0.4) }, { fingerprint: 'x', provider: 'cpu' });
    expect((await unsure.segment(img)).faces).toEqual([]);
    const clicked = await unsure.segment(img, onFace);
    expect(clicked.faces).toHaveLength(1);
    expect(iouWithDisks(unionMask([clicked.faces[0].mask], 320, 200), 320, 200, [d])).toBeGreaterThan(0.85);
    // a click elsewhere does not lower the bar for this face (a negative click makes the answer every automatic face kept)
    const elsewhere = await unsure.segment(img, { hints: [{ kind: 'point', point: { x: 170, y: 20 }, positive: true }, { kind: 'point', point: { x: 300, y: 190 }, positive: false }] });
    expect(elsewhere.faces).toEqual([]);
    // landmarks too unsure to place the face: nothing without the click; with it, the detection's ellipse
    const lost = new FaceSegEngine({ faceDetector: weak, faceLandmarks: new UnsureMesh(0.1) }, { fingerprint: 'x', provider: 'cpu' });
    expect((await lost.segment(img)).faces).toEqual([]);
    const ellipse = await lost.segment(img, onFace);
    expect(ellipse.faces).toHaveLength(1);
    expect(ellipse.faces[0].score).toBeLessThan(clicked.faces[0].score);
    expect(iouWithDisks(unionMask([ellipse.faces[0].mask], 320, 200), 320, 200, [d])).toBeGreaterThan(0.4);
    // keypoints alone (no detection behind the candidate): the detector must confirm it, and a silent one does not
    const pose: PersonPose = { box: { x: 0, y: 0, width: 200, height: 200 }, score: 0.8, keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0 })) };
    pose.keypoints[0] = { x: d.x, y: d.y + 3, score: 0.9 };
    pose.keypoints[1] = { x: d.x + 8, y: d.y - 5, score: 0.9 };
    pose.keypoints[2] = { x: d.x - 8, y: d.y - 5, score: 0.9 };
    const silent = new FaceSegEngine({ keypoints: { detect: async () => [pose] }, faceDetector: { detect: async () => [] }, faceLandmarks: new UnsureMesh(0.4) }, { fingerprint: 'x', provider: 'cpu' });
    expect((await silent.segment(img, onFace)).faces).toEqual([]);
    // nor does a clicked pose whose landmarks are lost get an ellipse: no detection vouches for it
    const silentLost = new FaceSegEngine({ keypoints: { detect: async () => [pose] }, faceDetector: { detect: async () => [] }, faceLandmarks: new UnsureMesh(0.1) }, { fingerprint: 'x', provider: 'cpu' });
    expect((await silentLost.segment(img, onFace)).faces).toEqual([]);
    // one that sees a face only in the check's 192-px view of the clicked crop confirms it
    const inCheck = { detect: async (c: RgbImage) => (c.width === 192 ? [{ box: { x: 70, y: 70, width: 52, height: 52 }, score: 0.6, landmarks: [] }] : []) };
    const seeing = new FaceSegEngine({ keypoints: { detect: async () => [pose] }, faceDetector: inCheck, faceLandmarks: new UnsureMesh(0.4) }, { fingerprint: 'x', provider: 'cpu' });
    expect((await seeing.segment(img)).faces).toEqual([]);
    expect((await seeing.segment(img, onFace)).faces).toHaveLength(1);
  });

  it('interactive: thousands of clicks in one context cost a bounded number of searches', async () => {
    let detects = 0;
    const det = { detect: async () => (detects++, []) };
    const mesh = new BlobMesh();
    const engine = new FaceSegEngine({ faceDetector: det, faceLandmarks: mesh }, { fingerprint: 'x', provider: 'cpu' });
    const hints = Array.from({ length: 5000 }, (_, i) => ({ kind: 'point' as const, point: { x: (i * 7) % 320, y: (i * 13) % 200 }, positive: true }));
    const res = await engine.segment(img, { hints });
    // the whole image, 4 windows per searched click, and the detector's check of each crop the mesh accepts (3 per click)
    expect(detects).toBeLessThanOrEqual(1 + 4 * MAX_SEARCHED_CLICKS + 3 * MAX_SEARCHED_CLICKS);
    // a detector that sees nothing confirms none of the mesh's click faces
    expect(res.faces).toHaveLength(0);
  });

  it('model version changes with settings and per-project parameters', () => {
    const a = new FaceSegEngine({ faceLandmarks: new BlobMesh() }, { fingerprint: 'abcdef123', provider: 'cpu' });
    const b = new FaceSegEngine({ faceLandmarks: new BlobMesh() }, { fingerprint: 'abcdef123', provider: 'cpu', settings: { dilate: 2 } });
    expect(a.modelVersion).not.toBe(b.modelVersion);
    expect(a.versionWith({ dilate: 1 })).not.toBe(a.modelVersion);
    expect(a.versionWith({})).toBe(a.modelVersion);
  });

  it('dilation grows the mask', async () => {
    const base = new FaceSegEngine({ faceDetector: detectorFor([disks[0]]), faceLandmarks: new BlobMesh() }, { fingerprint: 'x', provider: 'cpu' });
    const r0 = await base.segment(img);
    const r1 = await base.segment(img, { params: { dilate: 10 } });
    const area = (m: Uint8Array): number => m.reduce((s, v) => s + (v >= 128 ? 1 : 0), 0);
    expect(area(unionMask(r1.faces.map((f) => f.mask), 320, 200))).toBeGreaterThan(area(unionMask(r0.faces.map((f) => f.mask), 320, 200)) * 1.1);
  });
});
