// Each engine stage on its own, with tiny synthetic images and a landmark
// double that "sees" one bright disk per crop.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type EngineSettings } from '../../backend/pipeline/engine-settings.js';
import { FACE_STAGES, runFaceStages } from '../../backend/pipeline/face-stages.js';
import type { HeadCandidate } from '../../backend/pipeline/heads.js';
import type { LandmarkPort, MeshResult, SegmenterPort } from '../../backend/pipeline/ports.js';
import { personHead } from '../../backend/pipeline/stage-finish.js';
import { confirmClickFaces } from '../../backend/pipeline/click-confirm.js';
import { cropFaces, meshFaces, recentreFaces, retryRejected, tryRois, type CropJob, type MeshedFace } from '../../backend/pipeline/stage-landmarks.js';
import { locateHeads, seedCandidates } from '../../backend/pipeline/stage-locate.js';
import { normaliseForModels } from '../../backend/pipeline/low-light.js';
import { cropImage, DEFAULT_TILES, tileGrid } from '../../backend/pipeline/tiles.js';
import { pasteFace, pasteFaces } from '../../backend/pipeline/stage-paste.js';
import { faceRegions, glareApplies, refineRegions, type FaceRegion } from '../../backend/pipeline/stage-region.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import type { Roi } from '../../backend/pipeline/warp.js';

const W = 160;
const H = 120;
const DISK = { x: 60, y: 50, r: 14 };

/** The disk (the "face") at `face` on a background of `bg`. */
function scene(face = 220, bg = 20): RgbImage {
  const data = new Uint8Array(W * H * 3).fill(bg);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (Math.hypot(x + 0.5 - DISK.x, y + 0.5 - DISK.y) <= DISK.r) data.fill(face, (y * W + x) * 3, (y * W + x) * 3 + 3);
  }
  return { width: W, height: H, data };
}

/** Rim of the bright blob (red above `bright`) in a crop as "landmarks"; its score falls with how little of the crop the blob fills, unless `score` is given. */
class DiskMesh implements LandmarkPort {
  readonly inputSize = 48;
  calls = 0;
  crops = 0;
  constructor(
    private readonly score?: (fill: number) => number,
    private readonly bright = 120,
  ) {}
  async run(crops: RgbImage[]): Promise<MeshResult[]> {
    this.calls++;
    this.crops += crops.length;
    return crops.map((c) => {
      let sx = 0, sy = 0, n = 0;
      for (let i = 0; i < c.width * c.height; i++) if (c.data[i * 3] > this.bright) { sx += (i % c.width) + 0.5; sy += Math.floor(i / c.width) + 0.5; n++; }
      const faceScore = this.score ? this.score(n / (c.width * c.height)) : n >= 10 ? 0.95 : 0.01;
      if (n < 10) return { points: new Float32Array(9), count: 3, faceScore };
      const cx = sx / n, cy = sy / n, r = Math.sqrt(n / Math.PI);
      const pts: number[] = [];
      for (let k = 0; k < 60; k++) pts.push(cx + r * Math.cos((k / 60) * 2 * Math.PI), cy + r * Math.sin((k / 60) * 2 * Math.PI), 0);
      return { points: Float32Array.from(pts), count: 60, faceScore };
    });
  }
}

function candidate(roi: Roi, extra: Partial<HeadCandidate> = {}): HeadCandidate {
  const half = roi.size / 2;
  const headBox = { x: roi.center.x - half, y: roi.center.y - half, width: roi.size, height: roi.size };
  return { roi, headBox, source: 'detector', detectorScore: 0.9, poseScore: 0, keypoints: [], earsOnly: false, ...extra };
}

function job(roi: Roi, settings: Partial<EngineSettings> = {}, extra: Partial<HeadCandidate> = {}): CropJob {
  return { view: scene(), candidate: candidate(roi, extra), settings: { ...DEFAULT_SETTINGS, colourRefine: false, ...settings } };
}

const onDisk: Roi = { center: { x: DISK.x, y: DISK.y }, size: 42, angle: 0 };
const offDisk: Roi = { center: { x: DISK.x + 9, y: DISK.y - 7 }, size: 42, angle: 0 };

async function meshed(landmarks: LandmarkPort, jobs: CropJob[]): Promise<MeshedFace[]> {
  return meshFaces(landmarks, cropFaces(jobs, landmarks.inputSize));
}

