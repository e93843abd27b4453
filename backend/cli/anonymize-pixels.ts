// The pixels of `faceseg anonymize`: the feathered face alpha and the blurred,
// pixelated or black replacement blended in under it. Pure functions of
// pixels and faces, apart from sharp's blur.
import sharp from 'sharp';
import { squaredDistanceTransform } from '../pipeline/mask-raster.js';
import type { Face, RegionMask, RgbImage } from '../pipeline/types.js';
import { unionInto } from '../pipeline/mask-ops.js';

export type ReplaceMode = 'blur' | 'pixelate' | 'solid';

/** Squared distance of every pixel to the nearest `on` pixel (Infinity when none). */
export function squaredDistance(on: Uint8Array, width: number, height: number): Float64Array {
  return squaredDistanceTransform(on, width, height);
}

/**
 * The replacement weight (0..255) around all faces: 255 inside the masks
 * grown by `dilate` px, falling linearly to 0 over `feather` px outside.
 * Covers only the rectangle that needs it; undefined when there is nothing.
 */
export function faceAlpha(faces: readonly Face[], width: number, height: number, dilate: number, feather: number, threshold = 128): RegionMask | undefined {
  const masks = faces.map((f) => f.mask).filter((m) => m.width > 0 && m.height > 0);
  if (masks.length === 0) return undefined;
  const reach = Math.ceil(Math.max(0, dilate) + Math.max(0, feather)) + 1;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const m of masks) {
    x0 = Math.min(x0, m.x);
    y0 = Math.min(y0, m.y);
    x1 = Math.max(x1, m.x + m.width);
    y1 = Math.max(y1, m.y + m.height);
  }
  x0 = Math.max(0, Math.floor(x0) - reach);
  y0 = Math.max(0, Math.floor(y0) - reach);
  x1 = Math.min(width, Math.ceil(x1) + reach);
  y1 = Math.min(height, Math.ceil(y1) + reach);
  const w = x1 - x0;
  const h = y1 - y0;
  if (w <= 0 || h <= 0) return undefined;
  // union of the masks in this window, then thresholded (max >= threshold: some face covers the pixel)
  const on = unionInto(masks, { x: x0, y: y0, width: w, height: h });
  let any = false;
  for (let i = 0; i < on.length; i++) {
    on[i] = on[i]! >= threshold ? 1 : 0;
    any ||= on[i] === 1;
  }
  if (!any) return undefined;
  const d2 = squaredDistance(on, w, h);
  const data = new Uint8Array(w * h);
  const grow = Math.max(0, dilate);
  const soft = Math.max(0, feather);
  for (let i = 0; i < data.length; i++) {
    if (d2[i] === 0) {
      data[i] = 255;
      continue;
    }
    const dist = Math.sqrt(d2[i]);
    if (dist <= grow) data[i] = 255;
    else if (soft > 0 && dist < grow + soft) data[i] = Math.round(255 * (1 - (dist - grow) / soft));
  }
  return { x: x0, y: y0, width: w, height: h, data };
}

/** Largest face side in pixels (sets the blur strength and pixel block size). */
function faceSize(faces: readonly Face[]): number {
  return Math.max(1, ...faces.map((f) => Math.max(f.box.width, f.box.height)));
}

export interface Pixels {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) */
  channels: number;
  data: Uint8Array;
}

/** The replacement pixels (RGB, crop-sized) for the alpha rectangle. */
async function replacement(img: Pixels, a: RegionMask, mode: ReplaceMode, size: number): Promise<Uint8Array> {
  if (mode === 'solid') return new Uint8Array(a.width * a.height * 3); // black
  return mode === 'blur' ? blurred(img, a, size) : pixelated(img, a, size);
}

