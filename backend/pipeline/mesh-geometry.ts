// What the engine reads off a face mesh: where to re-centre the crop, the
// face's yaw, and the keypoints it reports. Pure functions.
import type { MeshResult } from './ports.js';
import { yawFromMesh } from './scoring.js';
import type { NamedKeypoint, Point } from './types.js';
import { cropToImage, type Roi } from './warp.js';
import { MESH } from './mesh-indices.js';

/** MediaPipe canonical mesh indices used for re-centring and keypoints. */

/** Within 5 % in place, 6 % in size and 3.5 degrees of roll: another mesh pass changes nothing measurable (looser limits lost a 60-degree profile on FASSEG). */
export function sameRoi(a: Roi, b: Roi): boolean {
  return (
    Math.hypot(a.center.x - b.center.x, a.center.y - b.center.y) < 0.05 * a.size &&
    Math.abs(a.size / b.size - 1) < 0.06 &&
    Math.abs(a.angle - b.angle) < 0.06
  );
}

/** Re-centre the crop on the landmarks: bounding box of the mesh, eye-line roll. `cropSize` is the mesh's crop side in pixels. */
export function roiFromMesh(roi: Roi, cropSize: number, mesh: MeshResult, roiScale: number): Roi {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const pts = mesh.points;
  for (let i = 0; i < mesh.count; i++) {
    const point = cropToImage(roi, cropSize, pts[i * 3], pts[i * 3 + 1]);
    minX = Math.min(minX, point.x);
    maxX = Math.max(maxX, point.x);
    minY = Math.min(minY, point.y);
    maxY = Math.max(maxY, point.y);
  }
  let angle = roi.angle;
  if (mesh.count > MESH.leftEyeOuter) {
    const right = cropToImage(roi, cropSize, pts[MESH.rightEyeOuter * 3], pts[MESH.rightEyeOuter * 3 + 1]);
    const left = cropToImage(roi, cropSize, pts[MESH.leftEyeOuter * 3], pts[MESH.leftEyeOuter * 3 + 1]);
    angle = Math.atan2(left.y - right.y, left.x - right.x);
  }
  // the axis-aligned extent of a rolled face overstates its size
  const ext = Math.max(maxX - minX, maxY - minY) / (Math.abs(Math.cos(angle - roi.angle)) + Math.abs(Math.sin(angle - roi.angle)) * 0.5);
  return { center: { x: (minX + maxX) / 2, y: (minY + maxY) / 2 }, size: Math.max(8, ext * roiScale), angle };
}

/** 0 frontal .. 1 profile: the cheek-to-cheek line's angle out of the image plane. */
export function meshYaw(mesh: MeshResult): number | undefined {
  if (mesh.count <= MESH.leftCheek) return undefined;
  const right = MESH.rightCheek * 3;
  const left = MESH.leftCheek * 3;
  return yawFromMesh(mesh.points[left] - mesh.points[right], mesh.points[left + 2] - mesh.points[right + 2]);
}

/** Nose and eye keypoints (image pixels) of a mesh found in the crop `roi` of side `cropSize`. */
export function meshKeypoints(mesh: MeshResult, roi: Roi, cropSize: number): NamedKeypoint[] {
  if (mesh.count <= MESH.leftCheek) return [];
  const at = (index: number): Point => cropToImage(roi, cropSize, mesh.points[index * 3], mesh.points[index * 3 + 1]);
  const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
  const score = mesh.faceScore;
  // the face mesh has no ear points (234/454 lie on the cheek contour): ears come from the keypoint model only
  return [
    { name: 'nose', ...at(MESH.noseTip), score },
    { name: 'left_eye', ...mid(at(MESH.leftEyeOuter), at(MESH.leftEyeInner)), score },
    { name: 'right_eye', ...mid(at(MESH.rightEyeOuter), at(MESH.rightEyeInner)), score },
  ];
}