describe('stage crop', () => {
  it('crops each candidate ROI at the landmark size, centred on the candidate', () => {
    const [face] = cropFaces([job(onDisk)], 48);
    expect(face.crop.width).toBe(48);
    expect(face.roi).toBe(onDisk);
    // the disk sits in the middle of the crop, the corners are background
    expect(face.crop.data[(24 * 48 + 24) * 3]).toBe(220);
    expect(face.crop.data[0]).toBe(20);
  });
});

describe('stage landmarks', () => {
  it('runs the landmark model once for all crops, and not at all for none', async () => {
    const mesh = new DiskMesh();
    expect(await meshed(mesh, [])).toEqual([]);
    expect(mesh.calls).toBe(0);
    const faces = await meshed(mesh, [job(onDisk), job({ ...onDisk, center: { x: 140, y: 100 } })]);
    expect(mesh.calls).toBe(1);
    expect(faces.map((f) => f.mesh.faceScore)).toEqual([0.95, 0.01]);
  });

  it('tryRois: a face takes a proposal only when its rule prefers it, judged against its crop as it stands by then', async () => {
    const mesh = new DiskMesh((fill) => fill);
    const [face, other] = await meshed(mesh, [job({ ...onDisk, size: 80 }), job(onDisk)]);
    const tighter = { ...onDisk, size: 40 };
    const tightest = { ...onDisk, size: 36 };
    const wider = { ...onDisk, size: 60 };
    const out = await tryRois(mesh, [face, other], [{ face, roi: tightest }, { face, roi: wider }, { face, roi: tighter }], (next, cur) => next.faceScore > cur.faceScore);
    expect(out[0].roi).toBe(tightest);
    expect(out[0].crop.width).toBe(48);
    expect(out[1]).toBe(other);
    // the faces given in are not changed
    expect(face.roi.size).toBe(80);
  });
});

describe('stage recentre', () => {
  it('moves an off-centre crop onto the landmarks, only while the face has passes left', async () => {
    const mesh = new DiskMesh();
    const [centred] = await recentreFaces(mesh, await meshed(mesh, [job(offDisk)]));
    expect(Math.hypot(centred.roi.center.x - DISK.x, centred.roi.center.y - DISK.y)).toBeLessThan(1.5);
    expect(centred.roi.size).toBeCloseTo(2 * DISK.r * DEFAULT_SETTINGS.roiScale, -1);
    const onePass = new DiskMesh();
    const [kept] = await recentreFaces(onePass, await meshed(onePass, [job(offDisk, { passes: 1 })]));
    expect(kept.roi).toBe(offDisk);
    expect(onePass.calls).toBe(1);
  });

  it('stops once the crops sit on their landmarks', async () => {
    const mesh = new DiskMesh();
    await recentreFaces(mesh, await meshed(mesh, [job(offDisk, { passes: 6 })]));
    // first pass + at most two re-centrings before the ROI stops moving
    expect(mesh.calls).toBeLessThanOrEqual(3);
  });
});

describe('stage retry', () => {
  it('gives a rejected crop other scales, upright, and keeps the best; accepted faces are left alone', async () => {
    // only a crop the disk fills well enough counts as a face
    const mesh = new DiskMesh((fill) => (fill > 0.2 ? 0.9 : 0.1));
    const tooWide = { center: { x: DISK.x, y: DISK.y }, size: 70, angle: 0.3 };
    const faces = await meshed(mesh, [job(tooWide), job(onDisk)]);
    expect(faces[0].mesh.faceScore).toBe(0.1);
    const out = await retryRejected(mesh, faces);
    expect(out[0].mesh.faceScore).toBe(0.9);
    expect(out[0].roi.angle).toBe(0);
    expect(out[1]).toBe(faces[1]);
  });

  it('retries a dark rejected face with its shadows lifted, and re-centres it on a lifted crop', async () => {
    // a dark face on a darker background, which the model only sees once it is brighter than 100
    const mesh = new DiskMesh(undefined, 100);
    const dark = { ...job(onDisk), view: scene(60, 10) };
    const faces = await meshed(mesh, [dark]);
    expect(faces[0].mesh.faceScore).toBeLessThan(0.5);
    const [out] = await retryRejected(mesh, faces);
    expect(out.mesh.faceScore).toBeGreaterThan(0.9);
    // the crop the face keeps is the lifted one: its centre is brighter than the image's face
    expect(out.crop.data[(24 * 48 + 24) * 3]).toBeGreaterThan(100);
    expect(out.lifted).toBe(true);
    // a bright face the model rejects gets no lifted tries: its first crop and its 2 other scales only
    const plain = new DiskMesh(() => 0.1);
    const rejected = await meshed(plain, [job(onDisk)]);
    await retryRejected(plain, rejected);
    expect(plain.crops).toBe(1 + 2);
  });

  it('does nothing without retry scales', async () => {
    const mesh = new DiskMesh(() => 0.1);
    const faces = await meshed(mesh, [job(onDisk, { retryScales: [] })]);
    expect(await retryRejected(mesh, faces)).toEqual(faces);
    expect(mesh.calls).toBe(1);
  });
});

