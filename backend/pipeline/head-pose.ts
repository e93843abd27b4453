// Head yaw from face-mesh landmarks: how far the nose tip sits from the
// midpoint of the two cheek contour points, relative to half their distance.
// The mesh keeps its topology on a profile (the far cheek folds behind the
// nose), so the ratio grows monotonically with yaw. Also the zones colour
// refinement must keep (beard, eyes and brows). Pure.
import { fillPolygon } from './mask-raster.js';
import { FACE_OVAL, MESH } from './mesh-indices.js';

/**
 * Signed yaw proxy in [-2, 2]: 0 frontal, about 0.5 at 30 degrees, 1 at 45,
 * 1.5 and beyond at 60-90 (FASSEG multipose, tune split); the sign is the
 * side the nose points to in the crop. 0 when the mesh lacks the points.
 */
export function meshYawRatio(points: Float32Array, count: number): number {
  if (count <= MESH.leftCheek) return 0;
  const nx = points[MESH.noseTip * 3];
  const rx = points[MESH.rightCheek * 3];
  const lx = points[MESH.leftCheek * 3];
  const half = Math.abs(lx - rx) / 2;
  const ry = points[MESH.rightCheek * 3 + 1];
  const ly = points[MESH.leftCheek * 3 + 1];
  const ny = points[MESH.noseTip * 3 + 1];
  // the cheek-to-nose depth stands in for half the face width when the cheeks fold together
  const scale = Math.max(half, 0.5 * Math.hypot(nx - (lx + rx) / 2, ny - (ly + ry) / 2), 1e-6);
  const r = (nx - (lx + rx) / 2) / scale;
  return Math.max(-2, Math.min(2, r));
}


/**
 * Where a beard grows, as a size x size crop mask: inside the face oval (the
 * jaw line, not the convex hull, which on a profile bridges past the lips
 * into the background) and below the nose. Null without a full mesh.
 */
export function beardZone(points: Float32Array, count: number, size: number): Uint8Array | undefined {
  if (count <= MESH.leftCheek) return undefined;
  const ring = FACE_OVAL.map((i) => ({ x: points[i * 3], y: points[i * 3 + 1] }));
  const zone = fillPolygon(ring, size, size);
  const top = Math.max(0, Math.ceil(points[MESH.subnasale * 3 + 1]));
  zone.fill(0, 0, Math.min(zone.length, top * size));
  return zone;
}

const EYE_OUTER = [MESH.rightEyeOuter, MESH.leftEyeOuter] as const;
const BROW_TOP = [MESH.rightBrowTop, MESH.leftBrowTop] as const;

/**
 * The eyes and brows, as a size x size crop mask: the upright rectangle
 * between the outer eye corners, from the brows down to below the nose.
 * Colour must never cut it out: a dark iris or brow can match the hair
 * sampled just outside the face, which cut the eye out of frontal masks.
 * Undefined without a full mesh.
 */
export function eyeZone(points: Float32Array, count: number, size: number): Uint8Array | undefined {
  if (count <= MESH.leftCheek) return undefined;
  const xs = EYE_OUTER.map((i) => points[i * 3]);
  const top = Math.max(0, Math.floor(Math.min(...BROW_TOP.map((i) => points[i * 3 + 1]))));
  const bottom = Math.min(size - 1, Math.ceil(points[MESH.subnasale * 3 + 1]));
  const left = Math.max(0, Math.floor(Math.min(...xs)));
  const right = Math.min(size - 1, Math.ceil(Math.max(...xs)));
  const zone = new Uint8Array(size * size);
  for (let y = top; y <= bottom; y++) zone.fill(1, y * size + left, y * size + right + 1);
  return zone;
}

/** Pixels colour refinement must keep: the eye zone, and the beard zone when beards count as face. */
export function protectedZone(points: Float32Array, count: number, size: number, beard: boolean): Uint8Array | undefined {
  const eyes = eyeZone(points, count, size);
  const chin = beard ? beardZone(points, count, size) : undefined;
  if (!eyes || !chin) return eyes ?? chin;
  for (let i = 0; i < eyes.length; i++) eyes[i] |= chin[i];
  return eyes;
}
