// The face engine: locate heads (keypoints + detector), segment each face
// crop (mesh region or a user face parser), paste masks back, score them.
import { createHash } from 'node:crypto';
import { boxCenter, clipBox, iou, seedHeadBox } from './geometry.js';
import { DEFAULT_COLOUR_REFINE, refineWithColour } from './colour-refine.js';
import { fallbackField, meshPoints, meshRegionField, probabilityField, type RegionMethod } from './face-region.js';
import { candidateFromDetection, fuseCandidates, HEAD_NAMES, type HeadCandidate, type HeadParams } from './heads.js';
import { cropResize } from './image-ops.js';
import type { EnginePorts, FaceDetection, MeshResult, PersonPose } from './ports.js';
import { faceScore, imageScore, regionStats, yawFromMesh, type FaceEvidence } from './scoring.js';
import { normaliseForModels } from './low-light.js';
import { beardZone, meshYawRatio } from './head-pose.js';
import { cropImage, DEFAULT_TILES, mergeDetections, needsTiles, shiftDetection, tileGrid } from './tiles.js';
import type {
  Box,
  EngineParams,
  Face,
  FaceEngine,
  InteractiveHint,
  NamedKeypoint,
  Point,
  RegionMask,
  RgbImage,
  SegmentOptions,
  SegmentResult,
} from './types.js';
import { cropToImage, pasteDistanceField, warpCrop, type Roi } from './warp.js';
import { captureSample } from './face-sample.js';

export interface EngineSettings extends EngineParams {
  roiScale: number;
  regionMethod: RegionMethod;
  /** Landmark passes: the second re-centres the crop on the first landmarks. */
  passes: number;
  /** Below this mesh face score a crop is not a face (back of head, clutter). */
  minFaceScore: number;
  /** 'fused' = keypoints + detector + body scale; 'seed' = the original system's rule, for comparison. */
  locator: 'fused' | 'seed';
  /** Refine the landmark region with a per-face skin colour model. */
  colourRefine: boolean;
  /** Colour refinement band half-width, share of the face size. */
  colourBand: number;
  /** Skin likelihood above which a pixel outside the landmark region is added. */
  colourAdd: number;
  /** Luma tolerance below the skin median (robust SDs) for colour refinement. */
  colourDarkLuma: number;
  /** Texture tolerance above the skin's local contrast (robust SDs) for colour refinement; 0 = colour only. */
  colourTexture: number;
  /** ROI scales tried, upright, when the mesh rejects a crop. */
  retryScales: number[];
  /** |meshYawRatio| from which a head counts as turned (1.15: most heads at 60 degrees and beyond, few at 45). */
  turnedYaw: number;
  /** Colour refinement on turned heads: skin likelihood to add a band pixel, and below which one inside is removed. */
  turnedColourAdd: number;
  turnedColourRemove: number;
  /**
   * What counts as face below the nose, inside the jaw line from the mesh:
   * 'include' keeps beard and stubble in the mask (anonymisation must cover
   * them), 'exclude' lets the skin colour model take them out.
   */
  beard: 'include' | 'exclude';
  /** Dark or flat images: the models see a tone-normalised copy (masks stay on the original grid). */
  lowLight: boolean;
  /** Large images where the whole-image pass finds no or only tiny faces: detect again on full-resolution tiles. */
  tiles: boolean;
}

export const DEFAULT_SETTINGS: EngineSettings = {
  boxScale: 3,
  minRadius: 20,
  keypointThreshold: 0.3,
  detectorThreshold: 0.3,
  maskThreshold: 0.5,
  dilate: 0,
  roiScale: 1.5,
  regionMethod: 'hull',
  passes: 2,
  minFaceScore: 0.5,
  locator: 'fused',
  colourRefine: true,
  colourBand: 0.25,
  colourAdd: 0.2,
  retryScales: [0.7, 1.2],
  colourDarkLuma: 1.5,
  colourTexture: 0,
  beard: 'include',
  turnedYaw: 1.15,
  turnedColourAdd: 0.05,
  turnedColourRemove: 0.06,
  lowLight: true,
  tiles: true,
};

