// SVG, PDF and other non-raster inputs are refused from their bytes (the
// content type is never trusted) before libvips sees them, and a decode has a
// deadline.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { decodeImage, ImageDecodeError, probeImage, sniffRaster } from '../../backend/media/decode.js';

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"><filter id="f"><feGaussianBlur stdDeviation="900"/></filter><rect width="4000" height="4000" filter="url(#f)"/></svg>';

describe('format sniffing', () => {
  it.each([
    ['SVG', SVG],
    ['SVG after a BOM and blank lines', `\ufeff\n\n  ${SVG}`],
    ['SVG with an XML prolog', `<?xml version="1.0"?>\n<!DOCTYPE svg>${SVG}`],
    ['PDF', '%PDF-1.7\n%âãÏÓ\n1 0 obj'],
    ['PostScript', '%!PS-Adobe-3.0\n'],
    ['HTML', '<!doctype html><html><body>login</body></html>'],
  ])('%s is refused as decode_vector in < 50 ms', async (_name, text) => {
    const t0 = performance.now();
    const err = await decodeImage(Buffer.from(text, 'utf8'), { maxPixels: 1e8 }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as ImageDecodeError).code).toBe('vector');
  });

  it('unknown bytes are unsupported; raster magic numbers are recognised', async () => {
    expect(() => sniffRaster(Buffer.from('BM6\0\0\0\0\0'))).toThrow(/not supported/);
    expect(sniffRaster(Buffer.from('\0\0\0\x1cftypavif\0\0\0\0', 'latin1'))).toBe('heif');
    for (const f of ['jpeg', 'png', 'webp', 'gif', 'tiff'] as const) {
      const b = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).toFormat(f).toBuffer();
      expect(sniffRaster(b)).toBe(f);
    }
  });

  it('probeImage reads the size from the header only', async () => {
    const b = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#fff' } }).png().toBuffer();
    expect(await probeImage(b, { maxPixels: 1e8 })).toEqual({ format: 'png', width: 300, height: 200 });
    await expect(probeImage(b, { maxPixels: 1000 })).rejects.toMatchObject({ code: 'too_many_pixels' });
  });
});

describe('decode deadline', () => {
  it('a decode past DECODE_TIMEOUT_MS is a timeout error at the deadline', async () => {
    const b = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#a87' } }).png().toBuffer();
    const t0 = performance.now();
    const err = await decodeImage(b, { maxPixels: 1e8, timeoutMs: 5 }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect((err as ImageDecodeError).code).toBe('timeout');
  });
});
