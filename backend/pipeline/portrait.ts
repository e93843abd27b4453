// Portraits skip the keypoint model. On a ~400x512 portrait MoveNet costs
// about as much CPU as the detector (30 ms of 130) and adds nothing to the
// mask: a fused candidate keeps the detector's ROI and anchor, and only takes
// the pose's keypoints and score. So a small image runs the face detector
// first (detector-size.ts: the coarse pass, or the full one when the coarse
// answer does not stand) and, when that found one face filling a large share
// of the image and nothing weaker beside it, the keypoint model does not run.
//
// What the skip gives up, knowingly:
// - the face's source is 'detector', not 'fused' (agreement 0.75 + 0.2 x
//   detector score instead of 1 in scoring.ts), so its score is a little lower;
// - heads only the keypoint model sees (a back of head beside the face) and
//   people the image score counts as unexplained: a face this large leaves
//   little room for another person, but not none;
// - the keypoint model's head keypoints (with ears) on the face: the face
//   gets the mesh's nose and eyes instead. A caller that shows keypoints
//   sets SegmentOptions.headKeypoints and the keypoint model always runs.
import { coarseSized } from './detector-size.js';
import type { FaceDetection } from './ports.js';

export interface PortraitRule {
  /**
   * The one face's shorter box side as a share of the image's longest side.
   * Tune split (FASSEG, 114 photos, every yaw): 0.35..0.72 with the detector
   * pass that answers; 0.3 takes them all with a little margin, and keeps
   * the keypoint model for anything with a face under ~150 px in a 512 photo.
   */
  minFaceShare: number;
  /**
   * Only images at most this wide for their height try the detector first.
   * Running it first costs a coarse pass (~15 CPU ms on a 640x480 photo) that
   * is wasted whenever the photo is no portrait and a person's small head
   * then asks for the full pass; on landscape photos (most group and street
   * photos) that is the usual case, so they keep the keypoint model first.
   */
  maxAspect: number;
  /**
   * No other detection above this share of the detector threshold: a second
   * face the detector half sees (a turned or partly hidden head) is what the
   * keypoint model would make a candidate of. Tune split at a detector
   * threshold of 0.3: one photo of 114 has any other detection above 0.1.
   */
  weakShare: number;
}

export const PORTRAIT_RULE: PortraitRule = { minFaceShare: 0.3, maxAspect: 1, weakShare: 0.5 };

/** A portrait by the detector's answer: exactly one face, large in the image, and no weaker detection beside it. */
export function isPortrait(w: number, h: number, dets: readonly FaceDetection[], weak: readonly FaceDetection[], rule: PortraitRule = PORTRAIT_RULE): boolean {
  if (dets.length !== 1 || weak.length > 0) return false;
  const { width, height } = dets[0].box;
  return Math.min(width, height) >= rule.minFaceShare * Math.max(w, h);
}

export interface DetectorFirstCase {
  width: number;
  height: number;
  /** The detector's full input side (0 when unknown). */
  fullSide: number;
  /** The detector can run at another input size (the coarse pass). */
  variableSize: boolean;
  hasKeypointModel: boolean;
  /** The 'seed' locator builds its boxes from poses alone. */
  locator: 'fused' | 'seed';
  /** Clicks: interactive mode keeps every source (click-search reads the candidates). */
  hints: number;
  headKeypoints: boolean;
}

/**
 * Whether the detector runs before the keypoint model, so that a portrait can
 * skip it: upright images the coarse pass may answer for (detector-size.ts)
 * and nothing else asking for the keypoint model's poses.
 */
export function detectorFirst(c: DetectorFirstCase, rule: PortraitRule = PORTRAIT_RULE): boolean {
  if (!(c.hasKeypointModel && c.variableSize && c.locator === 'fused' && c.hints === 0 && !c.headKeypoints)) return false;
  return c.width <= rule.maxAspect * c.height && coarseSized(c.width, c.height, c.fullSide);
}
