// Stage 1, per image: find the heads. Body keypoints and the face detector
// (on tiles too for big images with small faces) give head candidates; the
// labeler's clicks add their own (click-search.ts).
import { findClickCandidates, markClicked } from './click-search.js';
import type { EngineSettings } from './engine-settings.js';
import { boxCenter, seedHeadBox } from './geometry.js';
import { fuseCandidates, HEAD_NAMES, type HeadCandidate, type HeadParams } from './heads.js';
import { normaliseForModels } from './low-light.js';
import { resizeRgb } from './image-ops.js';
import type { EnginePorts, FaceDetection, FaceDetectorPort, PersonPose } from './ports.js';
import { detectBeforePoses, detectWhole, splitAt, type EarlyPasses } from './detector-size.js';
import { detectorFirst, isPortrait, PORTRAIT_RULE } from './portrait.js';
import { cropImage, DEFAULT_TILES, mergeDetections, needsTiles, probeBoxes, scaleDetection, shiftDetection, tilePlan, tileSized, type TileOptions } from './tiles.js';
import type { Box, InteractiveHint, RgbImage, SegmentOptions } from './types.js';

/** An image after head finding, before its faces are segmented. */
export interface LocatedImage {
  image: RgbImage;
  /** What the models see: `image`, or its tone-normalised copy when `image` is dark. */
  view: RgbImage;
  settings: EngineSettings;
  hints: InteractiveHint[];
  poses: PersonPose[];
  candidates: HeadCandidate[];
  /** Milliseconds per stage of this image. */
  timings: Record<string, number>;
  options: SegmentOptions;
}

export function headParams(settings: EngineSettings): HeadParams {
  return {
    keypointThreshold: settings.keypointThreshold,
    detectorThreshold: settings.detectorThreshold,
    roiScale: settings.roiScale,
    minRadius: settings.minRadius,
  };
}

/** Head candidates of one image, with its settings (the engine's, overridden by the request's parameters). */
export async function locateHeads(ports: EnginePorts, image: RgbImage, options: SegmentOptions, engineSettings: EngineSettings): Promise<LocatedImage> {
  const settings: EngineSettings = { ...engineSettings, ...(options.params ?? {}) };
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const modelView = settings.lowLight ? normaliseForModels(image) : undefined;
  const view = modelView?.image ?? image;
  if (view !== image) timings.normalise = performance.now() - t0;
  const detector = ports.faceDetector;
  let early: EarlyPasses | undefined;
  if (
    detector &&
    detectorFirst({
      width: view.width,
      height: view.height,
      fullSide: detector.inputSide ?? 0,
      variableSize: detector.detectAt !== undefined,
      hasKeypointModel: ports.keypoints !== undefined,
      locator: settings.locator,
      hints: options.hints?.length ?? 0,
      headKeypoints: options.headKeypoints === true,
    })
  ) {
    t0 = performance.now();
    early = await detectBeforePoses(detector, view, settings.detectorThreshold, PORTRAIT_RULE.weakShare * settings.detectorThreshold);
    timings.detector = performance.now() - t0;
  }
  // a portrait (portrait.ts): the keypoint model would add nothing to its mask
  const skipPoses = early !== undefined && isPortrait(view.width, view.height, early.answer, early.weak);
  t0 = performance.now();
  const poses = ports.keypoints && !skipPoses ? await ports.keypoints.detect(view) : [];
  if (ports.keypoints && !skipPoses) timings.keypoints = performance.now() - t0;
  const detections = await detectFaces(ports, view, poses, settings, timings, early, modelView?.unblurred ?? view);
  const params = headParams(settings);
  let candidates = settings.locator === 'seed' ? seedCandidates(poses, settings) : fuseCandidates(poses, detections, params);
  const hints = options.hints ?? [];
  if (hints.length > 0) candidates = markClicked(candidates, hints).concat(await findClickCandidates(ports.faceDetector, hints, candidates, view, params));
  return { image, view, settings, hints, poses, candidates, timings, options };
}

