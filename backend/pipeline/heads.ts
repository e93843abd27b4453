// Head localisation by fusion: body keypoints + face detector -> face ROIs.
// Pure: models are run elsewhere; this only combines their outputs.
import { boxCenter, COCO, distance, headWidthEstimate, iou, mean, squareBox } from './geometry.js';
import type { FaceDetection, PersonPose } from './ports.js';
import type { Box, FaceSource, HeadKeypointName, NamedKeypoint, Point } from './types.js';
import type { Roi } from './warp.js';

export const HEAD_NAMES: HeadKeypointName[] = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear'];

export interface HeadCandidate {
  roi: Roi;
  /** Head box used for matching and reporting (image pixels). */
  headBox: Box;
  source: FaceSource;
  detectorScore: number;
  poseScore: number;
  keypoints: NamedKeypoint[];
  /** True when the only visible head keypoints are ears: likely a back of head. */
  earsOnly: boolean;
  /** Centre of the detector's face landmarks: where a profile's face is, unlike its head box centre. */
  anchor?: Point;
  /** The detector's eyes and nose, scored by the detection: the face's keypoints when the landmark model rejects its crop. */
  detectorKeypoints?: NamedKeypoint[];
  /** A positive click of the labeler lies in its head box: the landmark model's bar is lower (stage-landmarks.ts faceAccepted), and a detection without landmarks is pasted with its fallback region (stage-paste.ts). */
  clicked?: boolean;
}

export interface HeadParams {
  keypointThreshold: number;
  detectorThreshold: number;
  /** ROI side = roiScale * face size (MediaPipe uses 1.5 around a detection). */
  roiScale: number;
  minRadius: number;
}

/** Largest roll we trust from two eye points; beyond it they are more likely swapped or a profile. */
export const MAX_ROLL = Math.PI / 3;

export function rollFromEyes(rightEye: Point, leftEye: Point): number {
  // The subject's left eye is on the image's right for a frontal face.
  const a = Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
  return Math.abs(a) <= MAX_ROLL ? a : 0;
}

export function candidateFromDetection(d: FaceDetection, p: HeadParams): HeadCandidate {
  const c = boxCenter(d.box);
  const size = Math.max(d.box.width, d.box.height);
  // in a profile both eye points crowd one side and their line says nothing about roll
  const eyeGap = d.landmarks.length >= 2 ? Math.hypot(d.landmarks[1].x - d.landmarks[0].x, d.landmarks[1].y - d.landmarks[0].y) : 0;
  const angle = eyeGap > 0.25 * d.box.width ? rollFromEyes(d.landmarks[0], d.landmarks[1]) : 0;
  return {
    roi: { center: c, size: Math.max(2 * p.minRadius, size * p.roiScale), angle },
    headBox: squareBox(c, (size * 1.3) / 2),
    source: 'detector',
    detectorScore: d.score,
    poseScore: 0,
    keypoints: [],
    earsOnly: false,
    anchor: d.landmarks.length > 0 ? mean(d.landmarks) : undefined,
    detectorKeypoints: detectorKeypoints(d),
  };
}

/** FaceDetection.landmarks (subject's right eye, left eye, nose, ...) as named keypoints with the detection's score. */
function detectorKeypoints(d: FaceDetection): NamedKeypoint[] {
  const names: HeadKeypointName[] = ['right_eye', 'left_eye', 'nose'];
  return names.flatMap((name, i) => (i < d.landmarks.length ? [{ name, x: d.landmarks[i].x, y: d.landmarks[i].y, score: d.score }] : []));
}

export function candidateFromPose(pose: PersonPose, p: HeadParams): HeadCandidate | null {
  const kp = pose.keypoints;
  const thr = p.keypointThreshold;
  const visible = HEAD_NAMES.map((name, i) => ({ name, ...kp[i] })).filter((k) => k.score >= thr);
  if (visible.length === 0) return null;
  const width = headWidthEstimate(kp, thr);
  if (width === null) return null; // a single head point and no body: no scale to trust
  const centre = mean(visible);
  const eyesOk = kp[COCO.leftEye].score >= thr && kp[COCO.rightEye].score >= thr;
  const angle = eyesOk && distance(kp[COCO.leftEye], kp[COCO.rightEye]) > 2 ? rollFromEyes(kp[COCO.rightEye], kp[COCO.leftEye]) : 0;
  // A face is about 0.9 x the ear-to-ear head width.
  const faceSize = Math.max(2 * p.minRadius / p.roiScale, width * 0.9);
  const meanScore = visible.reduce((s, k) => s + k.score, 0) / visible.length;
  const earsOnly = visible.every((k) => k.name === 'left_ear' || k.name === 'right_ear');
  return {
    roi: { center: centre, size: faceSize * p.roiScale, angle },
    headBox: squareBox(centre, (width * 1.3) / 2),
    source: 'keypoints',
    detectorScore: 0,
    poseScore: meanScore,
    keypoints: visible.map((k) => ({ name: k.name, x: k.x, y: k.y, score: k.score })),
    earsOnly,
  };
}

function inside(pt: Point, b: Box): boolean {
  return pt.x >= b.x && pt.x <= b.x + b.width && pt.y >= b.y && pt.y <= b.y + b.height;
}

/**
 * Fuse: each detection is matched to at most one pose head whose box holds the
 * detection centre; matched pairs keep the detector's (tighter) ROI and the
 * pose's keypoints. Unmatched heads from either source are kept: the detector
 * finds people beyond the keypoint model's limit and small faces, the keypoints
 * find turned heads the detector misses.
 */
export function fuseCandidates(poses: readonly PersonPose[], dets: readonly FaceDetection[], p: HeadParams): HeadCandidate[] {
  const fromDet = dets.filter((d) => d.score >= p.detectorThreshold).map((d) => candidateFromDetection(d, p));
  const fromPose = poses.map((x) => candidateFromPose(x, p)).filter((c): c is HeadCandidate => c !== null);
  const used = new Set<number>();
  const out: HeadCandidate[] = [];
  for (const d of fromDet) {
    let best = -1;
    let bestDist = Infinity;
    fromPose.forEach((h, i) => {
      if (used.has(i)) return;
      const dc = boxCenter(d.headBox);
      if (!inside(dc, h.headBox) && iou(d.headBox, h.headBox) < 0.2) return;
      const dd = distance(dc, boxCenter(h.headBox));
      if (dd < bestDist) {
        bestDist = dd;
        best = i;
      }
    });
    if (best >= 0) {
      used.add(best);
      const h = fromPose[best];
      out.push({ ...d, source: 'fused', poseScore: h.poseScore, keypoints: h.keypoints });
    } else out.push(d);
  }
  fromPose.forEach((h, i) => {
    if (!used.has(i)) out.push(h);
  });
  return out;
}
