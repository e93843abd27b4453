// The two letterbox paths (pure JS in image-ops, libvips through sharp in
// letterbox-native) must put the same picture in the same place: the
// keypoint model and the detector get one or the other depending on the
// image's size. Same geometry exactly; pixels within a stated tolerance,
// as the two resamplers filter differently.
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { letterboxFast } from '../../backend/models/letterbox-native.js';
import { letterbox } from '../../backend/pipeline/image-ops.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ASTRONAUT, decode } from './fixtures.js';

let astro: RgbImage;
beforeAll(async () => {
  astro = await decode(ASTRONAUT);
});

async function stretched(w: number, h: number): Promise<RgbImage> {
  const { data, info } = await sharp(ASTRONAUT).removeAlpha().resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Mean and 99th percentile of the per-value absolute difference. */
function difference(a: RgbImage, b: RgbImage): { mean: number; p99: number } {
  const hist = new Uint32Array(256);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    hist[d]++;
    sum += d;
  }
  let seen = 0;
  let p99 = 0;
  while (p99 < 255 && (seen += hist[p99]) < 0.99 * a.data.length) p99++;
  return { mean: sum / a.data.length, p99 };
}

/**
 * Tolerances (0..255 levels), from the astronaut at the sizes the engine
 * uses: shrinking (photo -> 256 for the keypoints, -> 640 for the detector)
 * measured mean <= 2.1, p99 <= 18; enlarging (a 512-px image to 640)
 * mean 3.4, p99 33, as libvips' bilinear enlargement interpolates
 * differently. Tripling the shrink figures would still flag a shifted
 * or mis-scaled image (a one-pixel shift alone gives mean 10.7, p99 101 here).
 */
const SHRINK = { mean: 3, p99: 24 };
const ENLARGE = { mean: 4.5, p99: 40 };

describe('letterbox: JS and sharp paths agree', () => {
  it.each([
    [1280, 720, 640],
    [1280, 720, 256],
    [1920, 1080, 640],
    [720, 1280, 256],
    [512, 512, 256],
  ])('%ix%i shrunk to %i: same geometry, pixels within tolerance', async (w, h, side) => {
    const img = w === 512 ? astro : await stretched(w, h);
    const js = letterbox(img, side, 32);
    const native = await letterboxFast(img, side, 32);
    expect(native.image.width).toBe(js.image.width);
    expect(native.image.height).toBe(js.image.height);
    expect([native.scaleX, native.scaleY, native.contentW, native.contentH]).toEqual([js.scaleX, js.scaleY, js.contentW, js.contentH]);
    const d = difference(js.image, native.image);
    expect(d.mean).toBeLessThanOrEqual(SHRINK.mean);
    expect(d.p99).toBeLessThanOrEqual(SHRINK.p99);
    // the padding is black in both
    const pad = native.image.data.subarray(js.contentH * js.image.width * 3);
    expect(pad.some((v) => v !== 0)).toBe(false);
  });

  it('an enlarged image agrees within the looser tolerance', async () => {
    const d = difference(letterbox(astro, 640, 32).image, (await letterboxFast(astro, 640, 32)).image);
    expect(d.mean).toBeLessThanOrEqual(ENLARGE.mean);
    expect(d.p99).toBeLessThanOrEqual(ENLARGE.p99);
  });

  it('a one-pixel shift breaks the shrink tolerance (the check can fail)', async () => {
    const js = letterbox(astro, 256, 32).image;
    const shifted = { ...js, data: new Uint8Array(js.data.length) };
    shifted.data.set(js.data.subarray(3));
    expect(difference(js, shifted).mean).toBeGreaterThan(SHRINK.mean);
  });

  it('padding only (no resize): both paths give the very same pixels (letterboxFast skips libvips, whose identity resize is exact anyway)', async () => {
    const img = await stretched(600, 400);
    const a = letterbox(img, 600, 32);
    const b = await letterboxFast(img, 600, 32);
    expect(Buffer.compare(Buffer.from(b.image.data), Buffer.from(a.image.data))).toBe(0);
    expect(b.image.width).toBe(608);
  });

  it('the padding added in JavaScript gives the very bytes of libvips resizing and extending in one pipeline', async () => {
    for (const [w, h, side] of [[1280, 720, 256], [1280, 720, 640], [1920, 1080, 640], [720, 1280, 640], [777, 555, 320], [1000, 1000, 640]]) {
      const img = await stretched(w, h);
      const got = await letterboxFast(img, side, 32, 0);
      const { contentW, contentH } = got;
      const pw = Math.ceil(contentW / 32) * 32;
      const ph = Math.ceil(contentH / 32) * 32;
      const ref = await sharp(Buffer.from(img.data), { raw: { width: w, height: h, channels: 3 } })
        .resize(contentW, contentH, { fit: 'fill', kernel: 'linear' })
        .extend({ right: pw - contentW, bottom: ph - contentH, background: { r: 0, g: 0, b: 0 } })
        .raw()
        .toBuffer();
      expect([got.image.width, got.image.height]).toEqual([pw, ph]);
      expect(Buffer.compare(Buffer.from(got.image.data), ref)).toBe(0);
    }
  });
});
