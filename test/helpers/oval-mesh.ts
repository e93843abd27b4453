// A synthetic 468-point face mesh for tests: every point at the centre, the
// FACE_OVAL ring on an ellipse (forehead 10 at the top, then clockwise in
// image terms, chin 152 at the bottom). Tests place the other points they need.
import { FACE_OVAL } from '../../backend/pipeline/mesh-indices.js';

export function ovalMesh(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const p = new Float32Array(468 * 3);
  for (let i = 0; i < 468; i++) {
    p[i * 3] = cx;
    p[i * 3 + 1] = cy;
  }
  FACE_OVAL.forEach((idx, k) => {
    const a = -Math.PI / 2 + (k / FACE_OVAL.length) * 2 * Math.PI;
    p[idx * 3] = cx + rx * Math.cos(a);
    p[idx * 3 + 1] = cy + ry * Math.sin(a);
  });
  return p;
}
