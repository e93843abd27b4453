// Rotated square crops and their inverse (paste-back). Pure functions.
import { roundHalfUp } from '../util/num.js';
import { cutWindow } from './mask-ops.js';
import type { Box, Point, RegionMask, RgbImage } from './types.js';

/** A square region of interest, rotated by `angle` radians (clockwise in image space). */
export interface Roi {
  center: Point;
  /** Side length in image pixels. */
  size: number;
  angle: number;
}

/** Crop pixel (u, v) centre -> image coordinates. */
export function cropToImage(roi: Roi, outSize: number, u: number, v: number): Point {
  const dx = (u / outSize - 0.5) * roi.size;
  const dy = (v / outSize - 0.5) * roi.size;
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  return { x: roi.center.x + c * dx - s * dy, y: roi.center.y + s * dx + c * dy };
}

/** Image coordinates -> crop coordinates (continuous, 0..outSize across the crop). */
export function imageToCrop(roi: Roi, outSize: number, x: number, y: number): Point {
  const ex = x - roi.center.x;
  const ey = y - roi.center.y;
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  const dx = c * ex + s * ey;
  const dy = -s * ex + c * ey;
  return { x: (dx / roi.size + 0.5) * outSize, y: (dy / roi.size + 0.5) * outSize };
}

/** Axis-aligned bounds of the rotated ROI, in image pixels (not clipped). */
export function roiBounds(roi: Roi): Box {
  const h = roi.size / 2;
  const ext = h * (Math.abs(Math.cos(roi.angle)) + Math.abs(Math.sin(roi.angle)));
  return { x: roi.center.x - ext, y: roi.center.y - ext, width: 2 * ext, height: 2 * ext };
}

/** Image position of crop coordinate (u, v): origin (ox, oy) + u * (ux, uy) + v * (vx, vy); `taps` samples per axis. */
interface CropAxes {
  ux: number;
  uy: number;
  vx: number;
  vy: number;
  ox: number;
  oy: number;
  taps: number;
}

function cropAxes(roi: Roi, outSize: number): CropAxes {
  const step = roi.size / outSize;
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  const ux = c * step;
  const uy = s * step;
  const vx = -s * step;
  const vy = c * step;
  const ox = roi.center.x - 0.5 * (ux * outSize + vx * outSize) - 0.5;
  const oy = roi.center.y - 0.5 * (uy * outSize + vy * outSize) - 0.5;
  return { ux, uy, vx, vy, ox, oy, taps: step > 2 ? 2 : 1 };
}

/** cv * step for every tap row cv = v + (ty + 0.5) / taps of crop row v, into `out`. */
function rowTerms(v: number, step: number, taps: number, out: Float64Array): void {
  for (let ty = 0; ty < taps; ty++) out[ty] = (v + (ty + 0.5) / taps) * step;
}

/** origin + cu * step for every tap column cu = u + (tx + 0.5) / taps of an outSize-wide crop, in (u, tx) order. */
function columnTerms(origin: number, step: number, outSize: number, taps: number): Float64Array {
  const out = new Float64Array(outSize * taps);
  for (let u = 0; u < outSize; u++) {
    for (let tx = 0; tx < taps; tx++) out[u * taps + tx] = origin + (u + (tx + 0.5) / taps) * step;
  }
  return out;
}

/**
 * Bilinear crop of a rotated square ROI to outSize x outSize RGB; pixels
 * outside the image are black, as MediaPipe pads. When the ROI is much larger
 * than the output, sampling averages a 2x2 grid per pixel to limit aliasing.
 */