describe('click check', () => {
  /** Sees the bright blob of whatever it is shown, as the face detector sees a face; records each view's side. */
  const blobDetector = (sides: number[]) => ({
    detect: async (c: RgbImage) => {
      sides.push(c.width);
      let sx = 0, sy = 0, n = 0;
      for (let i = 0; i < c.width * c.height; i++) if (c.data[i * 3] > 120) { sx += (i % c.width) + 0.5; sy += Math.floor(i / c.width) + 0.5; n++; }
      if (n < 10) return [];
      const r = Math.sqrt(n / Math.PI);
      return [{ box: { x: sx / n - r, y: sy / n - r, width: 2 * r, height: 2 * r }, score: 0.8, landmarks: [] }];
    },
  });

  it('keeps a click face the detector sees at the crop\'s middle, drops one it does not, and leaves detections and rejected crops alone', async () => {
    const mesh = new DiskMesh((fill) => (fill > 0.05 ? 0.95 : 0.6)); // accepts even a crop of the background, as MediaPipe's mesh can
    const click = { source: 'click' as const, detectorScore: 0 };
    const faces = await meshed(mesh, [
      job(onDisk, {}, click),
      job({ ...onDisk, center: { x: 130, y: 90 } }, {}, click), // background: the mesh says 0.6
      job({ ...onDisk, center: { x: 130, y: 90 } }), // a detection there: not checked again
      job({ ...onDisk, center: { x: 130, y: 90 } }, { minFaceScore: 0.7 }, click), // rejected by the mesh already
    ]);
    expect(faces.map((f) => f.mesh.faceScore)).toEqual([0.95, 0.6, 0.6, 0.6]);
    const sides: number[] = [];
    const out = await confirmClickFaces(blobDetector(sides), faces);
    expect(out.map((f) => f.mesh.faceScore)).toEqual([0.95, 0, 0.6, 0.6]);
    expect(out[0]).toBe(faces[0]);
    expect(sides).toEqual([192, 192]); // only the two unconfirmed click faces were looked at
    // no detector (a keypoints-only model set): nothing to check with
    expect((await confirmClickFaces(undefined, faces)).map((f) => f.mesh.faceScore)).toEqual([0.95, 0.6, 0.6, 0.6]);
  });

  it('a face the detector sees away from the crop\'s middle does not confirm it', async () => {
    // the click crop sits beside the disk: the detector sees the disk near the view's edge
    const faces = await meshed(new DiskMesh(() => 0.9), [job({ center: { x: DISK.x + 30, y: DISK.y }, size: 42, angle: 0 }, {}, { source: 'click', detectorScore: 0 })]);
    const [out] = await confirmClickFaces(blobDetector([]), faces);
    expect(out.mesh.faceScore).toBe(0);
  });
});

function fieldAt(region: FaceRegion, u: number, v: number): number {
  return region.field[Math.floor(v) * region.fieldSize + Math.floor(u)];
}