/** Clicks (points or boxes) of one request that get their own head search; later ones only select among those faces. */
export const MAX_SEARCHED_CLICKS = 8;

/** MediaPipe canonical mesh indices used for re-centring and keypoints. */
const MESH = { rightEyeOuter: 33, rightEyeInner: 133, leftEyeOuter: 263, leftEyeInner: 362, noseTip: 1, rightCheek: 234, leftCheek: 454, chin: 152 };

interface Segmented {
  roi: Roi;
  mesh: MeshResult | null;
  field: Float32Array;
  fieldSize: number;
  fallback: boolean;
}

/**
 * Bump whenever a change to the engine's code changes its masks or scores: it
 * is part of model_version, so Label Studio re-predicts, bulk runs do not
 * resume on stale predictions, and projects refit what they learned.
 */
export const ENGINE_CODE_VERSION = 5;

function hashSettings(s: EngineSettings): string {
  return createHash('sha256').update(JSON.stringify({ code: ENGINE_CODE_VERSION, ...s })).digest('hex').slice(0, 8);
}

export class FaceSegEngine implements FaceEngine {
  readonly modelVersion: string;
  readonly executionProvider: string;
  private readonly settings: EngineSettings;
  /** role -> model id, for logs and metrics. */
  readonly models: Record<string, string>;

