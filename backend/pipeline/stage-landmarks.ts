// Face stages 1-4, for the crops of a whole batch at once: crop each head
// candidate, find its landmarks, re-centre the crop on them, and give crops
// the landmark model rejected a second chance at other scales.
import type { EngineSettings } from './engine-settings.js';
import type { HeadCandidate } from './heads.js';
import { liftDarkCrop } from './low-light.js';
import { roiFromMesh, sameRoi } from './mesh-geometry.js';
import type { LandmarkPort, MeshResult } from './ports.js';
import type { RgbImage } from './types.js';
import { warpCrop, type Roi } from './warp.js';

/** One face to segment: the image the models see, its head candidate and that image's settings. */
export interface CropJob {
  view: RgbImage;
  candidate: HeadCandidate;
  settings: EngineSettings;
  /** `view` is a tone-mapped copy of the photo (low light), not its own pixels. */
  toneMapped?: boolean;
}

/** A face's crop: where it lies in the image and its pixels at the landmark model's input size. */
export interface CroppedFace {
  job: CropJob;
  roi: Roi;
  crop: RgbImage;
  /** `crop` has its shadows lifted (liftDarkCrop): a dark face the retry stage rescued. */
  lifted?: boolean;
}

/** A cropped face with what the landmark model found in that crop. */
export interface MeshedFace extends CroppedFace {
  mesh: MeshResult;
}

/** A new crop to try for a face (`crop`: its pixels when they are not the plain warp of `roi`; `lifted`: by liftDarkCrop). */
interface RoiProposal {
  face: MeshedFace;
  roi: Roi;
  crop?: RgbImage;
  lifted?: boolean;
}

/** Below this mesh score the landmarks are too unsure to re-centre on. */
const MIN_RECENTRE_SCORE = 0.2;

/**
 * The mesh score a face needs to be kept. A candidate the labeler clicked on
 * needs only what a re-centring needs: the click says there is a face, so the
 * mesh only has to place it (a 70-px face can score 0.45 and still fit).
 */
export function faceAccepted(face: MeshedFace): boolean {
  const bar = face.job.candidate.clicked === true ? Math.min(MIN_RECENTRE_SCORE, face.job.settings.minFaceScore) : face.job.settings.minFaceScore;
  return face.mesh.faceScore >= bar;
}

/** Stage "crop": each candidate's ROI at the landmark model's input size. */
export function cropFaces(jobs: readonly CropJob[], cropSize: number): CroppedFace[] {
  return jobs.map((job) => ({ job, roi: job.candidate.roi, crop: warpCrop(job.view, job.candidate.roi, cropSize) }));
}

/** Stage "landmarks": one landmark model call for all crops. */
export async function meshFaces(landmarks: LandmarkPort, faces: readonly CroppedFace[]): Promise<MeshedFace[]> {
  if (faces.length === 0) return [];
  const meshes = await landmarks.run(faces.map((face) => face.crop));
  return faces.map((face, i) => ({ ...face, mesh: meshes[i] }));
}

/** A re-centred crop is kept only where it did not lose the face. */
const keepUnlessLost = (next: MeshResult, current: MeshResult): boolean => next.faceScore >= current.faceScore * 0.9;

/**
 * Run the landmark model on the proposed crops (one call) and let each face
 * take a proposal its `accept` rule prefers to its current crop; proposals of
 * one face are judged in order, each against the face as it stands by then.
 */
export async function tryRois(
  landmarks: LandmarkPort,
  faces: readonly MeshedFace[],
  proposals: readonly RoiProposal[],
  accept: (next: MeshResult, current: MeshResult) => boolean,
): Promise<MeshedFace[]> {
  if (proposals.length === 0) return [...faces];
  const crops = proposals.map((proposal) => proposal.crop ?? warpCrop(proposal.face.job.view, proposal.roi, landmarks.inputSize));
  const meshes = await landmarks.run(crops);
  const taken = new Map<MeshedFace, MeshedFace>();
  proposals.forEach((proposal, i) => {
    const current = taken.get(proposal.face) ?? proposal.face;
    if (accept(meshes[i], current.mesh)) taken.set(proposal.face, { ...current, roi: proposal.roi, crop: crops[i], mesh: meshes[i], lifted: proposal.lifted === true });
  });
  return faces.map((face) => taken.get(face) ?? face);
}