describe('stage region', () => {
  it('landmark region inside the mesh, an ellipse for a rejected crop, the parser map when there is a parser', async () => {
    const mesh = new DiskMesh();
    const faces = await meshed(mesh, [job(onDisk), job({ ...onDisk, center: { x: 140, y: 100 } })]);
    const [onFace, rejected] = await faceRegions(undefined, faces);
    expect(onFace).toMatchObject({ source: 'mesh', fallback: false, fieldSize: 48 });
    expect(fieldAt(onFace, 24, 24)).toBeGreaterThan(0);
    expect(fieldAt(onFace, 2, 2)).toBeLessThan(0);
    expect(rejected).toMatchObject({ source: 'ellipse', fallback: true });
    const parser: SegmenterPort = {
      inputSize: 16,
      run: async (crops) => crops.map(() => ({ width: 8, height: 8, data: new Float32Array(64).map((_, i) => (i % 8 < 4 ? 0.9 : 0.1)) })),
    };
    const parsed = await faceRegions(parser, faces);
    expect(parsed.map((r) => [r.source, r.fieldSize, r.fallback])).toEqual([['parser', 8, false], ['parser', 8, true]]);
    expect(fieldAt(parsed[0], 1, 4)).toBeGreaterThan(0);
    expect(fieldAt(parsed[0], 6, 4)).toBeLessThan(0);
  });

  it('a parser that knows hair keeps the landmark region and refines it: its hair leaves, its sure face joins', async () => {
    const mesh = new DiskMesh();
    const faces = await meshed(mesh, [job(onDisk), job({ ...onDisk, center: { x: 140, y: 100 } })]);
    const [plain] = await faceRegions(undefined, faces);
    // over the crop: hair in the top quarter, sure face in the bottom eighth (below the disk)
    const parser: SegmenterPort = {
      inputSize: 16,
      run: async (crops) =>
        crops.map(() => ({
          width: 8,
          height: 8,
          data: new Float32Array(64).map((_, i) => (i >= 56 ? 0.9 : 0.1)),
          hair: new Float32Array(64).map((_, i) => (i < 16 ? 0.9 : 0)),
        })),
    };
    const regions = await faceRegions(parser, faces);
    expect(regions.map((r) => [r.source, r.fieldSize, r.fallback])).toEqual([['mesh', 48, false], ['ellipse', 48, true]]);
    expect(Array.from(regions[0].field)).toEqual(Array.from(plain.field));
    const [fused] = await refineRegions(regions);
    expect(fieldAt(plain, 24, 9)).toBeGreaterThan(0);
    expect(fieldAt(fused, 24, 9)).toBeLessThan(0); // hair
    expect(fieldAt(fused, 24, 24)).toBeGreaterThan(0); // the face
    expect(fieldAt(plain, 24, 46)).toBeLessThan(0);
    expect(fieldAt(fused, 24, 46)).toBeGreaterThan(0); // sure face below the disk
  });

  it('glare is read only on the photo\'s own pixels and a head that is not turned', async () => {
    const [face] = await meshed(new DiskMesh(), [job(onDisk)]);
    expect(glareApplies(false, face)).toBe(true);
    expect(glareApplies(true, face)).toBe(false);
    expect(glareApplies(false, { ...face, lifted: true })).toBe(false);
    expect(glareApplies(false, { ...face, job: { ...face.job, toneMapped: true } })).toBe(false);
  });

  it('refine leaves alone what it must not touch: colour refinement off, ellipses, meshes without a chin point', async () => {
    const mesh = new DiskMesh();
    const regions = await faceRegions(undefined, await meshed(mesh, [job(onDisk, { colourRefine: true }), job({ ...onDisk, center: { x: 140, y: 100 } }, { colourRefine: true })]));
    // the double's 60-point mesh has no chin point (152): nothing to anchor the colour model on
    const out = await refineRegions(regions);
    expect(out[0]).toBe(regions[0]);
    expect(out[1]).toBe(regions[1]);
  });
});

