// Rotated square crops and their inverse (paste-back). Pure functions.
import { tightenMask } from './mask-ops.js';
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
  for (let v = 0; v < outSize; v++) {
    for (let u = 0; u < outSize; u++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ty = 0; ty < taps; ty++) {
        for (let tx = 0; tx < taps; tx++) {
          const cu = u + (tx + 0.5) / taps;
          const cv = v + (ty + 0.5) / taps;
          // image pixel centres sit at integer + 0.5
          const x = ox + cu * ux + cv * vx;
          const y = oy + cu * uy + cv * vy;
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
      out[o] = Math.round(r * inv);
      out[o + 1] = Math.round(g * inv);
      out[o + 2] = Math.round(b * inv);
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

/**
 * Paste a signed-distance field computed in crop space (positive inside, in
 * crop pixels) back into the image as an anti-aliased alpha mask. Interpolating
 * the distance rather than a binary mask gives smooth edges at any scale.
 * `grow` moves the edge outwards by that many image pixels (negative shrinks).
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
  const data = new Uint8Array(w * h);
  const scale = roi.size / fieldSize; // image px per crop px
  // imageToCrop is affine: step along rows and columns instead of calling it per pixel
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  const k = fieldSize / roi.size;
  const p0 = imageToCrop(roi, fieldSize, x0 + 0.5, y0 + 0.5);
  for (let y = 0; y < h; y++) {
    let px = p0.x + s * k * y;
    let py = p0.y + c * k * y;
    for (let x = 0; x < w; x++) {
      const d = sampleField(field, fieldSize, fieldSize, px, py, -1e6) * scale + grow;
      const a = Math.min(1, Math.max(0, d + 0.5));
      data[y * w + x] = Math.round(a * 255);
      px += c * k;
      py -= s * k;
    }
  }
  return tightenMask({ x: x0, y: y0, width: w, height: h, data });
}
