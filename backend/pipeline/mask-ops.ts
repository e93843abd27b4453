// Rectangle-confined masks: bounding boxes and unions. The one place these
// scans live; the engine, the learning code, the CLI and eval all use them.
import type { Box, RegionMask } from './types.js';

/** A mask confined to a rectangle of an image; `data` holds width*height values. */
export interface RectMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Bounding box, in the grid's own pixels, of the values >= `threshold` in a width x height grid; undefined when none. */
export function onBounds(data: Uint8Array, width: number, height: number, threshold: number): Box | undefined {
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] >= threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return undefined;
  return { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/** Image box of a mask's pixels >= threshold (default: half alpha); empty box at the mask's corner when none. */
export function maskBox(m: RegionMask, threshold = 128): Box {
  const b = onBounds(m.data, m.width, m.height, threshold);
  if (!b) return { x: m.x, y: m.y, width: 0, height: 0 };
  return { x: m.x + b.x, y: m.y + b.y, width: b.width, height: b.height };
}

/** The window `b` (grid pixels) of a width-wide grid, copied out row by row. */
export function cutWindow(data: Uint8Array, width: number, b: Box): Uint8Array {
  const out = new Uint8Array(b.width * b.height);
  for (let y = 0; y < b.height; y++) {
    const src = (b.y + y) * width + b.x;
    out.set(data.subarray(src, src + b.width), y * b.width);
  }
  return out;
}

/** Crop a RegionMask to the bounding box of its non-zero pixels. */
export function tightenMask(m: RegionMask): RegionMask {
  const b = onBounds(m.data, m.width, m.height, 1);
  if (!b) return { x: m.x, y: m.y, width: 0, height: 0, data: new Uint8Array(0) };
  return { x: m.x + b.x, y: m.y + b.y, width: b.width, height: b.height, data: cutWindow(m.data, m.width, b) };
}

/** Union (max of values) of masks into the frame `frame` (image pixels); parts outside the frame are dropped. */
export function unionInto(masks: readonly RectMask[], frame: Box): Uint8Array {
  const { x: fx, y: fy, width, height } = frame;
  const out = new Uint8Array(width * height);
  for (const m of masks) {
    for (let y = 0; y < m.height; y++) {
      const iy = m.y + y - fy;
      if (iy < 0 || iy >= height) continue;
      for (let x = 0; x < m.width; x++) {
        const ix = m.x + x - fx;
        if (ix < 0 || ix >= width) continue;
        const v = m.data[y * m.width + x];
        const o = iy * width + ix;
        if (v > out[o]) out[o] = v;
      }
    }
  }
  return out;
}

/** Union of region masks (max of alpha) into a full-image W*H mask. */
export function unionMask(masks: readonly RectMask[], width: number, height: number): Uint8Array {
  return unionInto(masks, { x: 0, y: 0, width, height });
}

/** All faces of a result as one full-image mask: 255 where any face's alpha is at least half, else 0. */
export function binaryUnion(result: { width: number; height: number; faces: readonly { mask: RectMask }[] }): Uint8Array {
  const u = unionMask(
    result.faces.map((f) => f.mask),
    result.width,
    result.height,
  );
  for (let i = 0; i < u.length; i++) u[i] = u[i] >= 128 ? 255 : 0;
  return u;
}
