// The face detector's input size per image. CenterFace scores a face best
// when it is about 150-300 px at its input and worst at 320-440 px; a ~400x512
// portrait letterboxed to 640 puts its face at ~480 px and costs 3-4x the
// inference of a 256 input. So when the body keypoints show no small head,
// the detector runs first at a coarse size; that answer stands when it found
// faces and every one is large at that scale (a small one hints at smaller
// ones the full-size pass would see) and frontal. Otherwise the usual
// full-size pass runs. Why frontal: the detector's box moves with its input
// size, which leaves the mask of a frontal face alone (tune split, |yaw| <=
// 30: IoU within 0.025 per image) but moves a turned head's by up to 0.2
// either way. Running every image at its native size instead lost faces in
// the dark and at yaw 90 (those faces land in the 320-440 px band).
import { boxContains, COCO, headWidthEstimate } from './geometry.js';
import type { FaceDetection, FaceDetectorPort, PersonPose } from './ports.js';
import type { RgbImage } from './types.js';

export interface CoarseRule {
  /**
   * Longest side of the coarse pass's input. 256 rather than 320: a 425x512
   * portrait's pass costs ~14 instead of ~19 CPU ms (one thread), and its
   * face (0.35-0.72 of the longest side) lands at 90-185 px, further from
   * the detector's bad 320-440 px band. Tune split, 320 -> 256: IoU within
   * 0.002 on every set and yaw row (per image within 0.013, only faces the
   * coarse answer stands for), faces found and false faces unchanged; 224
   * moved yaw 15 by -0.003 and a face by -0.033, so not that far. minFace
   * stays 64 input px: 25 % of the longest side now (20 % at 320), so a
   * coarse answer needs a slightly larger face to stand.
   */
  side: number;
  /**
   * Only images up to this longest side (portraits, thumbnails). The coarse
   * pass loses faces of 1.5-3 % of the longest side that MoveNet did not see
   * as people: 8-15 px in a 512 portrait, but 30-60 px in a 1920 photo, where
   * small background faces are what the full pass and its tiles are for.
   */
  maxImageSide: number;
  /** Its answer stands only when every face's shorter box side is at least this many input pixels. */
  minFace: number;
  /** A person allows the coarse pass when its head width is at least this share of the image's longest side... */
  minHead: number;
  /** ...or, without a head width, its box's longest side is at least this share. */
  minBody: number;
  /** Frontal: eye landmarks at least this share of the box width apart... */
  minEyeGap: number;
  /** ...and the nose within this distance (in eye gaps, along the eye line) of the eyes' midpoint. */
  maxNoseOffset: number;
}

export const COARSE_RULE: CoarseRule = { side: 256, maxImageSide: 1024, minFace: 64, minHead: 0.2, minBody: 0.5, minEyeGap: 0.35, maxNoseOffset: 0.25 };

/** The size half of coarseAllowed: an image no larger than maxImageSide, a detector input larger than the coarse one. */
export function coarseSized(w: number, h: number, fullSide: number, rule: CoarseRule = COARSE_RULE): boolean {
  return fullSide > rule.side && Math.max(w, h) <= rule.maxImageSide;
}

/** Whether the coarse pass may answer for this image: not a large image, a detector input larger than the coarse one, and no person with a small (or unknown-size) head. */
export function coarseAllowed(w: number, h: number, fullSide: number, poses: readonly PersonPose[], keypointThreshold: number, rule: CoarseRule = COARSE_RULE): boolean {
  const longest = Math.max(w, h);
  if (!coarseSized(w, h, fullSide, rule)) return false;
  return poses.every((p) => {
    const head = headWidthEstimate(p.keypoints, keypointThreshold);
    if (head !== null) return head >= rule.minHead * longest;
    return Math.max(p.box.width, p.box.height) >= rule.minBody * longest;
  });
}

