// Label Studio brush RLE: the format the frontend decodes with @thi.ng/rle-pack.
//
// A mask is expanded to RGBA (W*H*4 bytes, every channel 255 on the face, 0
// elsewhere) and packed as: 32-bit word count, 5 bits wordSize-1 (7), four
// 4-bit run-length field sizes minus one (3,4,8,16 bits -> 2,3,7,15), then
// blocks of [1 flag bit (1 = repeat, 0 = literal), 2-bit size class,
// len-1 in that class's bits, one word (repeat) or len words (literal)].
//
// Two encoders live here:
// - encodeRle(words): any word sequence, through @thi.ng/rle-pack itself, with
//   a guard for its known bug (a final run of k*65536+1 words loses its last
//   word); the guarded case falls back to encodeRuns.
// - maskToRle(mask, w, h): the fast path for masks. Every run of an expanded
//   mask is a multiple of 4 words long, so rle-pack writes only repeat blocks
//   (split at 65536 words); we write the same blocks straight from the pixel
//   runs without materialising the 4x array. Tests check byte equality with
//   rle-pack on random masks.
import { decodeBinary, encodeBinary, type RLESizes } from '@thi.ng/rle-pack';
import type { RegionMask } from '../pipeline/types.js';
import { regionRuns } from './region-runs.js';

export const RLE_WORD_SIZE = 8;
export const RLE_SIZES: RLESizes = [3, 4, 8, 16];
/** Longest run one block can hold (2^16). */
const MAX_BLOCK = 1 << RLE_SIZES[3];
/** Alpha at or above this is face when painting soft masks. */
export const MASK_ON = 128;

export class RleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RleError';
  }
}

/** MSB-first bit writer with a growable byte buffer. */
class BitWriter {
  private buf: Uint8Array;
  private pos = 0; // byte index
  private bit = 8; // free bits left in buf[pos]

  constructor(capacity = 64) {
    this.buf = new Uint8Array(Math.max(8, capacity));
  }

  write(value: number, bits: number): void {
    // values here never exceed 32 bits
    for (let b = bits - 1; b >= 0; ) {
      if (this.pos >= this.buf.length - 1) this.grow();
      const take = Math.min(this.bit, b + 1);
      const shift = b + 1 - take;
      const chunk = Math.floor(value / 2 ** shift) & ((1 << take) - 1);
      this.bit -= take;
      this.buf[this.pos] |= chunk << this.bit;
      if (this.bit === 0) {
        this.pos++;
        this.bit = 8;
      }
      b -= take;
    }
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.bit === 8 ? this.pos : this.pos + 1);
  }
}

function sizeClass(n: number): number {
  return n < 1 << RLE_SIZES[0] ? 0 : n < 1 << RLE_SIZES[1] ? 1 : n < 1 << RLE_SIZES[2] ? 2 : 3;
}

function writeHeader(out: BitWriter, num: number): void {
  out.write(num, 32);
  out.write(RLE_WORD_SIZE - 1, 5);
  for (const s of RLE_SIZES) out.write(s - 1, 4);
}

function writeRepeat(out: BitWriter, length: number, value: number): void {
  const t = sizeClass(length - 1);
  out.write(1, 1);
  out.write(t, 2);
  out.write(length - 1, RLE_SIZES[t]);
  out.write(value, RLE_WORD_SIZE);
}

function writeLiteral(out: BitWriter, words: number[]): void {
  const t = sizeClass(words.length - 1);
  out.write(0, 1);
  out.write(t, 2);
  out.write(words.length - 1, RLE_SIZES[t]);
  for (const w of words) out.write(w, RLE_WORD_SIZE);
}

/**
 * Encode a list of (length, value) runs. Runs of 2+ words become repeat blocks
 * (split at 65536); consecutive single words are grouped into literal blocks.
 * For runs that are all 2+ long (every expanded mask) the bytes equal
 * @thi.ng/rle-pack's.
 */
export function encodeRuns(runs: Iterable<readonly [length: number, value: number]>, num: number): Uint8Array {
  const out = new BitWriter(64);
  writeHeader(out, num);
  const literal: number[] = [];
  const flush = () => {
    while (literal.length) writeLiteral(out, literal.splice(0, MAX_BLOCK));
  };
  let total = 0;
  for (const [length, value] of runs) {
    if (length <= 0) continue;
    total += length;
    if (length === 1) {
      literal.push(value);
      continue;
    }
    flush();
    let left = length;
    while (left > MAX_BLOCK) {
      writeRepeat(out, MAX_BLOCK, value);
      left -= MAX_BLOCK;
    }
    writeRepeat(out, left, value);
  }
  flush();
  if (total !== num) throw new RleError(`runs hold ${total} words, header says ${num}`);
  return out.bytes();
}