/** Face detections on the whole image, then on full-resolution tiles when its faces are too small for the detector's input. */
async function detectFaces(
  ports: EnginePorts,
  view: RgbImage,
  poses: PersonPose[],
  settings: EngineSettings,
  timings: Record<string, number>,
  early: EarlyPasses | undefined,
  /** What the full-resolution tiles see: the normalised copy before its blur (low-light.ts). */
  tileView: RgbImage,
): Promise<FaceDetection[]> {
  const detector = ports.faceDetector;
  if (!detector || settings.locator === 'seed') return [];
  let t0 = performance.now();
  // on an image large enough for tiles, the full pass's small faces, even those under the threshold, tell whether tiles should run
  const side = detector.inputSide;
  const tileable = settings.tiles && side !== undefined && tileSized(view.width, view.height, side);
  let detections: FaceDetection[];
  let weak: FaceDetection[] = [];
  if (tileable) {
    ({ strong: detections, weak } = splitAt(await detector.detect(view, Math.min(settings.detectorThreshold, weakestAsked(DEFAULT_TILES))), settings.detectorThreshold));
  } else {
    detections = await detectWhole(detector, view, poses, settings.detectorThreshold, settings.keypointThreshold, early, settings.mediumPass);
  }
  timings.detector = (timings.detector ?? 0) + performance.now() - t0;
  if (side === undefined || !tileable) return detections;
  const plan = tilePlan(view.width, view.height, side);
  const grid = plan.grid;
  let tiles = settings.alwaysTile || needsTiles(view.width, view.height, side, detections, DEFAULT_TILES, weak) ? grid : [];
  let probed: FaceDetection[] = [];
  // without detectAt a probe would be enlarged to the detector's input: a crop of that size sees as much at the same cost
  const probe = detector.detectAt ? DEFAULT_TILES : { ...DEFAULT_TILES, probeSide: side };
  const probes = tiles.length === 0 && probe.probes > 0 ? probeBoxes(view.width, view.height, side, detections, weak, probe) : [];
  if (probes.length > 0) {
    t0 = performance.now();
    // detectOn uses the side only where the detector can take it
    const found = await detectOn(detector, tileView, probes, settings.detectorThreshold, probe.probeSide);
    // a face the whole-image pass did not already have confirms the crowd
    if (mergeDetections(detections, found).length > detections.length) {
      tiles = grid;
      probed = found;
    }
    timings.probes = performance.now() - t0;
  }
  if (tiles.length > 0) {
    t0 = performance.now();
    // past maxTiles the grid covers a shrunk copy: its detections scale back to the image
    const tiled = plan.scale === 1 ? tileView : resizeRgb(tileView, plan.width, plan.height);
    const found = (await detectOn(detector, tiled, tiles, settings.detectorThreshold)).map((d) => scaleDetection(d, plan.scale));
    // the tiles see each face at the same resolution as a probe, and whole where a probe's edge may cut it: theirs first
    detections = mergeDetections(mergeDetections(detections, found), probed);
    timings.tiles = performance.now() - t0;
  }
  return detections;
}

/** The lowest score the tile decision reads: faint detections for the probes, weak ones for the crowd trigger. */
function weakestAsked(o: TileOptions): number {
  return Math.min(o.weakScore, o.probes > 0 ? o.probeScore : 1);
}

/**
 * Detections on full-resolution crops of `view`, in image coordinates. With
 * `side`, a detector that can take another input size sees each crop at that
 * side (not enlarged to its full input, which would cost a whole pass).
 */
async function detectOn(detector: FaceDetectorPort, view: RgbImage, crops: readonly Box[], threshold: number, side?: number): Promise<FaceDetection[]> {
  const out: FaceDetection[] = [];
  for (const crop of crops) {
    const img = cropImage(view, crop);
    const found = side !== undefined && detector.detectAt ? await detector.detectAt(img, threshold, side) : await detector.detect(img, threshold);
    for (const d of found) out.push(shiftDetection(d, crop.x, crop.y));
  }
  return out;
}

/** The original system: square box of radius k * max head-keypoint distance, no detector, no re-centring. */
export function seedCandidates(poses: readonly PersonPose[], settings: EngineSettings): HeadCandidate[] {
  const out: HeadCandidate[] = [];
  for (const pose of poses) {
    const head = pose.keypoints.slice(0, 5);
    const box = seedHeadBox(head, { k: settings.boxScale, minRadius: settings.minRadius, threshold: settings.keypointThreshold });
    if (!box) continue;
    const visible = head.map((kp, i) => ({ name: HEAD_NAMES[i], ...kp })).filter((kp) => kp.score >= settings.keypointThreshold);
    out.push({
      roi: { center: boxCenter(box), size: box.width, angle: 0 },
      headBox: box,
      source: 'keypoints',
      detectorScore: 0,
      poseScore: visible.reduce((a, kp) => a + kp.score, 0) / visible.length,
      keypoints: visible,
      earsOnly: false,
    });
  }
  return out;
}