/** A frontal face by its detector landmarks (right eye, left eye, nose first): eyes well apart, the nose between them. */
export function frontal(d: FaceDetection, rule: CoarseRule = COARSE_RULE): boolean {
  if (d.landmarks.length < 3) return false;
  const [re, le, nose] = d.landmarks;
  const ex = le.x - re.x;
  const ey = le.y - re.y;
  const gap2 = ex * ex + ey * ey;
  if (!(Math.sqrt(gap2) >= rule.minEyeGap * d.box.width)) return false;
  // the nose's position along the eye line: 0 at the right eye, 1 at the left
  const t = ((nose.x - re.x) * ex + (nose.y - re.y) * ey) / gap2;
  return Math.abs(t - 0.5) <= rule.maxNoseOffset;
}

/** Whether the coarse pass's detections stand: at least one, and all frontal and large at the coarse input's scale. */
export function coarseAccepted(w: number, h: number, dets: readonly FaceDetection[], rule: CoarseRule = COARSE_RULE): boolean {
  const scale = rule.side / Math.max(w, h);
  return dets.length > 0 && dets.every((d) => Math.min(d.box.width, d.box.height) * scale >= rule.minFace && frontal(d, rule));
}

/**
 * The whole-image passes of a coarse-sized image run before the keypoint
 * model (stage-locate: a portrait may then skip it): the coarse pass, and the
 * full one when the coarse answer does not stand (whatever the poses, the
 * image then needs it). `answer` is what detectWhole gives with no person.
 */
export interface EarlyPasses {
  coarse: FaceDetection[];
  /** Undefined when the coarse answer stands (the full pass runs later only if a person with a small head turns up). */
  full?: FaceDetection[];
  answer: FaceDetection[];
  /** Detections of the answering pass scoring above `weakThreshold` but not above `threshold`: faces the detector half sees. */
  weak: FaceDetection[];
}

/**
 * A pass run at a lower score, cut at `threshold` (strictly above, as the
 * detector cuts): the same faces as a pass at `threshold` (NMS keeps the
 * higher score, so a weaker box never removes a stronger one), and the weak ones.
 */
export function splitAt(dets: readonly FaceDetection[], threshold: number): { strong: FaceDetection[]; weak: FaceDetection[] } {
  return { strong: dets.filter((d) => d.score > threshold), weak: dets.filter((d) => !(d.score > threshold)) };
}

/**
 * The passes run at `weakThreshold` (when lower) and are then cut at
 * `threshold`: the same detections as a pass at `threshold` (NMS keeps the
 * higher score, so a weaker box never removes a stronger one), plus the weak ones.
 */
export async function detectBeforePoses(detector: FaceDetectorPort, view: RgbImage, threshold: number, weakThreshold = threshold): Promise<EarlyPasses> {
  const low = Math.min(threshold, weakThreshold);
  // a fixed-size detector has no coarse pass: its one pass is the answer
  const coarse = splitAt(detector.detectAt ? await detector.detectAt(view, low, COARSE_RULE.side) : [], threshold);
  if (coarseAccepted(view.width, view.height, coarse.strong)) return { coarse: coarse.strong, answer: coarse.strong, weak: coarse.weak };
  const full = splitAt(await detector.detect(view, low), threshold);
  return { coarse: coarse.strong, full: full.strong, answer: full.strong, weak: full.weak };
}

/**
 * Images past the coarse rule's maxImageSide whose people all show big
 * heads: the full pass puts their faces at 60-110 input pixels or more,
 * where a smaller input finds the same faces for half the detector's CPU
 * (1280x720: ~32 ms at 640, ~14 at 448). The side is chosen from the
 * smallest head the keypoint model saw, and the answer stands only when it
 * leaves nothing for the full pass to add (mediumAccepted).
 *
 * Unlike the coarse pass, turned faces may stand: the faces shrink from
 * ~95 to ~60 input pixels, not from ~480 to ~150, and their boxes move
 * little. Tune split, 40 rendered 1280x720-1920x1080 scenes of 1-6 FASSEG
 * people at every yaw (a scratch script; `faceseg eval --split tune --sets
 * groups` gives the same kind of scenes): IoU above the chin 0.8648 with
 * the full pass only, 0.8650 with this one; faces found 140 of 140 both
 * ways. With the coarse pass's frontal rule, 4 of the 21 scenes that tried
 * this pass kept its answer; without it, 17. In its range (below), the
 * eval's tune group photos of 1200x800 and 1080x1080: it stood on 5 of 10,
 * faces found unchanged, IoU 0.8583 -> 0.8599.
 *
 * The caller does not use it on images large enough for tiles (stage-locate):
 * there only the full pass's small faces say whether tiles should run, and
 * tune scenes of two large people before a crowd of 20-px faces lost 30 of
 * the 40 crowd faces the full pass's tiles had found.
 */