/** Maximal runs of equal values in a word array. */
export function* wordRuns(words: ArrayLike<number>): Generator<[number, number]> {
  let i = 0;
  while (i < words.length) {
    const v = words[i];
    let j = i + 1;
    while (j < words.length && words[j] === v) j++;
    yield [j - i, v];
    i = j;
  }
}

/** True when @thi.ng/rle-pack's encoder would drop the final word of `words`. */
export function hitsFinalRunBug(words: ArrayLike<number>): boolean {
  const n = words.length;
  if (n < MAX_BLOCK + 1) return false;
  const last = words[n - 1];
  let run = 1;
  for (let i = n - 2; i >= 0 && words[i] === last; i--) run++;
  return run > 1 && (run - 1) % MAX_BLOCK === 0;
}

/** Encode 8-bit words with @thi.ng/rle-pack (guarded against its final-run bug). */
export function encodeRle(words: ArrayLike<number>): number[] {
  if (words.length === 0) throw new RleError('cannot encode an empty mask');
  const bytes = hitsFinalRunBug(words)
    ? encodeRuns(wordRuns(words), words.length)
    : encodeBinary(words as Iterable<number> & ArrayLike<number>, words.length, RLE_WORD_SIZE, RLE_SIZES);
  return Array.from(bytes);
}

/** Most words decodeRle materialises unless the caller allows more (the header is untrusted). */
export const MAX_RLE_WORDS = 64 * 1024 ** 2;

/** MSB-first bit reader that throws RleError past the end of its input. */
class BitReader {
  private byte = 0;
  private bit = 0; // bits of src[byte] already read

  constructor(private readonly src: ArrayLike<number>) {}

  read(bits: number): number {
    let v = 0;
    while (bits > 0) {
      if (this.byte >= this.src.length) throw new RleError('RLE is truncated: it ends inside a block');
      const avail = 8 - this.bit;
      const take = Math.min(avail, bits);
      const chunk = ((this.src[this.byte] & 255) >> (avail - take)) & ((1 << take) - 1);
      v = v * 2 ** take + chunk;
      this.bit += take;
      if (this.bit === 8) {
        this.byte++;
        this.bit = 0;
      }
      bits -= take;
    }
    return v;
  }
}

interface RleHeader {
  num: number;
  sizes: number[];
}

function readHeader(r: BitReader, length: number): RleHeader {
  if (length < 7) throw new RleError('RLE is shorter than its header');
  const num = r.read(32);
  const wordSize = r.read(5) + 1;
  if (wordSize !== RLE_WORD_SIZE) throw new RleError(`RLE word size is ${wordSize}, expected 8`);
  const sizes = [r.read(4) + 1, r.read(4) + 1, r.read(4) + 1, r.read(4) + 1];
  return { num, sizes };
}

/**
 * Walk the blocks of an RLE whose header was checked, calling `put` for each
 * word. A block that runs past `num` throws, so the work is bounded by num.
 */
function walkBlocks(r: BitReader, h: RleHeader, repeat: (from: number, to: number, value: number) => void, literal: (at: number, value: number) => void): void {
  for (let i = 0; i < h.num; ) {
    const isRepeat = r.read(1);
    const j = i + 1 + r.read(h.sizes[r.read(2)]);
    if (j > h.num) throw new RleError(`RLE block runs past the ${h.num} words its header announces`);
    if (isRepeat) repeat(i, j, r.read(RLE_WORD_SIZE));
    else for (; i < j; i++) literal(i, r.read(RLE_WORD_SIZE));
    i = j;
  }
}

/**
 * Decode Label Studio brush RLE to its words (RGBA bytes for a brush mask).
 * The header's word count is checked against `maxWords` before anything is
 * allocated.
 */
export function decodeRle(rle: ArrayLike<number>, maxWords = MAX_RLE_WORDS): Uint8Array {
  const r = new BitReader(rle);
  const h = readHeader(r, rle.length);
  if (h.num > maxWords) throw new RleError(`RLE header announces ${h.num} words, more than the ${maxWords} allowed`);
  const out = new Uint8Array(h.num);
  walkBlocks(
    r,
    h,
    (from, to, v) => out.fill(v, from, to),
    (at, v) => (out[at] = v),
  );
  return out;
}

