// Pure pixel operations shared by the model adapters and the pipeline:
// resampling RGB images and packing them into model input tensors.
import { bilinearGrid } from './bilinear-grid.js';
import type { Box, RgbImage } from './types.js';

/**
 * Average kx x ky blocks of the image (block grid anchored at 0,0) over the
 * block columns [bx0, bx1) and rows [by0, by1); pixels past the image edge
 * repeat the edge. Block (i, j) of the result is block (bx0 + i, by0 + j).
 */
function reduceBlocks(img: RgbImage, kx: number, ky: number, bx0: number, bx1: number, by0: number, by1: number): RgbImage {
  const { width: w, height: h, data } = img;
  const ow = bx1 - bx0;
  const oh = by1 - by0;
  const out = new Uint8Array(ow * oh * 3);
  const row = new Float64Array(ow * 3);
  const inv = 1 / (kx * ky);
  for (let j = 0; j < oh; j++) {
    row.fill(0);
    for (let dy = 0; dy < ky; dy++) {
      const y = Math.min(h - 1, (by0 + j) * ky + dy);
      const base = y * w * 3;
      for (let i = 0; i < ow; i++) {
        const xs = (bx0 + i) * kx;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let dx = 0; dx < kx; dx++) {
          const k = base + Math.min(w - 1, xs + dx) * 3;
          r += data[k];
          g += data[k + 1];
          b += data[k + 2];
        }
        row[3 * i] += r;
        row[3 * i + 1] += g;
        row[3 * i + 2] += b;
      }
    }
    for (let i = 0; i < ow * 3; i++) out[j * ow * 3 + i] = Math.round(row[i] * inv);
  }
  return { width: ow, height: oh, data: out };
}

/**
 * Resample the region `src` (image pixels; may extend past the image, where
 * pixels read as 0 = black) to an outW x outH image. Bilinear; when shrinking
 * by 2x or more the covered part of the image is first box-averaged by the
 * integer factor, and a remaining shrink above 1.5x averages 2 x 2 bilinear
 * samples, so that small outputs do not alias.
 */
export function cropResize(img: RgbImage, src: Box, outW: number, outH: number): RgbImage {
  if (!(outW > 0 && outH > 0) || !Number.isInteger(outW) || !Number.isInteger(outH)) {
    throw new RangeError(`cropResize: output size must be positive integers, got ${outW}x${outH}`);
  }
  if (!(src.width > 0 && src.height > 0)) throw new RangeError('cropResize: source box must have a positive size');
  let sx = src.width / outW;
  let sy = src.height / outH;
  let source = img;
  let ox = src.x;
  let oy = src.y;
  let limW = img.width;
  let limH = img.height;
  const kx = sx >= 2 ? Math.floor(sx) : 1;
  const ky = sy >= 2 ? Math.floor(sy) : 1;
  if (kx > 1 || ky > 1) {
    // block range covering the region (plus one block of margin for bilinear taps), clamped to the image
    const bx0 = Math.max(0, Math.floor(src.x / kx) - 1);
    const by0 = Math.max(0, Math.floor(src.y / ky) - 1);
    const bx1 = Math.min(Math.ceil(img.width / kx), Math.ceil((src.x + src.width) / kx) + 1);
    const by1 = Math.min(Math.ceil(img.height / ky), Math.ceil((src.y + src.height) / ky) + 1);
    if (bx1 <= bx0 || by1 <= by0) return { width: outW, height: outH, data: new Uint8Array(outW * outH * 3) };
    source = reduceBlocks(img, kx, ky, bx0, bx1, by0, by1);
    // reduced coords: x' = x / kx - bx0; the image area ends at width / kx
    ox = src.x / kx - bx0;
    oy = src.y / ky - by0;
    limW = img.width / kx - bx0;
    limH = img.height / ky - by0;
    sx /= kx;
    sy /= ky;
  }
  return bilinearGrid(source, { ox, oy, sx, sy, limW, limH, outW, outH, nx: sx > 1.5 ? 2 : 1, ny: sy > 1.5 ? 2 : 1 });
}

/** Resize the whole image (bilinear, anti-aliased when shrinking). */
export function resizeRgb(img: RgbImage, outW: number, outH: number): RgbImage {
  if (outW === img.width && outH === img.height) return img;
  return cropResize(img, { x: 0, y: 0, width: img.width, height: img.height }, outW, outH);
}

/** Where a letterboxed image sits inside the model input, to map results back. */
export interface Letterbox {
  /** The model input image (contentW x contentH of the source at top-left, rest 0). */
  image: RgbImage;
  /** input pixels per source pixel, horizontally and vertically */
  scaleX: number;
  scaleY: number;
  contentW: number;
  contentH: number;
}

/**
 * Scale so that the longest side equals `longest` (never enlarging past it)
 * and pad right/bottom with black to multiples of `multiple`. Source pixel
 * (x, y) lands at (x * scaleX, y * scaleY) in the result.
 */
export function letterbox(img: RgbImage, longest: number, multiple: number, square = false): Letterbox {
  const { contentW, contentH, width, height } = letterboxSize(img, longest, multiple, square);
  // Sample the source so that exactly contentW x contentH input pixels are covered.
  return letterboxOf(img, resizeRgb(img, contentW, contentH), width, height);
}

