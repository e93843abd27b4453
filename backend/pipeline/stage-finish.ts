// The last stage, per image: pasted faces -> the image's result. Duplicates
// merged, clicks applied, and the image score from the faces and from what
// the models saw but could not turn into a face.
import { dedupe, selectByHints } from './face-select.js';
import { boxCenter, boxContains, expandBox } from './geometry.js';
import type { PersonPose } from './ports.js';
import { imageScore, regionStats, type FaceEvidence } from './scoring.js';
import type { LocatedImage } from './stage-locate.js';
import { pasteFaces } from './stage-paste.js';
import type { FaceRegion } from './stage-region.js';
import type { Face, Point, SegmentResult } from './types.js';

/** Paste the image's face regions (`regions[i]` belongs to `located.candidates[i]`) and score the result. */
export async function finishImage(located: LocatedImage, regions: readonly FaceRegion[]): Promise<SegmentResult> {
  const { image, view, settings, hints, poses, timings } = located;
  const t0 = performance.now();
  const pasted = await pasteFaces(located, regions);
  timings.paste = performance.now() - t0;
  const evidence = new Map<Face, FaceEvidence>(pasted.faces.map((one) => [one.face, one.evidence]));
  let faces = dedupe(pasted.faces.map((one) => one.face));
  const automatic = faces.filter((face) => face.source !== 'click');
  if (hints.length > 0) faces = selectByHints(faces, hints);
  faces.sort((a, b) => a.box.x - b.box.x || a.box.y - b.box.y);
  const explained = (point: Point): boolean => automatic.some((face) => boxContains(expandBox(face.box, 0.5), point));
  const doubts = pasted.rejected
    .filter((cand) => !explained(boxCenter(cand.headBox)))
    .map((cand) => Math.max(cand.detectorScore, cand.poseScore, cand.earsOnly ? 0.6 : 0));
  const unexplainedPeople = poses.filter((pose) => {
    const head = personHead(pose, settings.keypointThreshold);
    return head !== undefined && !explained(head);
  }).length;
  // faces found: how well the models saw the photo (their copy); none found: how dark the photo itself is
  // ("found nothing, but there may be people")
  const stats = regionStats(faces.length ? view : image, { x: 0, y: 0, width: image.width, height: image.height });
  return {
    width: image.width,
    height: image.height,
    faces,
    score: imageScore({ faceScores: faces.map((face) => face.score), unexplainedPeople, rejected: doubts, stats }),
    timings,
    scoreEvidence: {
      faces: faces.map((face) => ({ ...evidence.get(face), score: face.score })),
      image: { unexplainedPeople, rejected: doubts, luminance: stats.luminance, contrast: stats.contrast },
    },
  };
}

/**
 * Where a person's head is: a visible head keypoint, else (a back view) a
 * point above the shoulders. Undefined for poses too weak to count as a person.
 */
export function personHead(pose: PersonPose, threshold: number): Point | undefined {
  const head = pose.keypoints.slice(0, 5).filter((kp) => kp.score >= Math.max(0.5, threshold));
  if (head.length > 0) return { x: head.reduce((a, kp) => a + kp.x, 0) / head.length, y: head.reduce((a, kp) => a + kp.y, 0) / head.length };
  const [leftShoulder, rightShoulder] = [pose.keypoints[5], pose.keypoints[6]];
  if (pose.score >= 0.35 && leftShoulder && rightShoulder && leftShoulder.score >= 0.5 && rightShoulder.score >= 0.5) {
    const width = Math.hypot(leftShoulder.x - rightShoulder.x, leftShoulder.y - rightShoulder.y);
    return { x: (leftShoulder.x + rightShoulder.x) / 2, y: (leftShoulder.y + rightShoulder.y) / 2 - 0.6 * width };
  }
  return undefined;
}
