// Interactive mode: the face mesh alone accepts too much at a click (a crop
// of an orange sleeve scored 0.94 as a face). A click crop that no detection
// started from, or a clicked candidate kept only thanks to the click's lower
// mesh bar with no detection behind it, is kept only when the face detector,
// shown the crop with some context, sees a face at its middle.
import type { FaceDetectorPort } from './ports.js';
import { faceAccepted, type MeshedFace } from './stage-landmarks.js';
import { warpCrop } from './warp.js';

/** Side of the view the detector checks, and the context around the crop's ROI. */
const CHECK_SIDE = 192;
const CONTEXT = 1.5;

/** Mesh-accepted click faces without a detection behind them, with the detector's verdict: rejected ones get face score 0. */
export async function confirmClickFaces(detector: FaceDetectorPort | undefined, faces: readonly MeshedFace[]): Promise<MeshedFace[]> {
  if (!detector) return [...faces];
  const out: MeshedFace[] = [];
  for (const face of faces) {
    const { candidate, settings, view } = face.job;
    const byClickOnly = candidate.source === 'click' || face.mesh.faceScore < settings.minFaceScore;
    const unconfirmed = byClickOnly && !(candidate.detectorScore > 0) && faceAccepted(face);
    if (!unconfirmed) {
      out.push(face);
      continue;
    }
    const crop = warpCrop(view, { ...face.roi, size: face.roi.size * CONTEXT }, CHECK_SIDE);
    const dets = await detector.detect(crop, settings.detectorThreshold * 0.5);
    const lo = CHECK_SIDE * 0.3;
    const hi = CHECK_SIDE * 0.7;
    const atMiddle = dets.some((d) => {
      const cx = d.box.x + d.box.width / 2;
      const cy = d.box.y + d.box.height / 2;
      return cx >= lo && cx <= hi && cy >= lo && cy <= hi;
    });
    out.push(atMiddle ? face : { ...face, mesh: { ...face.mesh, faceScore: 0 } });
  }
  return out;
}
