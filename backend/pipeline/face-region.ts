// Face region in crop space from mesh landmarks, as a signed distance field
// (positive inside) so that paste-back can interpolate smooth edges.
import { close, convexHull, ellipseField, fillHoles, fillPolygon, rasterizeDisks, signedDistance } from './mask-raster.js';
import type { Point } from './types.js';

export type RegionMethod = 'hull' | 'disks';

export function meshPoints(points: Float32Array, count: number): Point[] {
  const out: Point[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = { x: points[i * 3], y: points[i * 3 + 1] };
  return out;
}

/** Median distance to the nearest other point: the mesh's local spacing. */
export function meshSpacing(pts: readonly Point[]): number {
  const step = Math.max(1, Math.floor(pts.length / 60));
  const d: number[] = [];
  for (let i = 0; i < pts.length; i += step) {
    let best = Infinity;
    for (let j = 0; j < pts.length; j++) {
      if (i === j) continue;
      const dd = Math.hypot(pts[i].x - pts[j].x, pts[i].y - pts[j].y);
      if (dd > 0 && dd < best) best = dd;
    }
    if (Number.isFinite(best)) d.push(best);
  }
  d.sort((a, b) => a - b);
  return d.length ? d[Math.floor(d.length / 2)] : 1;
}

/**
 * 'hull': convex hull of all points (robust, over-covers concave profiles).
 * 'disks': union of disks around the points, closed and hole-filled, which
 * follows the silhouette of a turned head instead of bridging past the nose.
 */
export function meshRegionField(pts: readonly Point[], size: number, method: RegionMethod): Float32Array {
  let mask: Uint8Array;
  if (method === 'hull') {
    mask = fillPolygon(convexHull(pts), size, size);
  } else {
    const s = meshSpacing(pts);
    const r = Math.max(1.5, 1.6 * s);
    mask = fillHoles(close(rasterizeDisks(pts, r, size, size), size, size, 2 * r), size, size);
    const field = signedDistance(mask, size, size);
    // the disks stick out by about r beyond the outermost points
    for (let i = 0; i < field.length; i++) field[i] -= r * 0.8;
    return field;
  }
  return signedDistance(mask, size, size);
}

/** Fallback face shape when landmarks are unreliable: an upright ellipse in the crop. */
export function fallbackField(size: number, roiScale: number): Float32Array {
  const face = size / roiScale;
  return ellipseField(size / 2, size / 2, face * 0.4, face * 0.5, size, size);
}

/** Field from a probability map (e.g. a face parser), edge at `threshold`. */
export function probabilityField(prob: Float32Array, w: number, h: number, threshold: number): Float32Array {
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = prob[i] >= threshold ? 1 : 0;
  return signedDistance(mask, w, h);
}
