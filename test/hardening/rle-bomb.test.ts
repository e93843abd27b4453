// Brush RLE from webhooks is untrusted: a header that announces 2^32-1 words
// must be refused before anything is allocated, and random bytes must give an
// RleError quickly, never another exception or a large allocation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeRle, decodeRleReference, maskToRle, RleError, rleToMask } from '../../backend/labelstudio/brush-rle.js';

/** A brush RLE header (num words, word size 8, run sizes 3,4,8,16) followed by `body`. */
function withHeader(num: number, body: number[] = []): number[] {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let b = n - 1; b >= 0; b--) bits.push(Math.floor(v / 2 ** b) & 1);
  };
  put(num, 32);
  put(7, 5);
  for (const s of [3, 4, 8, 16]) put(s - 1, 4);
  for (const v of body) put(v, 8);
  while (bits.length % 8) bits.push(0);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => a * 2 + b, 0));
  return out;
}

describe('brush RLE header bombs', () => {
  it('a 1 MB RLE announcing 2^32-1 words is refused in < 20 ms without allocating', () => {
    const rle = withHeader(0xffffffff, new Array(1024 * 1024).fill(0xff));
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) expect(() => rleToMask(rle, 640, 480)).toThrow(/holds 4294967295 bytes, expected 640x480x4/);
    expect(() => decodeRle(rle)).toThrow(/more than the .* allowed/);
    expect(performance.now() - t0).toBeLessThan(20 * 4);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 ** 2);
  });

  it('a block that runs past the announced size is an RleError', () => {
    // 1x1 mask = 4 words; one repeat block of 8 words (flag 1, class 0, len-1 = 7)
    const good = maskToRle([1], 1, 1);
    expect(Array.from(rleToMask(good, 1, 1))).toEqual([255]);
    const rle = withHeader(4);
    // header is 53 bits; rewrite from bit 53: 1 00 111 11111111
    const bits = '1' + '00' + '111' + '11111111';
    const all = rle.flatMap((b) => b.toString(2).padStart(8, '0').split('')).slice(0, 53).concat(bits.split(''));
    while (all.length % 8) all.push('0');
    const bytes: number[] = [];
    for (let i = 0; i < all.length; i += 8) bytes.push(parseInt(all.slice(i, i + 8).join(''), 2));
    expect(() => rleToMask(bytes, 1, 1)).toThrow(/runs past/);
  });

  it('a mask size that cannot be brush RLE is refused', () => {
    expect(() => rleToMask([0, 0, 0, 0, 0, 0, 0], 70000, 70000)).toThrow(RleError);
    expect(() => rleToMask([0, 0, 0, 0, 0, 0, 0], 0, 5)).toThrow(RleError);
  });

  it('random bytes: only RleError, within 50 ms each (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4000 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (bytes, w, h) => {
        const t0 = performance.now();
        try {
          const m = rleToMask(bytes, w, h);
          expect(m.length).toBe(w * h);
        } catch (err) {
          expect(err).toBeInstanceOf(RleError);
        }
        expect(performance.now() - t0).toBeLessThan(50);
      }),
      { numRuns: 300 },
    );
  });

  it('the bounded decoder agrees with @thi.ng/rle-pack on valid RLE', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 600 }), (bits) => {
        const rle = maskToRle(bits, bits.length, 1);
        expect(Array.from(decodeRle(rle))).toEqual(Array.from(decodeRleReference(rle)));
      }),
      { numRuns: 100 },
    );
  });
});