/**
 * The letterbox's sizes: the scaled content, and the padded input (multiples
 * of `multiple`; with `square`, longest x longest rounded up to one, so every
 * image gets the same input shape: CUDA, where a session whose input shape
 * changes stalls for seconds, see FaceLandmarkOptions.fixedBatch).
 */
export function letterboxSize(img: RgbImage, longest: number, multiple: number, square = false): { contentW: number; contentH: number; width: number; height: number } {
  const scale = longest / Math.max(img.width, img.height);
  const contentW = Math.max(1, Math.round(img.width * scale));
  const contentH = Math.max(1, Math.round(img.height * scale));
  const pad = (n: number): number => Math.ceil(n / multiple) * multiple;
  return square ? { contentW, contentH, width: pad(longest), height: pad(longest) } : { contentW, contentH, width: pad(contentW), height: pad(contentH) };
}

/** A letterbox of `img` from its resized content: the content at top-left of a width x height input, black right and below. */
export function letterboxOf(img: RgbImage, content: RgbImage, width: number, height: number): Letterbox {
  const { width: contentW, height: contentH } = content;
  const scaleX = contentW / img.width;
  const scaleY = contentH / img.height;
  if (width === contentW && height === contentH) return { image: content, scaleX, scaleY, contentW, contentH };
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < contentH; y++) {
    data.set(content.data.subarray(y * contentW * 3, (y + 1) * contentW * 3), y * width * 3);
  }
  return { image: { width, height, data }, scaleX, scaleY, contentW, contentH };
}

export type TensorLayout = 'NCHW' | 'NHWC';
export type ChannelOrder = 'RGB' | 'BGR';

export interface TensorPacking {
  layout: TensorLayout;
  channelOrder: ChannelOrder;
  /** Multiplies the 0..255 pixel value first (e.g. 1/255). Default 1. */
  scale?: number;
  /** Subtracted after scaling, per tensor channel (in `channelOrder`). Default 0. */
  mean?: readonly [number, number, number] | readonly number[];
  /** Divides after the mean, per tensor channel (in `channelOrder`). Default 1. */
  std?: readonly [number, number, number] | readonly number[];
}

/**
 * Pack images of identical size into one float tensor buffer, batch-major:
 * value = (pixel * scale - mean[c]) / std[c], with c the tensor channel.
 */
export function packFloatTensor(imgs: readonly RgbImage[], p: TensorPacking, out?: Float32Array): Float32Array {
  if (imgs.length === 0) return out ?? new Float32Array(0);
  const { width: w, height: h } = imgs[0];
  const n = w * h;
  const total = imgs.length * n * 3;
  const buf = out ?? new Float32Array(total);
  if (buf.length < total) throw new RangeError('packFloatTensor: output buffer too small');
  const scale = p.scale ?? 1;
  const mean = p.mean ?? [0, 0, 0];
  const std = p.std ?? [1, 1, 1];
  // tensor channel c reads source channel src[c]
  const src = p.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mul = [0, 1, 2].map((c) => scale / std[c]);
  const add = [0, 1, 2].map((c) => -mean[c] / std[c]);
  // hoisted to locals: per-element reads of the arrays above cost ~40 % of the loop
  const [s0, s1, s2] = src;
  const [m0, m1, m2] = mul;
  const [a0, a1, a2] = add;
  // raw 0..255 values (the face detector's packing): value * 1 + 0 is the value itself, exactly
  const raw = m0 === 1 && m1 === 1 && m2 === 1 && a0 === 0 && a1 === 0 && a2 === 0;
  for (let b = 0; b < imgs.length; b++) {
    const img = imgs[b];
    if (img.width !== w || img.height !== h) throw new RangeError('packFloatTensor: all images must have the same size');
    const d = img.data;
    const base = b * n * 3;
    if (p.layout === 'NHWC') {
      for (let i = 0, s = 0, o = base; i < n; i++, s += 3, o += 3) {
        buf[o] = d[s + s0] * m0 + a0;
        buf[o + 1] = d[s + s1] * m1 + a1;
        buf[o + 2] = d[s + s2] * m2 + a2;
      }
    } else {
      // one pass over the pixels, writing the three planes (three strided passes read the image 3 times)
      const p0 = buf.subarray(base, base + n);
      const p1 = buf.subarray(base + n, base + 2 * n);
      const p2 = buf.subarray(base + 2 * n, base + 3 * n);
      if (raw) {
        for (let i = 0, s = 0; i < n; i++, s += 3) {
          p0[i] = d[s + s0];
          p1[i] = d[s + s1];
          p2[i] = d[s + s2];
        }
      } else {
        for (let i = 0, s = 0; i < n; i++, s += 3) {
          p0[i] = d[s + s0] * m0 + a0;
          p1[i] = d[s + s1] * m1 + a1;
          p2[i] = d[s + s2] * m2 + a2;
        }
      }
    }
  }
  return buf;
}

/** One image as a float tensor buffer (see packFloatTensor). */
export function toFloatTensorData(img: RgbImage, p: TensorPacking): Float32Array {
  return packFloatTensor([img], p);
}

/** One image as an int32 NHWC tensor buffer of raw 0..255 values (MoveNet). */
export function toInt32Nhwc(img: RgbImage): Int32Array {
  return Int32Array.from(img.data);
}