/** A gaussian blur of strength set by the face size. */
async function blurred(img: Pixels, a: RegionMask, size: number): Promise<Uint8Array> {
  const { width: W, channels: C } = img;
  const out = new Uint8Array(a.width * a.height * 3);
  const sigma = Math.max(3, size / 8);
  // blur a margin around the crop too, so the edge of the crop is not biased
  const m = Math.ceil(sigma * 3);
  const bx0 = Math.max(0, a.x - m);
  const by0 = Math.max(0, a.y - m);
  const bx1 = Math.min(img.width, a.x + a.width + m);
  const by1 = Math.min(img.height, a.y + a.height + m);
  const bw = bx1 - bx0;
  const bh = by1 - by0;
  const crop = Buffer.alloc(bw * bh * 3);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const s = ((by0 + y) * W + bx0 + x) * C;
      const t = (y * bw + x) * 3;
      crop[t] = img.data[s];
      crop[t + 1] = img.data[s + 1];
      crop[t + 2] = img.data[s + 2];
    }
  }
  const blur = await sharp(crop, { raw: { width: bw, height: bh, channels: 3 } }).blur(sigma).raw().toBuffer();
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const s = ((a.y + y - by0) * bw + a.x + x - bx0) * 3;
      const t = (y * a.width + x) * 3;
      out[t] = blur[s];
      out[t + 1] = blur[s + 1];
      out[t + 2] = blur[s + 2];
    }
  }
  return out;
}

/** Block means on a grid anchored at the image origin (block size set by the face size). */
function pixelated(img: Pixels, a: RegionMask, size: number): Uint8Array {
  const out = new Uint8Array(a.width * a.height * 3);
  const block = Math.max(4, Math.round(size / 6));
  const gx0 = Math.floor(a.x / block) * block;
  const gy0 = Math.floor(a.y / block) * block;
  for (let by = gy0; by < a.y + a.height; by += block) {
    for (let bx = gx0; bx < a.x + a.width; bx += block) {
      const xe = Math.min(img.width, bx + block);
      const ye = Math.min(img.height, by + block);
      const [r, g, b] = blockMean(img, bx, by, xe, ye);
      for (let y = Math.max(by, a.y); y < Math.min(ye, a.y + a.height); y++) {
        for (let x = Math.max(bx, a.x); x < Math.min(xe, a.x + a.width); x++) {
          const t = ((y - a.y) * a.width + x - a.x) * 3;
          out[t] = r;
          out[t + 1] = g;
          out[t + 2] = b;
        }
      }
    }
  }
  return out;
}

/** The rounded mean RGB of the pixels in [x0, x1) x [y0, y1). */
function blockMean(img: Pixels, x0: number, y0: number, x1: number, y1: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const s = (y * img.width + x) * img.channels;
      r += img.data[s];
      g += img.data[s + 1];
      b += img.data[s + 2];
      n++;
    }
  }
  return [Math.round(r / n), Math.round(g / n), Math.round(b / n)];
}

/** Replace the faces in `img` (a copy is returned): soft blend of the replacement with the feathered mask. Alpha channels are kept. */
export async function anonymizePixels(img: Pixels, faces: readonly Face[], mode: ReplaceMode, dilate: number, feather: number): Promise<Uint8Array> {
  const out = new Uint8Array(img.data);
  const a = faceAlpha(faces, img.width, img.height, dilate, feather);
  if (!a) return out;
  const rep = await replacement(img, a, mode, faceSize(faces));
  const C = img.channels;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const w = a.data[y * a.width + x];
      if (w === 0) continue;
      const s = ((a.y + y) * img.width + a.x + x) * C;
      const t = (y * a.width + x) * 3;
      for (let c = 0; c < 3; c++) out[s + c] = Math.round((img.data[s + c] * (255 - w) + rep[t + c] * w) / 255);
    }
  }
  return out;
}

/** The binary mask image (255 = face, grown by `dilate`, half of the feather). */
export function binaryFaceMask(faces: readonly Face[], width: number, height: number, dilate: number, feather: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const a = faceAlpha(faces, width, height, dilate, feather);
  if (!a) return out;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) if (a.data[y * a.width + x] >= 128) out[(a.y + y) * width + a.x + x] = 255;
  }
  return out;
}

/** RGB for the engine: an alpha channel is composited over white. */
export function toRgb(p: Pixels): RgbImage {
  if (p.channels === 3) return { width: p.width, height: p.height, data: p.data };
  const out = new Uint8Array(p.width * p.height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    const a = p.data[i + 3];
    for (let c = 0; c < 3; c++) out[j + c] = Math.round((p.data[i + c] * a + 255 * (255 - a)) / 255);
  }
  return { width: p.width, height: p.height, data: out };
}
