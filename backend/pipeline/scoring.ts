// Scores that rank how likely a labeler is to change a task (lower = check
// first). Measured by `faceseg eval` (AUROC of 1 - score for "the task needs a
// fix"); the constants were set on the tuning split named there.
import { clamp } from '../util/num.js';
import type { Box, FaceSource, RgbImage } from './types.js';

export interface FaceEvidence {
  meshScore: number;
  /** Smaller side of the face box, pixels. */
  faceSize: number;
  /** Mean luma 0..255 inside the face box. */
  luminance: number;
  /** Luma standard deviation inside the face box: flat = little detail for the mesh. */
  contrast?: number;
  source: FaceSource;
  detectorScore: number;
  poseScore: number;
  imageEdge: boolean;
  /** 0 frontal .. 1 full profile (yaw angle / 90 degrees, from the mesh). */
  yaw?: number;
}

export function faceScore(e: FaceEvidence): number {
  const size = clamp((e.faceSize - 10) / 50, 0.25, 1); // tiny faces: coarse masks
  const light = clamp((e.luminance - 15) / 50, 0.4, 1); // dark faces: weak evidence
  const detail = e.contrast === undefined ? 1 : clamp((e.contrast - 6) / 20, 0.5, 1);
  const agree =
    e.source === 'fused' ? 1 : e.source === 'detector' ? 0.75 + 0.2 * e.detectorScore : e.source === 'click' ? 0.85 : 0.65 + 0.2 * e.poseScore;
  const edge = e.imageEdge ? 0.7 : 1; // cut-off faces are often partial
  // profiles: the mesh misses the ear and the jaw behind the cheek
  const turned = e.yaw === undefined ? 1 : 1 - 0.3 * clamp((e.yaw - 0.35) / 0.2, 0, 1);
  return clamp(e.meshScore * size * light * detail * agree * edge * turned, 0, 1);
}

/** Whole-image exposure: mean and spread of luma, 0..255. */
export interface ImageStats {
  luminance: number;
  contrast: number;
}

export interface ImageEvidence {
  faceScores: number[];
  /** People the keypoint model saw whose head got no face (backs of heads, faces it could not segment). */
  unexplainedPeople: number;
  /** Head candidates the face mesh rejected, each with how strongly a source believed in it (0..1). */
  rejected: number[];
  stats: ImageStats;
}

/** 0.2 (black or flat) .. 1 (well exposed): how well a camera-like model can see anything. */
export function exposure(s: ImageStats): number {
  return clamp((s.luminance - 12) / 60, 0.2, 1) * clamp((s.contrast - 8) / 30, 0.35, 1);
}

/**
 * An image is as uncertain as its worst face; people without a face and
 * rejected head candidates pull it down; an image with no face is only as
 * sure as the photo is easy to see ("found nothing, but there may be people").
 */
export function imageScore(e: ImageEvidence): number {
  const exp = exposure(e.stats);
  const base = e.faceScores.length ? Math.min(...e.faceScores) * (0.3 + 0.7 * exp) : 0.85 * exp * exp;
  const people = Math.pow(0.55, e.unexplainedPeople);
  const doubts = e.rejected.reduce((a, s) => a * (1 - 0.4 * clamp(s, 0, 1)), 1);
  return clamp(base * people * doubts, 0, 1);
}

/** Mean luma and its standard deviation inside a box, on a grid of at most ~32x32 samples. */
export function regionStats(img: RgbImage, b: Box): ImageStats {
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const x1 = Math.min(img.width, Math.ceil(b.x + b.width));
  const y1 = Math.min(img.height, Math.ceil(b.y + b.height));
  const step = Math.max(1, Math.floor(Math.min(x1 - x0, y1 - y0) / 32));
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const o = (y * img.width + x) * 3;
      const l = 0.299 * img.data[o] + 0.587 * img.data[o + 1] + 0.114 * img.data[o + 2];
      sum += l;
      sq += l * l;
      n++;
    }
  }
  if (n === 0) return { luminance: 0, contrast: 0 };
  const mean = sum / n;
  return { luminance: mean, contrast: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}

/**
 * Head yaw, 0 frontal .. 1 full profile, from the two cheek contour points of
 * the mesh: the angle of the line between them out of the image plane
 * (x and depth z share the mesh's pixel scale).
 */
export function yawFromMesh(dx: number, dz: number): number {
  if (Math.abs(dx) < 1e-6 && Math.abs(dz) < 1e-6) return 1;
  return clamp(Math.atan2(Math.abs(dz), Math.abs(dx)) / (Math.PI / 2), 0, 1);
}
