import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { decodeImage, ImageDecodeError } from '../../backend/media/decode.js';

const LIMIT = { maxPixels: 50_000_000 };

async function decodeError(p: Promise<unknown>): Promise<ImageDecodeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    return err as ImageDecodeError;
  }
  throw new Error('expected an ImageDecodeError');
}

const px = (img: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(img.data.slice((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('decodeImage', () => {
  it('EXIF orientation 6 JPEG: width and height are the oriented (swapped) size', async () => {
    // 60 wide, 40 high, left half red, right half blue; orientation 6 = rotate 90° clockwise to display
    const raw = Buffer.alloc(60 * 40 * 3);
    for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) raw.set(x < 30 ? [255, 0, 0] : [0, 0, 255], (y * 60 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 60, height: 40, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpeg, LIMIT);
    expect([img.width, img.height]).toEqual([40, 60]);
    expect([img.storedWidth, img.storedHeight, img.orientation]).toEqual([60, 40, 6]);
    expect(img.data.length).toBe(40 * 60 * 3);
    // after a clockwise turn the stored left half (red) is on top
    const top = px(img, 20, 5);
    const bottom = px(img, 20, 55);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('grayscale -> RGB with equal channels', async () => {
    const png = await sharp(Buffer.alloc(8 * 4, 77), { raw: { width: 8, height: 4, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(1);
    const img = await decodeImage(png, LIMIT);
    expect([img.width, img.height, img.data.length]).toEqual([8, 4, 8 * 4 * 3]);
    expect(px(img, 3, 2)).toEqual([77, 77, 77]);
  });

  it('RGBA is flattened on white (or black)', async () => {
    const rgba = Buffer.alloc(2 * 1 * 4);
    rgba.set([10, 20, 30, 255, 0, 0, 0, 0]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    const white = await decodeImage(png, LIMIT);
    expect(px(white, 0, 0)).toEqual([10, 20, 30]);
    expect(px(white, 1, 0)).toEqual([255, 255, 255]);
    const black = await decodeImage(png, { ...LIMIT, background: 'black' });
    expect(px(black, 1, 0)).toEqual([0, 0, 0]);
  });

  it('16-bit PNG -> 8-bit RGB', async () => {
    const png16 = await sharp({ create: { width: 5, height: 3, channels: 3, background: { r: 255, g: 128, b: 0 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const img = await decodeImage(png16, LIMIT);
    expect([img.width, img.height, img.data.length]).toEqual([5, 3, 45]);
    const [r, g, b] = px(img, 2, 1);
    expect(r).toBe(255);
    expect(Math.abs(g - 128)).toBeLessThanOrEqual(1);
    expect(b).toBe(0);
  });

  it('CMYK JPEG -> RGB', async () => {
    const cmyk = await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 0, g: 200, b: 0 } } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const img = await decodeImage(cmyk, LIMIT);
    expect(img.data.length).toBe(6 * 6 * 3);
    const [r, g, b] = px(img, 3, 3);
    expect(g).toBeGreaterThan(120);
    expect(r).toBeLessThan(120);
    expect(b).toBeLessThan(120);
  });

  it('decodes the astronaut fixture', async () => {
    const bytes = readFileSync(new URL('../fixtures/astronaut.png', import.meta.url));
    const meta = await sharp(bytes).metadata();
    const img = await decodeImage(bytes, LIMIT);
    expect([img.width, img.height]).toEqual([meta.width, meta.height]);
    expect(img.data.length).toBe(img.width * img.height * 3);
  });

  it('corrupt or empty bytes -> typed error', async () => {
    expect((await decodeError(decodeImage(Buffer.from('definitely not an image'), LIMIT))).code).toBe('unsupported');
    expect((await decodeError(decodeImage(Buffer.alloc(0), LIMIT))).code).toBe('empty');
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } }).png().toBuffer();
    const broken = Buffer.from(png);
    broken.fill(0x41, 40, 200); // smash the image data
    const e = await decodeError(decodeImage(broken, LIMIT));
    expect(['corrupt', 'unsupported']).toContain(e.code);
    const truncated = png.subarray(0, 60);
    expect(['corrupt', 'unsupported']).toContain((await decodeError(decodeImage(truncated, LIMIT))).code);
  });

  it('honours the pixel limit', async () => {
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: 'red' } }).png().toBuffer();
    const e = await decodeError(decodeImage(png, { maxPixels: 5000 }));
    expect(e.code).toBe('too_many_pixels');
    expect(e.message).toMatch(/MAX_IMAGE_PIXELS=5000/);
  });
});
