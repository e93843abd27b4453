// Face stage 7, per image: paste each face's field back into the image as a
// mask (or a project's learned refinement of it) and gather the evidence its
// score is made of.
import { yieldToEventLoop } from './event-loop.js';
import { captureHead, captureSample, FRAME_SIZE } from './face-sample.js';
import { touchesEdge } from './geometry.js';
import type { HeadCandidate } from './heads.js';
import { maskBox } from './mask-ops.js';
import { meshKeypoints, meshYaw } from './mesh-geometry.js';
import { faceScore, regionStats, type FaceEvidence } from './scoring.js';
import type { LocatedImage } from './stage-locate.js';
import type { FaceRegion } from './stage-region.js';
import type { Face } from './types.js';
import { pasteDistanceField } from './warp.js';

/** A face in image pixels with what its score was made of. */
export interface PastedFace {
  face: Face;
  evidence: FaceEvidence;
}

export interface PastedImage {
  faces: PastedFace[];
  /** Candidates (not clicks) the landmark model rejected and no detector vouched for: doubts for the image score. */
  rejected: HeadCandidate[];
}

/** Stage "paste": the image's faces from its regions, in candidate order (`regions[i]` belongs to `located.candidates[i]`). */
export async function pasteFaces(located: LocatedImage, regions: readonly FaceRegion[]): Promise<PastedImage> {
  const faces: PastedFace[] = [];
  const rejected: HeadCandidate[] = [];
  const { settings } = located;
  for (let i = 0; i < located.candidates.length; i++) {
    const candidate = located.candidates[i];
    const region = regions[i];
    // a click where the mesh sees no face gets nothing (not a blob on a coat); without landmarks, a
    // detection is pasted when it is strong, or when the labeler clicked on it (two witnesses)
    const vouched = candidate.detectorScore >= (candidate.clicked === true ? settings.detectorThreshold : Math.max(0.7, settings.detectorThreshold));
    if (region.fallback && (candidate.source === 'click' || !vouched)) {
      if (candidate.source !== 'click') rejected.push(candidate);
      continue;
    }
    await yieldToEventLoop();
    const pasted = pasteFace(located, candidate, region);
    if (pasted) faces.push(pasted);
  }
  return { faces, rejected };
}

/** One face's mask, box, keypoints and score; undefined when its mask is empty. */
export function pasteFace(located: LocatedImage, candidate: HeadCandidate, region: FaceRegion): PastedFace | undefined {
  const { image, view, settings, options } = located;
  const { roi, mesh, crop } = region.face;
  const faceSize = roi.size / settings.roiScale;
  // the sample holds the engine's own mask (no dilate), the same whatever the project's settings
  const capture = { image: view, roi, field: region.field, fieldSize: region.fieldSize, grow: 0, faceSize, mesh, meshSize: crop.width };
  // a refiner that wants only some faces (e.g. a prior for turned ones) costs the others no sample
  const head = options.refiner?.accepts ? captureHead(capture) : undefined;
  const refiner = options.refiner && (head === undefined || options.refiner.accepts?.(head)) ? options.refiner : undefined;
  const sample = refiner || options.captureSamples ? captureSample(capture, FRAME_SIZE, head) : undefined;
  const refined = sample && refiner?.refine(sample);
  // pasted once: the refiner's field when it gave one, else the engine's with the dilate
  const mask = refined
    ? pasteDistanceField(refined.field, refined.size, refined.roi, image.width, image.height, 0)
    : pasteDistanceField(region.field, region.fieldSize, roi, image.width, image.height, (settings.dilate * faceSize) / 100);
  if (mask.width === 0) return undefined;
  const box = maskBox(mask);
  // how well the models could see this face: the copy they were given (tone-normalised when the photo is dark)
  const local = regionStats(view, box);
  const evidence: FaceEvidence = {
    meshScore: region.fallback ? 0.3 : mesh.faceScore,
    faceSize: Math.min(box.width, box.height),
    luminance: local.luminance,
    contrast: local.contrast,
    source: candidate.source,
    detectorScore: candidate.detectorScore,
    poseScore: candidate.poseScore,
    imageEdge: touchesEdge(box, image.width, image.height),
    yaw: region.fallback ? undefined : meshYaw(mesh),
  };
  const face: Face = {
    box,
    mask,
    source: candidate.source,
    keypoints: faceKeypoints(candidate, region),
    score: faceScore(evidence),
    faceSize,
    ...(options.captureSamples && sample ? { sample } : {}),
  };
  return { face, evidence };
}

/**
 * A face's keypoints: the keypoint model's when it saw the head; else the
 * mesh's, unless the landmark model rejected the crop (its points are then
 * not a face's), where the detector's own eyes and nose stand in.
 */
function faceKeypoints(candidate: HeadCandidate, region: FaceRegion): Face['keypoints'] {
  if (candidate.keypoints.length > 0) return candidate.keypoints;
  if (region.fallback) return candidate.detectorKeypoints ?? [];
  // the mesh is in landmark-crop pixels, whatever size a face parser's field has
  return meshKeypoints(region.face.mesh, region.face.roi, region.face.crop.width);
}
