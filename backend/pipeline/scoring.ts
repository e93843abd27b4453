// Scores that rank how likely a labeler is to change a mask (lower = check first).
import type { Box, FaceSource, RgbImage } from './types.js';

export interface FaceEvidence {
  meshScore: number;
  /** Smaller side of the face box, pixels. */
  faceSize: number;
  /** Mean luma 0..255 inside the face box. */
  luminance: number;
  source: FaceSource;
  detectorScore: number;
  poseScore: number;
  imageEdge: boolean;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export function faceScore(e: FaceEvidence): number {
  const size = clamp((e.faceSize - 10) / 50, 0.25, 1); // tiny faces: coarse masks
  const light = clamp((e.luminance - 15) / 50, 0.4, 1); // dark faces: weak evidence
  const agree =
    e.source === 'fused' ? 1 : e.source === 'detector' ? 0.75 + 0.2 * e.detectorScore : e.source === 'click' ? 0.85 : 0.65 + 0.2 * e.poseScore;
  const edge = e.imageEdge ? 0.85 : 1; // cut-off faces are often partial
  return clamp(e.meshScore * size * light * agree * edge, 0, 1);
}

/** An image is as uncertain as its worst face; heads without a face pull it down. */
export function imageScore(faceScores: number[], unexplainedHeads: number): number {
  const worst = faceScores.length ? Math.min(...faceScores) : 0.9;
  return clamp(worst * Math.pow(0.6, unexplainedHeads), 0, 1);
}

export function meanLuminance(img: RgbImage, b: Box): number {
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const x1 = Math.min(img.width, Math.ceil(b.x + b.width));
  const y1 = Math.min(img.height, Math.ceil(b.y + b.height));
  const step = Math.max(1, Math.floor(Math.min(x1 - x0, y1 - y0) / 32));
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const o = (y * img.width + x) * 3;
      sum += 0.299 * img.data[o] + 0.587 * img.data[o + 1] + 0.114 * img.data[o + 2];
      n++;
    }
  }
  return n ? sum / n : 0;
}