  constructor(
    private readonly ports: EnginePorts,
    opts: { fingerprint: string; provider: string; settings?: Partial<EngineSettings>; onClose?: () => Promise<void>; models?: Record<string, string> },
  ) {
    this.models = opts.models ?? {};
    this.settings = { ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) };
    this.executionProvider = opts.provider;
    this.modelVersion = FaceSegEngine.versionFor(opts.fingerprint, this.settings);
    this.onClose = opts.onClose;
  }

  private readonly onClose?: () => Promise<void>;

  static versionFor(fingerprint: string, settings: EngineSettings): string {
    return `faceseg-${fingerprint.slice(0, 8)}-${hashSettings(settings)}`;
  }

  /** The version a project gets with its own calibrated parameters. */
  versionWith(params: Partial<EngineParams> | undefined): string {
    if (!params || Object.keys(params).length === 0) return this.modelVersion;
    return `${this.modelVersion}-p${hashSettings({ ...this.settings, ...params })}`;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }

  async segment(img: RgbImage, options: SegmentOptions = {}): Promise<SegmentResult> {
    const [res] = await this.segmentBatch([{ image: img, options }]);
    return res;
  }

  /**
   * Several images at once (e.g. the tasks of one request): heads are found
   * image by image, then the face crops of all images go through the face
   * models together, so the segmenter runs once per pass for the whole batch.
   */
  async segmentBatch(items: readonly { image: RgbImage; options?: SegmentOptions }[]): Promise<SegmentResult[]> {
    const located = [];
    for (const item of items) located.push(await this.locate(item.image, item.options ?? {}));
    const jobs: CropJob[] = located.flatMap((l) => l.cands.map((cand) => ({ img: l.view, cand, s: l.s })));
    const t0 = performance.now();
    const segs = await this.segmentJobs(jobs);
    const segMs = performance.now() - t0;
    const out: SegmentResult[] = [];
    let k = 0;
    for (const l of located) {
      const mine = segs.slice(k, k + l.cands.length);
      k += l.cands.length;
      // the shared batch's time, split by each image's share of the crops
      l.timings.segmenter = jobs.length ? (segMs * l.cands.length) / jobs.length : 0;
      out.push(await this.finish(l, mine));
    }
    return out;
  }

  private async locate(img: RgbImage, options: SegmentOptions): Promise<Located> {
    const s: EngineSettings = { ...this.settings, ...(options.params ?? {}) };
    const timings: Record<string, number> = {};
    const hp: HeadParams = {
      keypointThreshold: s.keypointThreshold,
      detectorThreshold: s.detectorThreshold,
      roiScale: s.roiScale,
      minRadius: s.minRadius,
    };
    let t0 = performance.now();
    const view = s.lowLight ? normaliseForModels(img).image : img;
    if (view !== img) timings.normalise = performance.now() - t0;
    t0 = performance.now();
    const poses = this.ports.keypoints ? await this.ports.keypoints.detect(view) : [];
    if (this.ports.keypoints) timings.keypoints = performance.now() - t0;
    t0 = performance.now();
    const det = this.ports.faceDetector;
    let dets = det && s.locator !== 'seed' ? await det.detect(view, s.detectorThreshold) : [];
    if (det && s.locator !== 'seed') timings.detector = performance.now() - t0;
    if (det?.inputSide && s.locator !== 'seed' && s.tiles && needsTiles(view.width, view.height, det.inputSide, dets)) {
      t0 = performance.now();
      const extra: typeof dets = [];
      for (const t of tileGrid(view.width, view.height, det.inputSide, DEFAULT_TILES.overlap)) {
        for (const d of await det.detect(cropImage(view, t), s.detectorThreshold)) extra.push(shiftDetection(d, t.x, t.y));
      }
      dets = mergeDetections(dets, extra);
      timings.tiles = performance.now() - t0;
    }
    let cands = s.locator === 'seed' ? seedCandidates(poses, s) : fuseCandidates(poses, dets, hp);
    const hints = options.hints ?? [];
    if (hints.length > 0) cands = cands.concat(await this.clickCandidates(hints, cands, view, hp, s));
    return { img, view, s, hints, poses, cands, timings, options };
  }

  private async finish(l: Located, segs: Segmented[]): Promise<SegmentResult> {
    const { img, view, s, cands, hints, poses, timings, options } = l;
    const t0 = performance.now();
    let faces: Face[] = [];
    const evidence = new Map<Face, FaceEvidence>();
    const rejected: HeadCandidate[] = [];
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i];
      const seg = segs[i];
      const meshScore = seg.mesh ? seg.mesh.faceScore : 0;
      // a click where the mesh sees no face gets nothing (not a blob on a coat)
      if (seg.fallback && (c.source === 'click' || !(c.detectorScore >= Math.max(0.7, s.detectorThreshold)))) {
        if (c.source !== 'click') rejected.push(c);
        continue;
      }
      await yieldToEventLoop();
      const faceSize = seg.roi.size / s.roiScale;
      let mask = pasteDistanceField(seg.field, seg.fieldSize, seg.roi, img.width, img.height, (s.dilate * faceSize) / 100);
      // the sample holds the engine's own mask (no dilate), the same whatever the project's settings
      const sample =
        options.refiner || options.captureSamples
          ? captureSample({ image: view, roi: seg.roi, field: seg.field, fieldSize: seg.fieldSize, grow: 0, faceSize, mesh: seg.mesh })
          : undefined;
      const refined = sample && options.refiner?.refine(sample);
      if (refined) mask = pasteDistanceField(refined.field, refined.size, refined.roi, img.width, img.height, 0);
      if (mask.width === 0) continue;
      const box = maskBox(mask);
      // how well the models could see this face: the copy they were given (tone-normalised when the photo is dark)
      const local = regionStats(view, box);
      const ev: FaceEvidence = {
        meshScore: seg.fallback ? 0.3 : meshScore,
        faceSize: Math.min(box.width, box.height),
        luminance: local.luminance,
        contrast: local.contrast,
        source: c.source,
        detectorScore: c.detectorScore,
        poseScore: c.poseScore,
        imageEdge: touchesEdge(box, img.width, img.height),
        yaw: seg.fallback ? undefined : meshYaw(seg.mesh),
      };
      const face: Face = {
        box,
        mask,
        source: c.source,
        keypoints: c.keypoints.length > 0 ? c.keypoints : seg.mesh ? meshKeypoints(seg) : [],
        score: faceScore(ev),
        faceSize,
        ...(options.captureSamples && sample ? { sample } : {}),
      };
      evidence.set(face, ev);
      faces.push(face);
    }
    timings.paste = performance.now() - t0;
    faces = dedupe(faces);
    const auto = faces.filter((f) => f.source !== 'click');
    if (hints.length > 0) faces = selectByHints(faces, hints);
    faces.sort((a, b) => a.box.x - b.box.x || a.box.y - b.box.y);
    const near = (p: Point): boolean => auto.some((f) => contains(expand(f.box, 0.5), p));
    const doubts = rejected.filter((c) => !near(boxCenter(c.headBox))).map((c) => Math.max(c.detectorScore, c.poseScore, c.earsOnly ? 0.6 : 0));
    const unexplainedPeople = poses.filter((p) => {
      const head = personHead(p, s.keypointThreshold);
      return head !== undefined && !near(head);
    }).length;
    // faces found: how well the models saw the photo (their copy); none found: how dark the photo itself is
    // ("found nothing, but there may be people")
    const stats = regionStats(faces.length ? view : img, { x: 0, y: 0, width: img.width, height: img.height });
    const image = { unexplainedPeople, rejected: doubts, stats };
    return {
      width: img.width,
      height: img.height,
      faces,
      score: imageScore({ faceScores: faces.map((f) => f.score), ...image }),
      timings,
      scoreEvidence: { faces: faces.map((f) => ({ ...evidence.get(f), score: f.score })), image: { unexplainedPeople, rejected: doubts, luminance: stats.luminance, contrast: stats.contrast } },
    };
  }

  /**
   * Interactive mode: a positive click that no found head covers is searched
   * for with the face detector on windows around it (small faces become
   * detectable once the window is scaled up), plus mesh crops of a few sizes
   * centred on it; the face mesh then keeps only crops that hold a face.
   */
  private async clickCandidates(hints: InteractiveHint[], found: HeadCandidate[], img: RgbImage, hp: HeadParams, s: EngineSettings): Promise<HeadCandidate[]> {
    const out: HeadCandidate[] = [];
    const sizes = found.map((c) => c.roi.size).sort((a, b) => a - b);
    const short = Math.min(img.width, img.height);
    const typical = sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0.3 * short;
    // a labeler clicks a few times; a context with thousands of points must not cost thousands of searches
    for (const h of hints.slice(0, MAX_SEARCHED_CLICKS)) {
      if (h.kind === 'box') {
        const c = boxCenter(h.box);
        out.push(clickCandidate(c, Math.max(h.box.width, h.box.height) * 1.15));
        continue;
      }
      if (!h.positive || found.some((c) => contains(c.headBox, h.point))) continue;
      if (this.ports.faceDetector) {
        const hit = await this.detectAround(h.point, img, [0.15, 0.3, 0.6].map((f) => f * short).concat([4 * typical]), s.detectorThreshold * 0.5);
        if (hit) out.push({ ...candidateFromDetection(hit, hp), source: 'click' });
      }
      for (const f of [1, 0.6, 1.6]) out.push(clickCandidate(h.point, Math.max(2 * hp.minRadius, typical * f)));
    }
    return out;
  }

  /** The best detection covering `p` in square windows of the given sides around it, in image pixels. */
  private async detectAround(p: Point, img: RgbImage, sides: number[], threshold: number): Promise<FaceDetection | undefined> {
    const detector = this.ports.faceDetector!;
    let best: FaceDetection | undefined;
    const seen = new Set<string>();
    for (const side of sides) {
      const win = clipBox({ x: p.x - side / 2, y: p.y - side / 2, width: side, height: side }, img.width, img.height);
      if (win.width < 8 || win.height < 8) continue;
      const key = [win.x, win.y, win.width, win.height].map(Math.round).join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      // up to 320 px on the long side: what the detector sees of a small face grows
      const k = 320 / Math.max(win.width, win.height);
      const w = Math.max(8, Math.round(win.width * k));
      const h = Math.max(8, Math.round(win.height * k));
      const dets = await detector.detect(cropResize(img, win, w, h), threshold);
      const sx = win.width / w;
      const sy = win.height / h;
      for (const d of dets) {
        const box = { x: win.x + d.box.x * sx, y: win.y + d.box.y * sy, width: d.box.width * sx, height: d.box.height * sy };
        if (!contains(expand(box, 0.3), p)) continue;
        if (!best || d.score > best.score) best = { box, score: d.score, landmarks: d.landmarks.map((q) => ({ x: win.x + q.x * sx, y: win.y + q.y * sy })) };
      }
    }
    return best;
  }

  private async segmentJobs(jobs: CropJob[]): Promise<Segmented[]> {
    const lm = this.ports.faceLandmarks;
    const n = lm.inputSize;
    const rois = jobs.map((j) => j.cand.roi);
    const crops = jobs.map((j) => warpCrop(j.img, j.cand.roi, n));
    const meshes: MeshResult[] = jobs.length ? await lm.run(crops) : [];
    const maxPasses = Math.max(0, ...jobs.map((j) => j.s.passes));
    for (let pass = 1; pass < maxPasses; pass++) {
      const refined = rois.map((r, i) => (meshes[i].faceScore >= 0.2 ? roiFromMesh(r, n, meshes[i], jobs[i].s.roiScale) : r));
      // a crop that already sits on its landmarks gains nothing from another pass
      const todo = refined.map((_, i) => i).filter((i) => pass < jobs[i].s.passes && !sameRoi(rois[i], refined[i]));
      if (todo.length === 0) break;
      const refinedCrops = todo.map((i) => warpCrop(jobs[i].img, refined[i], n));
      const again = await lm.run(refinedCrops);
      todo.forEach((i, j) => {
        // keep the refined pass only where it did not lose the face
        if (again[j].faceScore >= meshes[i].faceScore * 0.9) {
          meshes[i] = again[j];
          rois[i] = refined[i];
          crops[i] = refinedCrops[j];
        }
      });
    }
    // Crops the mesh rejected get a second chance at other scales, upright: a
    // profile's detector box is too tall and its eye line gives no roll.
    const failed = rois.map((_, i) => i).filter((i) => meshes[i].faceScore < jobs[i].s.minFaceScore && jobs[i].s.retryScales.length > 0);
    if (failed.length > 0) {
      const alts = failed.flatMap((i) => {
        const scales = jobs[i].s.retryScales;
        const a = scales.map((k) => ({ i, roi: { center: rois[i].center, size: rois[i].size * k, angle: 0 } }));
        const anchor = jobs[i].cand.anchor;
        if (anchor) a.push({ i, roi: { center: anchor, size: rois[i].size * scales[0], angle: 0 } });
        return a;
      });
      const altCrops = alts.map((a) => warpCrop(jobs[a.i].img, a.roi, n));
      const altMeshes = await lm.run(altCrops);
      alts.forEach((a, j) => {
        if (altMeshes[j].faceScore > meshes[a.i].faceScore) {
          meshes[a.i] = altMeshes[j];
          rois[a.i] = a.roi;
          crops[a.i] = altCrops[j];
        }
      });
      // re-centre the rescued ones once
      const rescued = failed.filter((i) => meshes[i].faceScore >= 0.2);
      if (rescued.length > 0) {
        const again = rescued.map((i) => roiFromMesh(rois[i], n, meshes[i], jobs[i].s.roiScale));
        const againCrops = again.map((r, j) => warpCrop(jobs[rescued[j]].img, r, n));
        const againMeshes = await lm.run(againCrops);
        rescued.forEach((i, j) => {
          if (againMeshes[j].faceScore >= meshes[i].faceScore * 0.9) {
            meshes[i] = againMeshes[j];
            rois[i] = again[j];
            crops[i] = againCrops[j];
          }
        });
      }
    }
    const seg = this.ports.faceSegmenter;
    let probs: Float32Array[] | null = null;
    let probSize = 0;
    if (seg && rois.length) {
      const maps = await seg.run(rois.map((r, i) => warpCrop(jobs[i].img, r, seg.inputSize)));
      probs = maps.map((m) => m.data);
      probSize = maps[0]?.width ?? 0;
    }
    const out: Segmented[] = [];
    for (let i = 0; i < rois.length; i++) {
      const { s } = jobs[i];
      const roi = rois[i];
      const mesh = meshes[i];
      const ok = mesh.faceScore >= s.minFaceScore;
      // per-face JavaScript work: let /health and other requests in between faces
      await yieldToEventLoop();
      if (probs && probSize > 0) {
        out.push({ roi, mesh, field: probabilityField(probs[i], probSize, probSize, s.maskThreshold), fieldSize: probSize, fallback: !ok });
      } else if (ok) {
        let field = meshRegionField(meshPoints(mesh.points, mesh.count), n, s.regionMethod);
        if (s.colourRefine && mesh.count > MESH.chin) {
          // turned heads: hair behind the cheek passes the loose frontal rule, so remove more, and add the ear more readily
          const turned = Math.abs(meshYawRatio(mesh.points, mesh.count)) >= s.turnedYaw;
          const keep = s.beard === 'include' ? beardZone(mesh.points, mesh.count, n) : undefined;
          const base = { ...DEFAULT_COLOUR_REFINE, band: s.colourBand, addAbove: s.colourAdd, darkLuma: s.colourDarkLuma, texture: s.colourTexture, keep };
          const chinY = mesh.points[MESH.chin * 3 + 1];
          let refined = turned ? refineWithColour(crops[i], field, chinY, { ...base, addAbove: s.turnedColourAdd, removeBelow: s.turnedColourRemove }) : field;
          // the looser adding rule can leak into a skin-coloured background (refinement then returns the landmark field): fall back to the frontal rule
          if (refined === field) refined = refineWithColour(crops[i], field, chinY, base);
          field = refined;
        }
        out.push({ roi, mesh, field, fieldSize: n, fallback: false });
      } else {
        out.push({ roi, mesh, field: fallbackField(n, s.roiScale), fieldSize: n, fallback: true });
      }
    }
    return out;
  }
}

