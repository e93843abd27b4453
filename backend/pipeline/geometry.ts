// Pure geometry: boxes, the seed head-box rule, body-based scale, merging.
import type { Box, Point, ScoredPoint } from './types.js';

export function boxArea(b: Box): number {
  return Math.max(0, b.width) * Math.max(0, b.height);
}

export function intersection(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
}

export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Share of the smaller box covered by the other: catches a box inside a bigger one. */
export function overlapOfSmaller(a: Box, b: Box): number {
  const small = Math.min(boxArea(a), boxArea(b));
  return small > 0 ? intersection(a, b) / small : 0;
}

export function boxCenter(b: Box): Point {
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

export function squareBox(center: Point, radius: number): Box {
  return { x: center.x - radius, y: center.y - radius, width: 2 * radius, height: 2 * radius };
}

export function clipBox(b: Box, width: number, height: number): Box {
  const x0 = Math.max(0, Math.min(width, b.x));
  const y0 = Math.max(0, Math.min(height, b.y));
  const x1 = Math.max(0, Math.min(width, b.x + b.width));
  const y1 = Math.max(0, Math.min(height, b.y + b.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export function mean(points: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}

export function maxPairwiseDistance(points: readonly Point[]): number {
  let d = 0;
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) d = Math.max(d, distance(points[i], points[j]));
  }
  return d;
}

export interface SeedRule {
  /** radius = k * largest pairwise distance of the visible head keypoints */
  k: number;
  minRadius: number;
  threshold: number;
}

export const SEED_RULE: SeedRule = { k: 3, minRadius: 20, threshold: 0.3 };

/**
 * The original system's head box: centre = mean of the visible head keypoints,
 * square "radius" = k * their largest pairwise distance, at least minRadius.
 * Returns null when no head keypoint passes the threshold.
 */
export function seedHeadBox(head: readonly ScoredPoint[], rule: SeedRule = SEED_RULE): Box | null {
  const visible = head.filter((p) => p.score >= rule.threshold);
  if (visible.length === 0) return null;
  const radius = Math.max(rule.minRadius, rule.k * maxPairwiseDistance(visible));
  return squareBox(mean(visible), radius);
}

/** COCO-17 indices. */
export const COCO = {
  nose: 0,
  leftEye: 1,
  rightEye: 2,
  leftEar: 3,
  rightEar: 4,
  leftShoulder: 5,
  rightShoulder: 6,
} as const;

/**
 * Head size (ear-to-ear width, in pixels) estimated from whatever is visible.
 * Ratios are anthropometric averages: ear-to-ear ~ 0.45 x shoulder width,
 * eye-to-eye ~ 0.45 x ear-to-ear. Returns null when nothing gives a scale.
 */
export function headWidthEstimate(kp: readonly ScoredPoint[], threshold: number): number | null {
  const ok = (i: number): boolean => kp[i] !== undefined && kp[i].score >= threshold;
  const cands: number[] = [];
  if (ok(COCO.leftEar) && ok(COCO.rightEar)) cands.push(distance(kp[COCO.leftEar], kp[COCO.rightEar]));
  if (ok(COCO.leftEye) && ok(COCO.rightEye)) cands.push(distance(kp[COCO.leftEye], kp[COCO.rightEye]) / 0.45);
  // One side visible (profile): ear to eye spans about half the head width.
  for (const [ear, eye] of [
    [COCO.leftEar, COCO.leftEye],
    [COCO.rightEar, COCO.rightEye],
  ] as const) {
    if (ok(ear) && ok(eye)) cands.push(distance(kp[ear], kp[eye]) / 0.5);
    if (ok(ear) && ok(COCO.nose)) cands.push(distance(kp[ear], kp[COCO.nose]) / 0.65);
  }
  if (cands.length > 0) return Math.max(...cands);
  if (ok(COCO.leftShoulder) && ok(COCO.rightShoulder)) {
    return 0.45 * distance(kp[COCO.leftShoulder], kp[COCO.rightShoulder]);
  }
  return null;
}

/**
 * Head box from body keypoints that stays sane with a single visible head
 * keypoint: the centre is the mean of the visible head keypoints and the size
 * comes from headWidthEstimate (falling back to the seed rule).
 */
export function headBoxFromPose(kp: readonly ScoredPoint[], threshold: number, rule: SeedRule): Box | null {
  const head = kp.slice(0, 5).filter((p) => p.score >= threshold);
  if (head.length === 0) return null;
  const width = headWidthEstimate(kp, threshold);
  if (width === null) return seedHeadBox(kp.slice(0, 5), { ...rule, threshold });
  // A head is about 1.25 x as tall as wide; a square of 1.3 x height holds it with margin.
  const radius = Math.max(rule.minRadius, (width * 1.25 * 1.3) / 2);
  return squareBox(mean(head), radius);
}

export interface Candidate<T> {
  box: Box;
  score: number;
  payload: T;
}

/**
 * Greedy non-maximum suppression. `same` decides whether two boxes are one
 * object; the higher-scoring one survives and absorbs the other.
 */
export function suppress<T>(
  cands: readonly Candidate<T>[],
  same: (a: Box, b: Box) => boolean,
): { kept: Candidate<T>; absorbed: Candidate<T>[] }[] {
  const order = [...cands].sort((a, b) => b.score - a.score);
  const groups: { kept: Candidate<T>; absorbed: Candidate<T>[] }[] = [];
  for (const c of order) {
    const g = groups.find((gr) => same(gr.kept.box, c.box));
    if (g) g.absorbed.push(c);
    else groups.push({ kept: c, absorbed: [] });
  }
  return groups;
}

/** Whether `p` lies in `b` (edges included). */
export function boxContains(b: Box, p: Point): boolean {
  return p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height;
}

/** `b` grown by the share `f` of its size, about its centre. */
export function expandBox(b: Box, f: number): Box {
  return { x: b.x - (b.width * f) / 2, y: b.y - (b.height * f) / 2, width: b.width * (1 + f), height: b.height * (1 + f) };
}

/** Whether `b` reaches within a pixel of the edge of a w x h image. */
export function touchesEdge(b: Box, w: number, h: number): boolean {
  return b.x <= 1 || b.y <= 1 || b.x + b.width >= w - 1 || b.y + b.height >= h - 1;
}