describe('stage paste', () => {
  const located = (extra: Partial<HeadCandidate> = {}) => ({
    image: scene(),
    view: scene(),
    settings: { ...DEFAULT_SETTINGS, colourRefine: false },
    hints: [],
    poses: [],
    candidates: [candidate(onDisk, extra)],
    timings: {},
    options: {},
  });

  it('pastes the landmark region back over the disk, with its evidence', async () => {
    const mesh = new DiskMesh();
    const image = located();
    const [region] = await faceRegions(undefined, await meshed(mesh, [job(onDisk)]));
    const pasted = pasteFace(image, image.candidates[0], region)!;
    const { box } = pasted.face;
    expect(Math.abs(box.x + box.width / 2 - DISK.x)).toBeLessThan(1.5);
    expect(Math.abs(box.width - 2 * DISK.r)).toBeLessThan(3);
    expect(pasted.evidence.meshScore).toBe(0.95);
    expect(pasted.face.score).toBeGreaterThan(0);
  });

  it('with a face parser (a field of another size), keypoints and sample landmarks still come from the landmark crop', async () => {
    // a full 468-point mesh, every point on the blob's centre in landmark-crop pixels
    const inner = new DiskMesh();
    const full: LandmarkPort = {
      inputSize: inner.inputSize,
      run: async (crops) =>
        (await inner.run(crops)).map((m) => {
          // DiskMesh's points 0 and 30 are opposite on the rim: their middle is the blob's centre
          const cx = (m.points[0] + m.points[30 * 3]) / 2;
          const cy = (m.points[1] + m.points[30 * 3 + 1]) / 2;
          const points = new Float32Array(468 * 3);
          for (let k = 0; k < 468; k++) points.set([cx, cy, 0], k * 3);
          return { points, count: 468, faceScore: m.faceScore };
        }),
    };
    const parser: SegmenterPort = {
      inputSize: 16,
      run: async (crops) => crops.map(() => ({ width: 8, height: 8, data: new Float32Array(64).fill(0.9) })),
    };
    const image = { ...located(), options: { captureSamples: true } };
    const [region] = await faceRegions(parser, await meshed(full, [job(onDisk)]));
    expect(region.fieldSize).toBe(8);
    const pasted = pasteFace(image, image.candidates[0], region)!;
    const nose = pasted.face.keypoints.find((k) => k.name === 'nose')!;
    expect(Math.hypot(nose.x - DISK.x, nose.y - DISK.y)).toBeLessThan(1.5);
    // the sample's frame shares the crop's centre: the face centre lands mid-frame
    const sample = pasted.face.sample!;
    expect(Math.abs(sample.landmarks.nose.x - sample.size / 2)).toBeLessThan(1);
    expect(Math.abs(sample.landmarks.nose.y - sample.size / 2)).toBeLessThan(1);
  });

  it('drops rejected crops: clicks silently, weak candidates as doubts, strong detections with a low mesh score', async () => {
    const mesh = new DiskMesh(() => 0.1);
    const regions = await faceRegions(undefined, await meshed(mesh, [job(onDisk)]));
    expect(await pasteFaces(located({ source: 'click', detectorScore: 0 }), regions)).toEqual({ faces: [], rejected: [] });
    const weak = await pasteFaces(located({ detectorScore: 0.5 }), regions);
    expect(weak.faces).toHaveLength(0);
    expect(weak.rejected).toHaveLength(1);
    const strong = await pasteFaces(located({ detectorScore: 0.9 }), regions);
    expect(strong.faces).toHaveLength(1);
    expect(strong.faces[0].evidence.meshScore).toBe(0.3);
  });

  it('a strong detection whose crop the landmark model rejected reports the detector\'s eyes and nose, not the rejected mesh\'s', async () => {
    // a full mesh, rejected (score 0.1), every point in the crop's corner: nothing like a face
    const corner: LandmarkPort = {
      inputSize: 48,
      run: async (crops) => crops.map(() => ({ points: new Float32Array(468 * 3), count: 468, faceScore: 0.1 })),
    };
    const regions = await faceRegions(undefined, await meshed(corner, [job(onDisk)]));
    expect(regions[0].fallback).toBe(true);
    const detectorKeypoints = [
      { name: 'right_eye' as const, x: DISK.x - 4, y: DISK.y - 3, score: 0.9 },
      { name: 'left_eye' as const, x: DISK.x + 4, y: DISK.y - 3, score: 0.9 },
      { name: 'nose' as const, x: DISK.x, y: DISK.y + 1, score: 0.9 },
    ];
    const strong = await pasteFaces(located({ detectorScore: 0.9, detectorKeypoints }), regions);
    expect(strong.faces).toHaveLength(1);
    expect(strong.faces[0].face.keypoints).toEqual(detectorKeypoints);
    // without the detector's points there are none, rather than the rejected mesh's
    const bare = await pasteFaces(located({ detectorScore: 0.9 }), regions);
    expect(bare.faces[0].face.keypoints).toEqual([]);
    // an accepted mesh (the disk's rim, repeated to 468 points) still gives the keypoints, from the mesh
    const rim = new DiskMesh();
    const full: LandmarkPort = {
      inputSize: rim.inputSize,
      run: async (crops) =>
        (await rim.run(crops)).map((m) => {
          const points = new Float32Array(468 * 3);
          for (let k = 0; k < 468; k++) points.set(m.points.subarray((k % m.count) * 3, (k % m.count) * 3 + 3), k * 3);
          return { points, count: 468, faceScore: m.faceScore };
        }),
    };
    const ok = await pasteFaces(located({ detectorScore: 0.9, detectorKeypoints }), await faceRegions(undefined, await meshed(full, [job(onDisk)])));
    expect(ok.faces[0].face.keypoints.map((k) => k.name)).toEqual(['nose', 'left_eye', 'right_eye']);
    expect(ok.faces[0].face.keypoints[0].score).toBe(0.95);
  });
});