/** One face crop to segment: its image, candidate and that image's settings. */
interface CropJob {
  img: RgbImage;
  cand: HeadCandidate;
  s: EngineSettings;
}

/** An image after head finding, before segmentation. */
interface Located {
  img: RgbImage;
  /** What the models see: `img`, or its normalised copy when `img` is dark. */
  view: RgbImage;
  s: EngineSettings;
  hints: InteractiveHint[];
  poses: PersonPose[];
  cands: HeadCandidate[];
  timings: Record<string, number>;
  options: SegmentOptions;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The original system: square box of radius k * max head-keypoint distance, no detector, no re-centring. */
function seedCandidates(poses: readonly PersonPose[], s: EngineSettings): HeadCandidate[] {
  const out: HeadCandidate[] = [];
  for (const p of poses) {
    const head = p.keypoints.slice(0, 5);
    const box = seedHeadBox(head, { k: s.boxScale, minRadius: s.minRadius, threshold: s.keypointThreshold });
    if (!box) continue;
    const visible = head.map((k, i) => ({ name: HEAD_NAMES[i], ...k })).filter((k) => k.score >= s.keypointThreshold);
    out.push({
      roi: { center: boxCenter(box), size: box.width, angle: 0 },
      headBox: box,
      source: 'keypoints',
      detectorScore: 0,
      poseScore: visible.reduce((a, k) => a + k.score, 0) / visible.length,
      keypoints: visible,
      earsOnly: false,
    });
  }
  return out;
}

/** Within 5 % in place, 6 % in size and 3.5 degrees of roll: another mesh pass changes nothing measurable (looser limits lost a 60-degree profile on FASSEG). */
export function sameRoi(a: Roi, b: Roi): boolean {
  return (
    Math.hypot(a.center.x - b.center.x, a.center.y - b.center.y) < 0.05 * a.size &&
    Math.abs(a.size / b.size - 1) < 0.06 &&
    Math.abs(a.angle - b.angle) < 0.06
  );
}

function clickCandidate(center: Point, size: number): HeadCandidate {
  return {
    roi: { center, size, angle: 0 },
    headBox: { x: center.x - size / 2, y: center.y - size / 2, width: size, height: size },
    source: 'click',
    detectorScore: 0,
    poseScore: 0,
    keypoints: [],
    earsOnly: false,
  };
}

/** Re-centre the crop on the landmarks: bounding box of the mesh, eye-line roll. */
export function roiFromMesh(roi: Roi, n: number, mesh: MeshResult, roiScale: number): Roi {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const p = mesh.points;
  for (let i = 0; i < mesh.count; i++) {
    const q = cropToImage(roi, n, p[i * 3], p[i * 3 + 1]);
    minX = Math.min(minX, q.x);
    maxX = Math.max(maxX, q.x);
    minY = Math.min(minY, q.y);
    maxY = Math.max(maxY, q.y);
  }
  let angle = roi.angle;
  if (mesh.count > MESH.leftEyeOuter) {
    const r = cropToImage(roi, n, p[MESH.rightEyeOuter * 3], p[MESH.rightEyeOuter * 3 + 1]);
    const l = cropToImage(roi, n, p[MESH.leftEyeOuter * 3], p[MESH.leftEyeOuter * 3 + 1]);
    angle = Math.atan2(l.y - r.y, l.x - r.x);
  }
  // the axis-aligned extent of a rolled face overstates its size
  const ext = Math.max(maxX - minX, maxY - minY) / (Math.abs(Math.cos(angle - roi.angle)) + Math.abs(Math.sin(angle - roi.angle)) * 0.5);
  return { center: { x: (minX + maxX) / 2, y: (minY + maxY) / 2 }, size: Math.max(8, ext * roiScale), angle };
}

/** 0 frontal .. 1 profile: the cheek-to-cheek line's angle out of the image plane. */
function meshYaw(m: MeshResult | null): number | undefined {
  if (!m || m.count <= MESH.leftCheek) return undefined;
  const r = MESH.rightCheek * 3;
  const l = MESH.leftCheek * 3;
  return yawFromMesh(m.points[l] - m.points[r], m.points[l + 2] - m.points[r + 2]);
}

/**
 * Where a person's head is: a visible head keypoint, else (a back view) a
 * point above the shoulders. Undefined for poses too weak to count as a person.
 */
export function personHead(p: PersonPose, threshold: number): Point | undefined {
  const head = p.keypoints.slice(0, 5).filter((k) => k.score >= Math.max(0.5, threshold));
  if (head.length > 0) return { x: head.reduce((a, k) => a + k.x, 0) / head.length, y: head.reduce((a, k) => a + k.y, 0) / head.length };
  const [ls, rs] = [p.keypoints[5], p.keypoints[6]];
  if (p.score >= 0.35 && ls && rs && ls.score >= 0.5 && rs.score >= 0.5) {
    const w = Math.hypot(ls.x - rs.x, ls.y - rs.y);
    return { x: (ls.x + rs.x) / 2, y: (ls.y + rs.y) / 2 - 0.6 * w };
  }
  return undefined;
}

function meshKeypoints(seg: Segmented): NamedKeypoint[] {
  const m = seg.mesh;
  if (!m || m.count <= MESH.leftCheek) return [];
  const at = (i: number): Point => cropToImage(seg.roi, seg.fieldSize, m.points[i * 3], m.points[i * 3 + 1]);
  const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
  const sc = m.faceScore;
  // the face mesh has no ear points (234/454 lie on the cheek contour): ears come from the keypoint model only
  return [
    { name: 'nose', ...at(MESH.noseTip), score: sc },
    { name: 'left_eye', ...mid(at(MESH.leftEyeOuter), at(MESH.leftEyeInner)), score: sc },
    { name: 'right_eye', ...mid(at(MESH.rightEyeOuter), at(MESH.rightEyeInner)), score: sc },
  ];
}

export function maskBox(m: RegionMask, threshold = 128): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x] >= threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return { x: m.x, y: m.y, width: 0, height: 0 };
  return { x: m.x + minX, y: m.y + minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

function contains(b: Box, p: Point): boolean {
  return p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height;
}

function expand(b: Box, f: number): Box {
  return { x: b.x - (b.width * f) / 2, y: b.y - (b.height * f) / 2, width: b.width * (1 + f), height: b.height * (1 + f) };
}

function touchesEdge(b: Box, w: number, h: number): boolean {
  return b.x <= 1 || b.y <= 1 || b.x + b.width >= w - 1 || b.y + b.height >= h - 1;
}

/** Two candidates that converged on one face keep the better-scored mask. */
export function dedupe(faces: Face[]): Face[] {
  const order = [...faces].sort((a, b) => b.score - a.score);
  const kept: Face[] = [];
  for (const f of order) {
    const twin = kept.find((k) => iou(k.box, f.box) > 0.4);
    if (!twin) kept.push(f);
    else if (twin.keypoints.length === 0 && f.keypoints.length > 0) twin.keypoints = f.keypoints;
  }
  return kept;
}

function maskHas(m: RegionMask, p: Point): boolean {
  const x = Math.floor(p.x) - m.x;
  const y = Math.floor(p.y) - m.y;
  return x >= 0 && y >= 0 && x < m.width && y < m.height && m.data[y * m.width + x] >= 128;
}

/** The face a click points at: the one whose mask holds it, else the nearest whose box (grown by half) holds it. */
function faceAt(faces: readonly Face[], p: Point): Face | undefined {
  const inMask = faces.filter((f) => maskHas(f.mask, p)).sort((a, b) => b.score - a.score)[0];
  if (inMask) return inMask;
  return faces
    .filter((f) => contains(expand(f.box, 0.5), p))
    .sort((a, b) => Math.hypot(boxCenter(a.box).x - p.x, boxCenter(a.box).y - p.y) - Math.hypot(boxCenter(b.box).x - p.x, boxCenter(b.box).y - p.y))[0];
}

/**
 * Interactive mode. Only positive clicks (or boxes): the faces they point at,
 * nothing where there is no face. Any negative click: the whole prediction
 * (plus faces found at positive clicks) less the faces clicked negative.
 */
export function selectByHints(faces: Face[], hints: InteractiveHint[]): Face[] {
  const pos = hints.filter((h) => h.kind === 'box' || h.positive);
  const neg = hints.filter((h): h is Extract<InteractiveHint, { kind: 'point' }> => h.kind === 'point' && !h.positive);
  const picked = new Set<Face>();
  for (const h of pos) {
    const hit =
      h.kind === 'box'
        ? faces.filter((f) => contains(h.box, boxCenter(f.box)) || iou(h.box, f.box) > 0.2).sort((a, b) => b.score - a.score)[0]
        : faceAt(faces, h.point);
    if (hit) picked.add(hit);
  }
  if (neg.length === 0) return faces.filter((f) => picked.has(f));
  const removed = new Set(neg.map((h) => faceAt(faces, h.point)).filter((f): f is Face => f !== undefined));
  // the rest of the current prediction: every automatic face, and the clicked ones
  return faces.filter((f) => !removed.has(f) && (f.source !== 'click' || picked.has(f)));
}
