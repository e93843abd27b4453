// The face stages of a batch, in order. Each is a function of the previous
// stage's output (stage-landmarks.ts, stage-region.ts) and is timed on its own.
import { confirmClickFaces } from './click-confirm.js';
import type { EnginePorts } from './ports.js';
import { cropFaces, meshFaces, recentreFaces, retryRejected, type CropJob } from './stage-landmarks.js';
import { faceRegions, refineRegions, type FaceRegion } from './stage-region.js';

/** The timing entries of the face stages, in order: together they cover the whole of `runFaceStages`. */
export const FACE_STAGES = ['crop', 'landmarks', 'recentre', 'retry', 'region', 'refine'] as const;
export type FaceStage = (typeof FACE_STAGES)[number];

export interface FaceStagesResult {
  /** One region per job, in job order. */
  regions: FaceRegion[];
  /** Milliseconds per stage for the whole batch. */
  timings: Record<FaceStage, number>;
}

/** crop -> landmarks -> re-centre -> retry rejected crops -> region -> colour refine, for every face of a batch. */
export async function runFaceStages(ports: EnginePorts, jobs: readonly CropJob[]): Promise<FaceStagesResult> {
  const timings = Object.fromEntries(FACE_STAGES.map((stage) => [stage, 0])) as Record<FaceStage, number>;
  const timed = async <T>(stage: FaceStage, run: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await run();
    timings[stage] = performance.now() - t0;
    return out;
  };
  const landmarks = ports.faceLandmarks;
  const cropped = await timed('crop', () => cropFaces(jobs, landmarks.inputSize));
  const meshed = await timed('landmarks', () => meshFaces(landmarks, cropped));
  const centred = await timed('recentre', () => recentreFaces(landmarks, meshed));
  // a click crop the mesh accepted but no detection started from is checked by the detector too
  const retried = await timed('retry', async () => confirmClickFaces(ports.faceDetector, await retryRejected(landmarks, centred)));
  const regions = await timed('region', () => faceRegions(ports.faceSegmenter, retried));
  const refined = await timed('refine', () => refineRegions(regions));
  return { regions: refined, timings };
}