describe('the chain', () => {
  it('runs every stage once per batch, in order, with a timing entry each', async () => {
    const mesh = new DiskMesh();
    const out = await runFaceStages({ faceLandmarks: mesh }, [job(offDisk), job(onDisk)]);
    expect(out.regions.map((r) => r.source)).toEqual(['mesh', 'mesh']);
    expect(Object.keys(out.timings)).toEqual([...FACE_STAGES]);
    expect(Object.values(out.timings).every((ms) => ms >= 0)).toBe(true);
  });
});

describe('stage locate', () => {
  const pose = (score: number) => ({
    score: 0.9,
    box: { x: 0, y: 0, width: 10, height: 10 },
    keypoints: Array.from({ length: 17 }, (_, i) => ({ x: 50 + 4 * (i % 5), y: 40 + (i < 5 ? 0 : 30 + i), score: i < 5 ? score : 0.9 })),
  });

  it('in a dark large photo the full-resolution tiles see the normalised copy before its blur, the whole-image pass the blurred one', async () => {
    const w = 1280;
    const h = 720;
    const data = new Uint8Array(w * h * 3);
    // dark noise: every pixel differs from its neighbours, so a blur shows
    let seed = 7;
    for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) % 24;
    const dark: RgbImage = { width: w, height: h, data };
    const seen: RgbImage[] = [];
    const ports = { faceLandmarks: new DiskMesh(), faceDetector: { inputSide: 640, detect: async (img: RgbImage) => (seen.push(img), []) } };
    const located = await locateHeads(ports, dark, {}, DEFAULT_SETTINGS);
    const models = normaliseForModels(dark);
    expect(models.normalised).toBe(true);
    // byte equality through Buffer: toEqual on megapixel arrays takes seconds
    const same = (a: RgbImage, b: RgbImage): boolean => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.length).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.length));
    expect(same(located.view, models.image)).toBe(true);
    // the whole image first (blurred), then the tiles (unblurred)
    expect(seen[0]).toBe(located.view);
    const tiles = tileGrid(w, h, 640, DEFAULT_TILES.overlap);
    expect(seen).toHaveLength(1 + tiles.length);
    tiles.forEach((t, i) => {
      expect(same(seen[1 + i], cropImage(models.unblurred, t))).toBe(true);
      expect(same(seen[1 + i], cropImage(models.image, t))).toBe(false);
    });
  });

  describe('tiles and probes on a 1280x720 photo (fake detector)', () => {
    /** A horizontal ramp: not dark or flat, so the models see these very pixels (no normalised copy). */
    const ramp = (w: number): RgbImage => {
      const data = new Uint8Array(w * 720 * 3);
      for (let i = 0; i < w * 720; i++) data.fill(Math.round(((i % w) * 255) / (w - 1)), i * 3, i * 3 + 3);
      return { width: w, height: 720, data };
    };
    const img = ramp(1280);
    type Det = { box: { x: number; y: number; width: number; height: number }; score: number; landmarks: [] };
    const face = (x: number, side: number, score: number, y = 100): Det => ({ box: { x, y, width: side, height: side }, score, landmarks: [] });
    const grid = tileGrid(1280, 720, 640, DEFAULT_TILES.overlap);
    const within = (b: Det['box'], outer: { x: number; y: number; width: number; height: number }) => b.x >= outer.x && b.y >= outer.y && b.x + b.width <= outer.x + outer.width && b.y + b.height <= outer.y + outer.height;
    /**
     * The whole image holds `whole`; a probe's crop holds `probeFinds` (crop
     * coordinates); a tile holds the `tileFinds` (image coordinates) that lie
     * inside it. `detectAt: false`: a detector with one input size.
     */
    const run = async (o: { whole: Det[]; settings?: Partial<typeof DEFAULT_SETTINGS>; width?: number; probeFinds?: Det[]; tileFinds?: Det[]; detectAt?: boolean }) => {
      const width = o.width ?? 1280;
      const thresholds: number[] = [];
      const tiles: { x: number; y: number; width: number; height: number }[] = [];
      const probeCrops: number[] = [];
      const sized = width === img.width ? img : ramp(width);
      // the detector sees crops without their position: a mark in each tile's first pixel tells which tile it is
      const marked = { ...sized, data: sized.data.slice() };
      const tileAt = (crop: RgbImage) => grid.find((t) => t.width === crop.width && t.height === crop.height && crop.data[0] === marked.data[(t.y * width + t.x) * 3] && crop.data[1] === marked.data[(t.y * width + t.x) * 3 + 1]);
      for (const t of grid) marked.data.set([t.x >> 3, t.y >> 3, 7], (t.y * width + t.x) * 3);
      const detect = async (crop: RgbImage, t: number) => {
        thresholds.push(t);
        if (crop.width === width) return o.whole.filter((d) => d.score > t);
        const tile = tileAt(crop);
        if (o.detectAt === false && !tile) {
          probeCrops.push(crop.width);
          return o.probeFinds ?? [];
        }
        expect(tile).toBeDefined();
        tiles.push(tile!);
        return (o.tileFinds ?? []).filter((d) => within(d.box, tile!)).map((d) => ({ ...d, box: { ...d.box, x: d.box.x - tile!.x, y: d.box.y - tile!.y } }));
      };
      const detectAt = async (crop: RgbImage, t: number, side: number) => {
        if (crop.width === width) return detect(crop, t);
        // a probe: a crop of probeSide seen at its own size, not enlarged to a whole pass
        expect([crop.width, crop.height, side]).toEqual([DEFAULT_TILES.probeSide, DEFAULT_TILES.probeSide, DEFAULT_TILES.probeSide]);
        probeCrops.push(crop.width);
        return o.probeFinds ?? [];
      };
      const ports = { faceLandmarks: new DiskMesh(), faceDetector: { inputSide: 640, detect, ...(o.detectAt === false ? {} : { detectAt }) } };
      const located = await locateHeads(ports, marked, {}, { ...DEFAULT_SETTINGS, ...(o.settings ?? {}) });
      expect(located.view).toBe(marked);
      return { thresholds, probeCrops, tiles: tiles.length, candidates: located.candidates };
    };
    const big = face(100, 300, 0.9);

    it('the whole-image pass runs at the faint score; two tiny detections under the threshold ask for every tile, and only faces above the threshold are kept', async () => {
      const crowd = await run({ whole: [big, face(700, 20, 0.2), face(800, 20, 0.15)] });
      expect(crowd.thresholds[0]).toBe(Math.min(DEFAULT_TILES.weakScore, DEFAULT_TILES.probeScore));
      expect(crowd).toMatchObject({ probeCrops: [], tiles: grid.length });
      expect(crowd.candidates).toHaveLength(1);
      // alwaysTile: tiles whatever the whole-image pass found; an image too small for tiles is neither tiled nor probed
      expect((await run({ whole: [big], settings: { alwaysTile: true } })).tiles).toBe(grid.length);
      expect(await run({ whole: [big, face(700, 20, 0.2)], settings: { alwaysTile: true }, width: 1000 })).toMatchObject({ probeCrops: [], tiles: 0 });
    });

    it('one faint detection away from the faces is probed on a crop of probeSide; an empty probe tiles nothing', async () => {
      const alone = await run({ whole: [big, face(700, 20, 0.2)] });
      expect(alone).toMatchObject({ probeCrops: [DEFAULT_TILES.probeSide], tiles: 0 });
      expect(alone.candidates).toHaveLength(1);
    });

    it('a face the probe finds sends the image to every tile; it lands where the probe saw it, and the tiles\' view of the same face wins', async () => {
      // the hint at (710, 110): the probe crop starts at (630, 30), so the probe's (110, 100) is the image's (740, 130)
      const hint = face(700, 20, DEFAULT_TILES.probeScore + 0.01);
      const probeFace = face(110, 20, 0.8);
      const seen = await run({ whole: [big, hint], probeFinds: [probeFace] });
      expect(seen).toMatchObject({ probeCrops: [DEFAULT_TILES.probeSide], tiles: grid.length });
      expect(seen.candidates).toHaveLength(2);
      const found = seen.candidates.find((c) => c.detectorScore === 0.8);
      expect(found).toBeDefined();
      const box = found!.headBox;
      expect(box.x <= 750 && box.x + box.width >= 750 && box.y <= 140 && box.y + box.height >= 140).toBe(true);
      // the tiles find that face (slightly lower score) and another one: both kept, the tile's copy of the probed face
      const tiled = await run({ whole: [big, hint], probeFinds: [probeFace], tileFinds: [face(741, 20, 0.7, 131), face(300, 20, 0.9, 500)] });
      expect(tiled.candidates.map((c) => c.detectorScore).sort()).toEqual([0.7, 0.9, 0.9]);
    });

    it('a detector with one input size probes a crop of that size, not an enlarged one', async () => {
      const one = await run({ whole: [big, face(700, 20, 0.2)], detectAt: false });
      expect(one).toMatchObject({ probeCrops: [640], tiles: 0 });
    });
  });

  it('fuses keypoints and detections; the seed locator ignores the detector', async () => {
    let detects = 0;
    const ports = {
      faceLandmarks: new DiskMesh(),
      keypoints: { detect: async () => [pose(0.9)] },
      faceDetector: { detect: async () => (detects++, [{ box: { x: 46, y: 32, width: 28, height: 28 }, score: 0.9, landmarks: [] }]) },
    };
    const fused = await locateHeads(ports, scene(), {}, DEFAULT_SETTINGS);
    expect(fused.candidates.length).toBeGreaterThan(0);
    expect(Object.keys(fused.timings)).toEqual(expect.arrayContaining(['keypoints', 'detector']));
    const seed = await locateHeads(ports, scene(), { params: {} }, { ...DEFAULT_SETTINGS, locator: 'seed' });
    expect(detects).toBe(1);
    expect(seed.candidates).toEqual(seedCandidates([pose(0.9)], seed.settings));
    expect(seed.candidates[0].source).toBe('keypoints');
  });

  it('a portrait (one large face from the detector, run first) skips the keypoint model; shown keypoints, clicks or a small face keep it', async () => {
    const calls: string[] = [];
    const big = { box: { x: 35, y: 25, width: 50, height: 50 }, score: 0.9, landmarks: [{ x: 50, y: 45 }, { x: 70, y: 45 }, { x: 60, y: 55 }] };
    const small = { ...big, box: { x: 45, y: 35, width: 40, height: 40 } };
    const portsWith = (found: typeof big) => ({
      faceLandmarks: new DiskMesh(),
      keypoints: { detect: async () => (calls.push('keypoints'), [pose(0.9)]) },
      faceDetector: { inputSide: 640, detect: async () => (calls.push('full'), [found]), detectAt: async () => (calls.push('coarse'), [found]) },
    });
    // upright (portrait.ts tries the detector first only on images no wider than tall)
    const upright = (): RgbImage => ({ width: H, height: W, data: new Uint8Array(W * H * 3) });
    const portrait = await locateHeads(portsWith(big), upright(), {}, DEFAULT_SETTINGS);
    expect(calls).toEqual(['coarse']);
    expect(portrait.poses).toEqual([]);
    expect(portrait.candidates.map((c) => c.source)).toEqual(['detector']);
    expect(Object.keys(portrait.timings)).not.toContain('keypoints');

    calls.length = 0;
    const shown = await locateHeads(portsWith(big), upright(), { headKeypoints: true }, DEFAULT_SETTINGS);
    // (this pose's head is small for the image: the full-size pass, as before)
    expect(calls).toEqual(['keypoints', 'full']);
    expect(shown.candidates.map((c) => c.source)).toEqual(['fused']);
    // the mask comes from the detector's ROI either way
    expect(shown.candidates[0].roi).toEqual(portrait.candidates[0].roi);

    calls.length = 0;
    await locateHeads(portsWith(big), upright(), { hints: [{ kind: 'point', point: { x: 60, y: 50 }, positive: true }] }, DEFAULT_SETTINGS);
    expect(calls[0]).toBe('keypoints');

    calls.length = 0;
    await locateHeads(portsWith(small), upright(), {}, DEFAULT_SETTINGS);
    // the coarse pass ran for nothing here: the person's small head asks for the full one
    expect(calls).toEqual(['coarse', 'keypoints', 'full']);

    calls.length = 0;
    await locateHeads(portsWith(big), scene(), {}, DEFAULT_SETTINGS);
    // landscape: the keypoint model first, as before
    expect(calls).toEqual(['keypoints', 'full']);
  });

  it('personHead: the mean of the visible head keypoints, else a point above the shoulders', () => {
    expect(personHead(pose(0.9), 0.3)).toEqual({ x: 58, y: 40 });
    const back = personHead(pose(0.1), 0.3)!;
    expect(back.y).toBeLessThan(40 + 35);
  });
});