export function warpCrop(img: RgbImage, roi: Roi, outSize: number): RgbImage {
  const out = new Uint8Array(outSize * outSize * 3);
  const { width: W, height: H, data } = img;
  const { ux, uy, vx, vy, ox, oy, taps } = cropAxes(roi, outSize);
  const inv = 1 / (taps * taps);
  // the terms of a tap's position that depend on its column, and per row those on its row:
  // x = ox + cu * ux + cv * vx, summed in that order, as it was per tap
  const colX = columnTerms(ox, ux, outSize, taps);
  const colY = columnTerms(oy, uy, outSize, taps);
  const rowX = new Float64Array(taps);
  const rowY = new Float64Array(taps);
  for (let v = 0; v < outSize; v++) {
    rowTerms(v, vx, taps, rowX);
    rowTerms(v, vy, taps, rowY);
    for (let u = 0; u < outSize; u++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ty = 0; ty < taps; ty++) {
        for (let tx = 0; tx < taps; tx++) {
          // image pixel centres sit at integer + 0.5
          const x = colX[u * taps + tx] + rowX[ty];
          const y = colY[u * taps + tx] + rowY[ty];
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
            // all four neighbours inside: the common case, no per-tap checks
            const o = (y0 * W + x0) * 3;
            const o2 = o + W * 3;
            const w00 = (1 - fx) * (1 - fy);
            const w10 = fx * (1 - fy);
            const w01 = (1 - fx) * fy;
            const w11 = fx * fy;
            r += w00 * data[o] + w10 * data[o + 3] + w01 * data[o2] + w11 * data[o2 + 3];
            g += w00 * data[o + 1] + w10 * data[o + 4] + w01 * data[o2 + 1] + w11 * data[o2 + 4];
            b += w00 * data[o + 2] + w10 * data[o + 5] + w01 * data[o2 + 2] + w11 * data[o2 + 5];
            continue;
          }
          for (let k = 0; k < 4; k++) {
            const xi = x0 + (k & 1);
            const yi = y0 + (k >> 1);
            if (xi < 0 || yi < 0 || xi >= W || yi >= H) continue;
            const w = (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy);
            const o = (yi * W + xi) * 3;
            r += w * data[o];
            g += w * data[o + 1];
            b += w * data[o + 2];
          }
        }
      }
      const o = (v * outSize + u) * 3;
      out[o] = roundHalfUp(r * inv);
      out[o + 1] = roundHalfUp(g * inv);
      out[o + 2] = roundHalfUp(b * inv);
    }
  }
  return { width: outSize, height: outSize, data: out };
}

/** Bilinear sample of a float field; outside -> `outside`. Coordinates are pixel-centre based. */
export function sampleField(field: Float32Array, w: number, h: number, x: number, y: number, outside: number): number {
  const fx0 = x - 0.5;
  const fy0 = y - 0.5;
  const x0 = Math.floor(fx0);
  const y0 = Math.floor(fy0);
  const fx = fx0 - x0;
  const fy = fy0 - y0;
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
    // all four taps inside (then so is the point): the loop below without clamps, same terms in the same order
    const i = y0 * w + x0;
    return 0 + (1 - fx) * (1 - fy) * field[i] + fx * (1 - fy) * field[i + 1] + (1 - fx) * fy * field[i + w] + fx * fy * field[i + w + 1];
  }
  let acc = 0;
  for (let k = 0; k < 4; k++) {
    const xi = Math.min(w - 1, Math.max(0, x0 + (k & 1)));
    const yi = Math.min(h - 1, Math.max(0, y0 + (k >> 1)));
    const wt = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
    acc += wt * field[yi * w + xi];
  }
  if (x < 0 || y < 0 || x > w || y > h) return outside;
  return acc;
}

/** Field pixels at or above this (after scale and grow) may paint a non-zero alpha; the margin covers rounding. */
const LIVE_MARGIN = 0.01;

/**
 * The part of the paste window (image pixels, relative to its corner) whose
 * alpha can be non-zero: the image footprint of the field's live pixels
 * (those that can paint alpha >= 1), widened by the bilinear taps and a
 * pixel of margin. A pixel outside it samples only dead neighbours, so it
 * would paint 0. Undefined when no field pixel is live.
 */
function liveWindow(field: Float32Array, fieldSize: number, roi: Roi, grow: number, win: Box): Box | undefined {
  const scale = roi.size / fieldSize;
  const n = fieldSize;
  let minU = n;
  let maxU = -1;
  let minV = n;
  let maxV = -1;
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      if (!(field[v * n + u] * scale + grow + 0.5 > -LIVE_MARGIN)) continue;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
  }
  if (maxU < 0) return undefined;
  // a sample at crop x reads columns floor(x - 0.5) and the next: live ones for x in [minU - 0.5, maxU + 1.5)
  const corners = [
    cropToImage(roi, n, minU - 1.5, minV - 1.5),
    cropToImage(roi, n, maxU + 2.5, minV - 1.5),
    cropToImage(roi, n, minU - 1.5, maxV + 2.5),
    cropToImage(roi, n, maxU + 2.5, maxV + 2.5),
  ];
  // image pixel X has its centre at X + 0.5
  const xa = Math.max(0, Math.floor(Math.min(...corners.map((c) => c.x)) - 0.5) - 1 - win.x);
  const xb = Math.min(win.width, Math.ceil(Math.max(...corners.map((c) => c.x)) - 0.5) + 2 - win.x);
  const ya = Math.max(0, Math.floor(Math.min(...corners.map((c) => c.y)) - 0.5) - 1 - win.y);
  const yb = Math.min(win.height, Math.ceil(Math.max(...corners.map((c) => c.y)) - 0.5) + 2 - win.y);
  if (xb <= xa || yb <= ya) return undefined;
  return { x: xa, y: ya, width: xb - xa, height: yb - ya };
}