/** The crop centred on a face's own landmarks (its current crop when they are too unsure). */
function centredRoi(face: MeshedFace, cropSize: number): Roi {
  if (face.mesh.faceScore < MIN_RECENTRE_SCORE) return face.roi;
  return roiFromMesh(face.roi, cropSize, face.mesh, face.job.settings.roiScale);
}

/** Stage "recentre": up to `passes` - 1 more landmark passes, each on the crop centred on the last pass's landmarks. */
export async function recentreFaces(landmarks: LandmarkPort, faces: readonly MeshedFace[]): Promise<MeshedFace[]> {
  let current = [...faces];
  const maxPasses = Math.max(0, ...faces.map((face) => face.job.settings.passes));
  for (let pass = 1; pass < maxPasses; pass++) {
    const proposals = current
      .filter((face) => pass < face.job.settings.passes)
      .map((face) => ({ face, roi: centredRoi(face, landmarks.inputSize) }))
      // a crop that already sits on its landmarks gains nothing from another pass
      .filter((proposal) => !sameRoi(proposal.face.roi, proposal.roi));
    if (proposals.length === 0) break;
    current = await tryRois(landmarks, current, proposals, keepUnlessLost);
  }
  return current;
}

/**
 * Stage "retry": crops the landmark model rejected get a second chance at
 * other scales, upright (a profile's detector box is too tall and its eye
 * line gives no roll), around the detector's landmarks, and (a dark face)
 * with the shadows lifted; the rescued ones are then re-centred once.
 */
export async function retryRejected(landmarks: LandmarkPort, faces: readonly MeshedFace[]): Promise<MeshedFace[]> {
  const failed = new Set(faces.filter((face) => face.mesh.faceScore < face.job.settings.minFaceScore && face.job.settings.retryScales.length > 0));
  if (failed.size === 0) return [...faces];
  const alternatives = [...failed].flatMap((face) => {
    const scales = face.job.settings.retryScales;
    const rois: Roi[] = scales.map((scale) => ({ center: face.roi.center, size: face.roi.size * scale, angle: 0 }));
    const anchor = face.job.candidate.anchor;
    if (anchor) rois.push({ center: anchor, size: face.roi.size * scales[0], angle: 0 });
    const proposals: RoiProposal[] = rois.map((roi) => ({ face, roi }));
    // a dark face (dark skin against a bright background): its crops again with the shadows lifted
    const first = liftDarkCrop(face.crop);
    if (!first) return proposals;
    const lifts = [{ roi: face.roi, crop: first }, ...rois.map((roi) => ({ roi, crop: liftDarkCrop(warpCrop(face.job.view, roi, landmarks.inputSize)) }))];
    for (const { roi, crop } of lifts) if (crop) proposals.push({ face, roi, crop, lifted: true });
    return proposals;
  });
  const retried = await tryRois(landmarks, faces, alternatives, (next, current) => next.faceScore > current.faceScore);
  const rescued = retried.filter((face, i) => failed.has(faces[i]) && face.mesh.faceScore >= MIN_RECENTRE_SCORE);
  const recentred = rescued.map((face) => {
    const roi = centredRoi(face, landmarks.inputSize);
    const crop = warpCrop(face.job.view, roi, landmarks.inputSize);
    // a face rescued by the lift is re-centred on a lifted crop too
    const lifted = face.lifted === true ? liftDarkCrop(crop) : null;
    return { face, roi, crop: lifted ?? crop, lifted: lifted !== null };
  });
  return tryRois(landmarks, retried, recentred, keepUnlessLost);
}