export interface MediumRule {
  /** The side puts the smallest person's head at least this many input pixels wide... */
  minHeadPx: number;
  /** ...rounded up to a multiple of this (the detector's stride)... */
  step: number;
  /** ...at least this... */
  minSide: number;
  /** ...and it runs only when at most this share of the full side (a smaller saving does not pay for a wasted pass). */
  maxShare: number;
  /** Its answer stands only when every face's shorter box side is at least this many input pixels... */
  minFace: number;
  /** ...and no detection scores above this share of the threshold without passing it (a face the pass half sees). */
  weakShare: number;
}

export const MEDIUM_RULE: MediumRule = { minHeadPx: 56, step: 32, minSide: 320, maxShare: 0.8, minFace: 40, weakShare: 0.5 };

/** The medium pass's input side for this image and these people, or null when it should not run. */
export function mediumSide(w: number, h: number, fullSide: number, poses: readonly PersonPose[], keypointThreshold: number, rule: MediumRule = MEDIUM_RULE): number | null {
  const longest = Math.max(w, h);
  // smaller images have the coarse pass; an image without people gives no size to go by
  if (coarseSized(w, h, fullSide) || longest <= fullSide || poses.length === 0) return null;
  let smallest = Infinity;
  for (const p of poses) {
    const head = headWidthEstimate(p.keypoints, keypointThreshold);
    if (head === null) return null;
    smallest = Math.min(smallest, head);
  }
  const side = Math.max(rule.minSide, Math.ceil((rule.minHeadPx * longest) / smallest / rule.step) * rule.step);
  return side <= rule.maxShare * fullSide ? side : null;
}

/**
 * Whether the medium pass's answer stands: faces, all large at its scale,
 * none half seen, and every person whose nose the keypoint model sees
 * inside one of them (a face the full pass might still find).
 */
export function mediumAccepted(
  w: number,
  h: number,
  side: number,
  strong: readonly FaceDetection[],
  weak: readonly FaceDetection[],
  poses: readonly PersonPose[],
  keypointThreshold: number,
  rule: MediumRule = MEDIUM_RULE,
): boolean {
  const scale = side / Math.max(w, h);
  if (strong.length === 0 || weak.length > 0) return false;
  if (!strong.every((d) => Math.min(d.box.width, d.box.height) * scale >= rule.minFace)) return false;
  return poses.every((p) => {
    const nose = p.keypoints[COCO.nose];
    return !(nose && nose.score >= keypointThreshold) || strong.some((d) => boxContains(d.box, nose));
  });
}

/** Whole-image detections: the coarse or medium pass when allowed and accepted, else the full-size pass; passes already in `early` are not run again. */
export async function detectWhole(detector: FaceDetectorPort, view: RgbImage, poses: readonly PersonPose[], threshold: number, keypointThreshold: number, early?: EarlyPasses, medium = true): Promise<FaceDetection[]> {
  const full = detector.inputSide ?? 0;
  if (detector.detectAt && coarseAllowed(view.width, view.height, full, poses, keypointThreshold)) {
    const coarse = early ? early.coarse : await detector.detectAt(view, threshold, COARSE_RULE.side);
    if (coarseAccepted(view.width, view.height, coarse)) return coarse;
  }
  const side = medium && detector.detectAt ? mediumSide(view.width, view.height, full, poses, keypointThreshold) : null;
  if (side !== null && detector.detectAt) {
    const weakAbove = MEDIUM_RULE.weakShare * threshold;
    const { strong, weak } = splitAt(await detector.detectAt(view, Math.min(threshold, weakAbove), side), threshold);
    if (mediumAccepted(view.width, view.height, side, strong, weak, poses, keypointThreshold)) return strong;
  }
  return early?.full ?? detector.detect(view, threshold);
}
