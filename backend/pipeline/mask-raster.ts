// Binary mask maths on small grids (crop space): polygons, hulls, holes,
// morphology. Pure functions over Uint8Array (0/1) and Float32Array.
import type { Point } from './types.js';
import { signedDistanceSides } from './distance-field.js';

// the distance fields live in distance-field.ts; re-exported so callers keep one import
export { distanceTransform, signedDistance, signedDistanceSides, squaredDistanceTransform } from './distance-field.js';

/** Monotone-chain convex hull, counter-clockwise in a y-down frame's maths sense. */
export function convexHull(points: readonly Point[]): Point[] {
  const pts = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}

/** Even-odd scanline fill of a polygon, sampled at pixel centres. */
export function fillPolygon(poly: readonly Point[], w: number, h: number, out: Uint8Array = new Uint8Array(w * h)): Uint8Array {
  const n = poly.length;
  if (n < 3) return out;
  const xs: number[] = [];
  for (let y = 0; y < h; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const a = poly[i];
      const b = poly[j];
      if ((a.y > cy) !== (b.y > cy)) xs.push(a.x + ((cy - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(xs[k] - 0.5));
      const x1 = Math.min(w - 1, Math.floor(xs[k + 1] - 0.5));
      for (let x = x0; x <= x1; x++) out[y * w + x] = 1;
    }
  }
  return out;
}

/** Fill a triangle (any winding) into `out`. */
export function fillTriangle(a: Point, b: Point, c: Point, w: number, h: number, out: Uint8Array): void {
  fillPolygon([a, b, c], w, h, out);
}

/** Disks of radius r around each point. */
export function rasterizeDisks(points: readonly Point[], r: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const r2 = r * r;
  for (const p of points) {
    const x0 = Math.max(0, Math.floor(p.x - r));
    const x1 = Math.min(w - 1, Math.ceil(p.x + r));
    const y0 = Math.max(0, Math.floor(p.y - r));
    const y1 = Math.min(h - 1, Math.ceil(p.y + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - p.x;
        const dy = y + 0.5 - p.y;
        if (dx * dx + dy * dy <= r2) out[y * w + x] = 1;
      }
    }
  }
  return out;
}

/** Columns x0..x1 and rows y0..y1 of a grid (inclusive). */
interface Span {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/**
 * Grow `out` from the pixels on `stack` (already set in `out`) over the
 * 4-connected pixels whose mask is set (`on`) or clear (!`on`), within `box`
 * of a w-wide grid. The stack must hold a pixel for every pixel of the box:
 * a pixel is pushed at most once.
 */
function flood(mask: Uint8Array, w: number, box: Span, on: boolean, out: Uint8Array, stack: Int32Array, top: number): void {
  const first = (box.y0 + 1) * w;
  const last = box.y1 * w;
  while (top > 0) {
    const i = stack[--top];
    const x = i % w;
    // left, right, up, down; written out, as this runs for every pixel of a face
    let j = i - 1;
    if (x > box.x0 && !out[j] && (mask[j] !== 0) === on) {
      out[j] = 1;
      stack[top++] = j;
    }
    j = i + 1;
    if (x < box.x1 && !out[j] && (mask[j] !== 0) === on) {
      out[j] = 1;
      stack[top++] = j;
    }
    j = i - w;
    if (i >= first && !out[j] && (mask[j] !== 0) === on) {
      out[j] = 1;
      stack[top++] = j;
    }
    j = i + w;
    if (i < last && !out[j] && (mask[j] !== 0) === on) {
      out[j] = 1;
      stack[top++] = j;
    }
  }
}

/** Bounds of the set pixels of a w x h mask; undefined when none is set. */
function setBounds(mask: Uint8Array, w: number, h: number): Span | undefined {
  const b = { x0: w, x1: -1, y0: h, y1: -1 };
  for (let y = 0; y < h; y++) {
    for (let x = 0, i = y * w; x < w; x++, i++) {
      if (!mask[i]) continue;
      b.x0 = Math.min(b.x0, x);
      b.x1 = Math.max(b.x1, x);
      b.y0 = Math.min(b.y0, y);
      b.y1 = y;
    }
  }
  return b.x1 < 0 ? undefined : b;
}

/** The pixels of `mask` 4-connected to a pixel where `seed(i)` holds (and mask is set). */
export function connectedTo(mask: Uint8Array, w: number, h: number, seed: (i: number) => boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let top = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] && seed(i)) {
      out[i] = 1;
      stack[top++] = i;
    }
  }
  flood(mask, w, { x0: 0, x1: w - 1, y0: 0, y1: h - 1 }, true, out, stack, top);
  return out;
}

/**
 * Fill every background component that does not touch the border. Beyond
 * the set pixels' bounds everything is background joined to the border, so
 * only the bounds grown by a pixel are flooded, from that box's frame.
 */
export function fillHoles(mask: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const set = setBounds(mask, w, h);
  if (!set) return out;
  const box = { x0: Math.max(0, set.x0 - 1), x1: Math.min(w - 1, set.x1 + 1), y0: Math.max(0, set.y0 - 1), y1: Math.min(h - 1, set.y1 + 1) };
  // the box's background reachable from its frame, flooded over the clear pixels of `mask` itself
  const outside = new Uint8Array(w * h);
  const stack = new Int32Array((box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1));
  let top = 0;
  const seed = (i: number): void => {
    if (!mask[i] && !outside[i]) {
      outside[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = box.x0; x <= box.x1; x++) {
    seed(box.y0 * w + x);
    seed(box.y1 * w + x);
  }
  for (let y = box.y0; y <= box.y1; y++) {
    seed(y * w + box.x0);
    seed(y * w + box.x1);
  }
  flood(mask, w, box, false, outside, stack, top);
  for (let y = box.y0; y <= box.y1; y++) {
    for (let i = y * w + box.x0; i <= y * w + box.x1; i++) out[i] = outside[i] ? 0 : 1;
  }
  return out;
}

/** Morphological grow (r > 0) or shrink (r < 0) by a Euclidean radius. */
export function morph(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  if (r === 0) return mask.slice();
  // a grow decides only clear pixels (set ones stay: sd > 0), a shrink only set ones (clear ones stay out: sd < 0)
  const sd = signedDistanceSides(mask, w, h, r > 0 ? 'outside' : 'inside');
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = sd[i] + r > 0 ? 1 : 0;
  return out;
}

/** Closing (grow then shrink) bridges gaps narrower than 2r. */
export function close(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return morph(morph(mask, w, h, r), w, h, -r);
}

/** Signed distance of an axis-aligned ellipse (approximate: exact on the axes). */
export function ellipseField(cx: number, cy: number, rx: number, ry: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const rmin = Math.min(rx, ry);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = (x + 0.5 - cx) / rx;
      const ny = (y + 0.5 - cy) / ry;
      out[y * w + x] = (1 - Math.hypot(nx, ny)) * rmin;
    }
  }
  return out;
}

export function countOn(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}