/** Decode Label Studio brush RLE to its words with @thi.ng/rle-pack (tests compare the two). */
export function decodeRleReference(rle: ArrayLike<number>): Uint8Array {
  return decodeBinary(Uint8Array.from(rle)) as Uint8Array;
}

function checkMaskSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) throw new RleError(`bad mask size ${width}x${height}`);
}

const regionList = (regions: RegionMask | readonly RegionMask[]): readonly RegionMask[] => (Array.isArray(regions) ? regions : [regions as RegionMask]);

/**
 * Pack a binary mask of width*height pixels (non-zero = face, or alpha >= 128
 * when `threshold` is given) as brush RLE of the expanded RGBA image.
 */
export function maskToRle(mask: ArrayLike<number>, width: number, height: number, threshold = 1): number[] {
  const n = width * height;
  checkMaskSize(width, height);
  if (mask.length !== n) throw new RleError(`mask has ${mask.length} values, expected ${width}x${height}=${n}`);
  function* runs(): Generator<[number, number]> {
    let i = 0;
    while (i < n) {
      const on = mask[i] >= threshold;
      let j = i + 1;
      while (j < n && mask[j] >= threshold === on) j++;
      yield [(j - i) * 4, on ? 255 : 0];
      i = j;
    }
  }
  return Array.from(encodeRuns(runs(), n * 4));
}

/**
 * Paint the region masks of one face into a full-image binary mask (255 where
 * the region's alpha >= 128, 0 elsewhere); parts outside the image are clipped.
 */
export function paintRegions(regions: RegionMask | readonly RegionMask[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (const r of regionList(regions)) {
    const x0 = Math.max(0, r.x);
    const y0 = Math.max(0, r.y);
    const x1 = Math.min(width, r.x + r.width);
    const y1 = Math.min(height, r.y + r.height);
    for (let y = y0; y < y1; y++) {
      const src = (y - r.y) * r.width - r.x;
      const dst = y * width;
      for (let x = x0; x < x1; x++) if (r.data[src + x] >= MASK_ON) out[dst + x] = 255;
    }
  }
  return out;
}

/** Expand a one-value-per-pixel binary mask to RGBA (every channel 255 on the face). */
export function maskToRgba(mask: ArrayLike<number>, threshold = 1): Uint8Array {
  const out = new Uint8Array(mask.length * 4);
  for (let i = 0; i < mask.length; i++) if (mask[i] >= threshold) out.fill(255, i * 4, i * 4 + 4);
  return out;
}

/** Paint region masks of one face into W*H*4 RGBA bytes (255 where alpha >= 128). */
export function regionsToRgba(regions: RegionMask | readonly RegionMask[], width: number, height: number): Uint8Array {
  return maskToRgba(paintRegions(regions, width, height));
}

/** Brush RLE for one face's region mask(s) on a width x height image (the runs read from the regions, no full-image mask). */
export function regionsToRle(regions: RegionMask | readonly RegionMask[], width: number, height: number): number[] {
  checkMaskSize(width, height);
  const runs = regionRuns(regionList(regions), width, height, MASK_ON).map(([length, on]): [number, number] => [length * 4, on ? 255 : 0]);
  return Array.from(encodeRuns(runs, width * height * 4));
}

/**
 * Decode brush RLE back to a width*height mask (the alpha channel: 255 = face).
 * The RLE is untrusted (webhooks): its header must announce exactly
 * width*height*4 words before anything is allocated, and only the alpha words
 * are kept (width*height bytes, not the 4x RGBA image).
 */
export function rleToMask(rle: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
    throw new RleError(`bad mask size ${width}x${height}`);
  }
  const expected = width * height * 4;
  if (expected > 0xffffffff) throw new RleError(`a ${width}x${height} mask does not fit brush RLE`);
  const r = new BitReader(rle);
  const h = readHeader(r, rle.length);
  if (h.num !== expected) throw new RleError(`RLE holds ${h.num} bytes, expected ${width}x${height}x4=${expected}`);
  const out = new Uint8Array(width * height);
  walkBlocks(
    r,
    h,
    (from, to, v) => {
      // alpha is every 4th word, starting at index 3
      for (let k = from + ((3 - (from & 3)) & 3); k < to; k += 4) out[k >>> 2] = v;
    },
    (at, v) => {
      if ((at & 3) === 3) out[at >>> 2] = v;
    },
  );
  return out;
}
