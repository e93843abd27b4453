// Storage form of face samples and of the labelers' masks in their frames:
// compact, deflated, base64 (they live inside the learning store's JSON).
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { FaceSample, FrameLandmarks } from '../pipeline/face-sample.js';
import { cropToImage, type Roi } from '../pipeline/warp.js';
import type { BitMask } from './masks.js';

/** Signed distance quantum (face sizes) of the stored engine mask. */
const SD_QUANTUM = 0.01;

/**
 * A full-image mask seen in the frame: share of 2x2 sub-samples per frame
 * pixel that are on (0..1). `ignoreBelowRow` (image row) marks pixels below it
 * as don't-care (-1), e.g. the neck in FASSEG's labels.
 */
export function targetInFrame(s: FaceSample, mask: BitMask, ignoreBelowRow = Infinity): Float32Array {
  const out = new Float32Array(s.size * s.size);
  for (let v = 0; v < s.size; v++) {
    for (let u = 0; u < s.size; u++) {
      const centre = cropToImage(s.frame, s.size, u + 0.5, v + 0.5);
      if (centre.y >= ignoreBelowRow) {
        out[v * s.size + u] = -1;
        continue;
      }
      let on = 0;
      for (let k = 0; k < 4; k++) {
        const p = cropToImage(s.frame, s.size, u + 0.25 + 0.5 * (k & 1), v + 0.25 + 0.5 * (k >> 1));
        const x = Math.floor(p.x) - mask.x;
        const y = Math.floor(p.y) - mask.y;
        if (x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x]) on++;
      }
      out[v * s.size + u] = on / 4;
    }
  }
  return out;
}

// ---- encoding: base64(deflate(header length, header JSON, rgb, sd as int8)) ----

interface SampleHeader {
  v: 1;
  frame: Roi;
  size: number;
  w: number;
  h: number;
  faceSize: number;
  landmarks: FrameLandmarks;
}

export function encodeSample(s: FaceSample): string {
  const header: SampleHeader = { v: 1, frame: s.frame, size: s.size, w: s.imageWidth, h: s.imageHeight, faceSize: s.faceSize, landmarks: s.landmarks };
  const head = Buffer.from(JSON.stringify(header));
  const n = s.size * s.size;
  const buf = Buffer.alloc(4 + head.length + n * 3 + n);
  buf.writeUInt32BE(head.length, 0);
  head.copy(buf, 4);
  buf.set(s.rgb, 4 + head.length);
  const off = 4 + head.length + n * 3;
  for (let i = 0; i < n; i++) buf.writeInt8(Math.max(-127, Math.min(127, Math.round(s.sd[i] / SD_QUANTUM))), off + i);
  return deflateRawSync(buf).toString('base64');
}

/** Decoded size is bounded: a sample claims at most a 256 x 256 frame. */
export function decodeSample(text: string): FaceSample {
  const buf = inflate(text, 4 + 65536 + 256 * 256 * 4, 'face sample');
  const len = buf.readUInt32BE(0);
  if (len > 65536 || 4 + len > buf.length) throw new Error('face sample: bad header');
  const h = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as SampleHeader;
  const n = h.size * h.size;
  if (h.v !== 1 || !Number.isInteger(h.size) || h.size < 8 || h.size > 256 || buf.length !== 4 + len + n * 4) throw new Error('face sample: bad size');
  const rgb = new Uint8Array(buf.subarray(4 + len, 4 + len + n * 3));
  const sd = new Float32Array(n);
  const off = 4 + len + n * 3;
  for (let i = 0; i < n; i++) sd[i] = buf.readInt8(off + i) * SD_QUANTUM;
  return { frame: h.frame, size: h.size, imageWidth: h.w, imageHeight: h.h, faceSize: h.faceSize, rgb, sd, landmarks: h.landmarks };
}

/** Targets (0..1, -1 = don't care) as bytes 0..200, 255 = don't care. */
export function encodeTarget(t: Float32Array): string {
  const b = Buffer.alloc(t.length);
  for (let i = 0; i < t.length; i++) b[i] = t[i] < 0 ? 255 : Math.round(t[i] * 200);
  return deflateRawSync(b).toString('base64');
}

export function decodeTarget(text: string, size: number): Float32Array {
  const b = inflate(text, size * size, 'face target');
  if (b.length !== size * size) throw new Error('face target: size differs from its sample');
  const t = new Float32Array(b.length);
  for (let i = 0; i < b.length; i++) t[i] = b[i] === 255 ? -1 : b[i] / 200;
  return t;
}

/** Inflate at most `max` bytes; anything larger or damaged is an error that names the record. */
function inflate(text: string, max: number, what: string): Buffer {
  try {
    return inflateRawSync(Buffer.from(text, 'base64'), { maxOutputLength: max });
  } catch (err) {
    throw new Error(`${what}: damaged or larger than its size (${(err as Error).message})`);
  }
}