/**
 * Cells (u, v) of a field whose four corners (u..u+1, v..v+1) are all at
 * least `depth`: 1, else 0. A bilinear sample between those corners is a
 * weighted mean with non-negative weights summing to 1 (to a few ulps), so it
 * is at least `depth` too, less a few ulps of it. pasteDistanceField asks for
 * depth * scale + grow = 1: a sample there pastes to d + 0.5 >= 1.5 - ulps,
 * clamped to alpha 1, i.e. 255, with half a pixel of margin for the ulps.
 */
function solidCells(field: Float32Array, n: number, depth: number): Uint8Array {
  const solid = new Uint8Array(n * n);
  for (let v = 0; v + 1 < n; v++) {
    let left = field[v * n] >= depth && field[(v + 1) * n] >= depth;
    for (let u = 0; u + 1 < n; u++) {
      const i = v * n + u;
      const right = field[i + 1] >= depth && field[i + n + 1] >= depth;
      if (left && right) solid[i] = 1;
      left = right;
    }
  }
  return solid;
}

/** The pasted alpha at crop point (px, py): 255 without sampling where its four taps are all solid, as sampleField's value would give. */
function fieldAlpha(field: Float32Array, n: number, solid: Uint8Array, px: number, py: number, scale: number, grow: number): number {
  const tx = Math.floor(px - 0.5);
  const ty = Math.floor(py - 0.5);
  if (tx >= 0 && ty >= 0 && tx + 1 < n && ty + 1 < n && solid[ty * n + tx] === 1) return 255;
  const d = sampleField(field, n, n, px, py, -1e6) * scale + grow;
  return Math.round(Math.min(1, Math.max(0, d + 0.5)) * 255);
}

/**
 * Paste a signed-distance field computed in crop space (positive inside, in
 * crop pixels) back into the image as an anti-aliased alpha mask. Interpolating
 * the distance rather than a binary mask gives smooth edges at any scale.
 * `grow` moves the edge outwards by that many image pixels (negative shrinks).
 * Only the ROI's part where the field can paint is sampled; the mask is
 * tightened to its non-zero pixels.
 */
export function pasteDistanceField(
  field: Float32Array,
  fieldSize: number,
  roi: Roi,
  imageWidth: number,
  imageHeight: number,
  grow = 0,
): RegionMask {
  const b = roiBounds(roi);
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const x1 = Math.min(imageWidth, Math.ceil(b.x + b.width));
  const y1 = Math.min(imageHeight, Math.ceil(b.y + b.height));
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const empty: RegionMask = { x: x0, y: y0, width: 0, height: 0, data: new Uint8Array(0) };
  const live = w > 0 && h > 0 ? liveWindow(field, fieldSize, roi, grow, { x: x0, y: y0, width: w, height: h }) : undefined;
  if (!live) return empty;
  const data = new Uint8Array(live.width * live.height);
  const scale = roi.size / fieldSize; // image px per crop px
  // imageToCrop is affine: step along rows and columns instead of calling it per pixel
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  const k = fieldSize / roi.size;
  const p0 = imageToCrop(roi, fieldSize, x0 + 0.5, y0 + 0.5);
  const n = fieldSize;
  const solid = solidCells(field, n, (1 - grow) / scale);
  // the non-zero pixels' bounds, kept while painting (no second scan to tighten the mask)
  const on = { minX: Infinity, maxX: -1, minY: Infinity, maxY: -1 };
  for (let y = live.y; y < live.y + live.height; y++) {
    let px = p0.x + s * k * y;
    let py = p0.y + c * k * y;
    // the same steps as from the row's start, so every sample sits where it would over the whole window
    for (let x = 0; x < live.x; x++) {
      px += c * k;
      py -= s * k;
    }
    const row = (y - live.y) * live.width - live.x;
    for (let x = live.x; x < live.x + live.width; x++) {
      const alpha = fieldAlpha(field, n, solid, px, py, scale, grow);
      data[row + x] = alpha;
      if (alpha > 0) {
        on.minX = Math.min(on.minX, x);
        on.maxX = Math.max(on.maxX, x);
        on.minY = Math.min(on.minY, y);
        on.maxY = y;
      }
      px += c * k;
      py -= s * k;
    }
  }
  if (on.maxY < 0) return empty;
  const tight = { x: on.minX - live.x, y: on.minY - live.y, width: on.maxX - on.minX + 1, height: on.maxY - on.minY + 1 };
  return { x: x0 + on.minX, y: y0 + on.minY, width: tight.width, height: tight.height, data: cutWindow(data, live.width, tight) };
}
