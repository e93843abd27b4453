// What the per-project refiner sees of one face: a square "refiner frame"
// around the engine's landmark crop (same centre and roll, larger, so hair and
// ears fit), the pixels in it, the engine's mask as a signed distance in face
// units, and a few landmarks. Captured when the engine predicts, stored with
// the prediction, so learning from a correction never needs the image again.
// Pure functions.
import { cropToImage, imageToCrop, sampleField, warpCrop, type Roi } from './warp.js';
import type { Point, RgbImage } from './types.js';
import { MESH } from './mesh-indices.js';

/** Frame side in pixels. */
export const FRAME_SIZE = 112;
/** Frame side / landmark crop side (the crop is 1.5 face sizes, so the frame is 3). */
export const FRAME_SCALE = 2;

/** Landmarks in frame pixels; missing ones are estimated from the crop geometry. */
export interface FrameLandmarks {
  rightEye: Point;
  leftEye: Point;
  nose: Point;
  chin: Point;
  rightCheek: Point;
  leftCheek: Point;
  forehead: Point;
}

export interface FaceSample {
  /** The refiner frame in image pixels. */
  frame: Roi;
  size: number;
  imageWidth: number;
  imageHeight: number;
  /** Face size in image pixels (the engine's unit for dilate). */
  faceSize: number;
  /** size*size*3 RGB of the frame (black outside the image). */
  rgb: Uint8Array;
  /** Engine mask: signed distance to its edge, face sizes, positive inside. */
  sd: Float32Array;
  landmarks: FrameLandmarks;
}

/** Where a face sample lies and how it looks, without its pixels: enough to decide whether a refiner wants it. */
export type SampleHead = Pick<FaceSample, 'frame' | 'size' | 'faceSize' | 'landmarks'>;

/** MediaPipe face mesh indices of the landmarks above. */
export const MESH_LANDMARKS = {
  rightEye: [MESH.rightEyeOuter, MESH.rightEyeInner],
  leftEye: [MESH.leftEyeOuter, MESH.leftEyeInner],
  nose: [MESH.noseTip],
  chin: [MESH.chin],
  rightCheek: [MESH.rightCheek],
  leftCheek: [MESH.leftCheek],
  forehead: [MESH.forehead],
} as const;

export interface CaptureInput {
  image: RgbImage;
  /** The landmark crop the engine's field lives in. */
  roi: Roi;
  /** Engine field: signed distance in crop pixels, positive inside. */
  field: Float32Array;
  fieldSize: number;
  /** Dilate applied when pasting, in image pixels. */
  grow: number;
  faceSize: number;
  /** Mesh points (x, y, z per point, landmark-crop pixels) or null when the mesh failed. */
  mesh: { points: Float32Array; count: number } | null;
  /** Side of the landmark crop the mesh is in; the field's side differs when a face parser made the field. Default fieldSize. */
  meshSize?: number;
}

export function frameRoi(roi: Roi): Roi {
  return { center: roi.center, size: roi.size * FRAME_SCALE, angle: roi.angle };
}

/** Landmarks of a face without a usable mesh: a frontal face centred in the crop. */
function defaultLandmarks(n: number, faceFrame: number): FrameLandmarks {
  const c = n / 2;
  const at = (dx: number, dy: number): Point => ({ x: c + dx * faceFrame, y: c + dy * faceFrame });
  return {
    rightEye: at(-0.2, -0.12),
    leftEye: at(0.2, -0.12),
    nose: at(0, 0.05),
    chin: at(0, 0.45),
    rightCheek: at(-0.42, 0.05),
    leftCheek: at(0.42, 0.05),
    forehead: at(0, -0.45),
  };
}

/** `head`: captureHead's answer when the caller already has it. */
export function captureSample(c: CaptureInput, size = FRAME_SIZE, head = captureHead(c, size)): FaceSample {
  const { frame } = head;
  const rgb = warpCrop(c.image, frame, size).data;
  const sd = new Float32Array(size * size);
  const cropPxToFace = c.roi.size / c.fieldSize / c.faceSize;
  const growFace = c.grow / c.faceSize;
  const n = c.fieldSize;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // frame and crop share centre and roll: crop coordinates are a scaled copy
      const cx = ((u + 0.5) / size - 0.5) * FRAME_SCALE * n + n / 2;
      const cy = ((v + 0.5) / size - 0.5) * FRAME_SCALE * n + n / 2;
      const qx = Math.min(n, Math.max(0, cx));
      const qy = Math.min(n, Math.max(0, cy));
      // beyond the crop: the field at its edge, minus the distance past it
      const d = sampleField(c.field, n, n, qx, qy, 0) - Math.hypot(cx - qx, cy - qy);
      sd[v * size + u] = d * cropPxToFace + growFace;
    }
  }
  return { frame, size, imageWidth: c.image.width, imageHeight: c.image.height, faceSize: c.faceSize, rgb, sd, landmarks: head.landmarks };
}

/** The sample's frame and landmarks only (no warp): cheap, for a refiner's accepts(). */
export function captureHead(c: CaptureInput, size = FRAME_SIZE): SampleHead {
  const frame = frameRoi(c.roi);
  const meshSize = c.meshSize ?? c.fieldSize;
  const toFrame = (mx: number, my: number): Point => {
    const p = cropToImage(c.roi, meshSize, mx, my);
    return imageToCrop(frame, size, p.x, p.y);
  };
  let landmarks = defaultLandmarks(size, (c.faceSize / frame.size) * size);
  const mesh = c.mesh;
  if (mesh && mesh.count > MESH.leftCheek) {
    const pick = (idx: readonly number[]): Point => {
      let x = 0;
      let y = 0;
      for (const i of idx) {
        x += mesh.points[i * 3];
        y += mesh.points[i * 3 + 1];
      }
      return toFrame(x / idx.length, y / idx.length);
    };
    landmarks = {
      rightEye: pick(MESH_LANDMARKS.rightEye),
      leftEye: pick(MESH_LANDMARKS.leftEye),
      nose: pick(MESH_LANDMARKS.nose),
      chin: pick(MESH_LANDMARKS.chin),
      rightCheek: pick(MESH_LANDMARKS.rightCheek),
      leftCheek: pick(MESH_LANDMARKS.leftCheek),
      forehead: pick(MESH_LANDMARKS.forehead),
    };
  }
  return { frame, size, faceSize: c.faceSize, landmarks };
}

/** Is the centre of frame pixel i inside the image? */
export function validMask(s: FaceSample): Uint8Array {
  const out = new Uint8Array(s.size * s.size);
  for (let v = 0; v < s.size; v++) {
    for (let u = 0; u < s.size; u++) {
      const p = cropToImage(s.frame, s.size, u + 0.5, v + 0.5);
      out[v * s.size + u] = p.x >= 0 && p.y >= 0 && p.x < s.imageWidth && p.y < s.imageHeight ? 1 : 0;
    }
  }
  return out;
}

