// Image bytes -> 8-bit RGB pixels with sharp, oriented as the browser shows
// them (EXIF auto-orientation), so that W/H match what Label Studio displays.
import sharp, { type Metadata } from 'sharp';
import type { RgbImage } from '../pipeline/types.js';

export type ImageDecodeErrorCode = 'empty' | 'corrupt' | 'too_many_pixels' | 'unsupported' | 'vector' | 'timeout';

export class ImageDecodeError extends Error {
  constructor(
    readonly code: ImageDecodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export interface DecodeOptions {
  /** Largest input in pixels (sharp limitInputPixels). */
  maxPixels: number;
  /** Colour transparent pixels are flattened onto. Default white. */
  background?: 'white' | 'black';
  /** Deadline for the decode in ms (libvips is told too, in whole seconds). Default 20 000. */
  timeoutMs?: number;
}

export type RasterFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif';

/**
 * The raster format of some bytes, from their magic numbers (never from a
 * content type). Vector and document formats (SVG, PDF, PostScript, XML...)
 * and anything unknown throw: libvips would render them with no bound on the
 * work (an SVG of 2.6 kB with blur filters took minutes).
 */
export function sniffRaster(bytes: Uint8Array): RasterFormat {
  const b = bytes;
  const at = (i: number, s: string) => s.split('').every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (b.length >= 6 && (at(0, 'GIF87a') || at(0, 'GIF89a'))) return 'gif';
  if (b.length >= 4 && ((at(0, 'II') && (b[2] === 42 || b[2] === 43) && b[3] === 0) || (at(0, 'MM') && b[2] === 0 && (b[3] === 42 || b[3] === 43)))) return 'tiff';
  if (b.length >= 12 && at(4, 'ftyp') && /^(avif|avis|heic|heix|heim|heis|hevc|hevx|mif1|msf1)$/.test(String.fromCharCode(...b.subarray(8, 12)))) return 'heif';
  const head = Buffer.from(b.subarray(0, 1024)).toString('latin1').replace(/^\ufeff|^\xef\xbb\xbf/, '').trimStart().toLowerCase();
  if (head.startsWith('%pdf')) throw new ImageDecodeError('vector', 'The image is a PDF document, which is not accepted: export it as PNG or JPEG');
  if (head.startsWith('%!ps') || head.startsWith('%!')) throw new ImageDecodeError('vector', 'The image is a PostScript document, which is not accepted: export it as PNG or JPEG');
  if (head.startsWith('<')) {
    throw new ImageDecodeError(
      'vector',
      head.includes('<svg') ? 'The image is an SVG, which is not accepted (vector images can take unbounded time to render): export it as PNG or JPEG' : 'The image is XML or HTML, not an image',
    );
  }
  throw new ImageDecodeError('unsupported', 'The image format is not supported (not a JPEG, PNG, WebP, GIF, TIFF or AVIF/HEIF image)');
}

export interface ImageProbe {
  format: RasterFormat;
  width: number;
  height: number;
}

/** Format and size from the header alone (no pixel decoding); throws ImageDecodeError like decodeImage. */
export async function probeImage(bytes: Uint8Array, options: Pick<DecodeOptions, 'maxPixels'>): Promise<ImageProbe> {
  if (!bytes || bytes.length === 0) throw new ImageDecodeError('empty', 'The image is empty (0 bytes)');
  const format = sniffRaster(bytes);
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 }).metadata();
  } catch (err) {
    throw mapError(err, options.maxPixels);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > options.maxPixels) {
    throw new ImageDecodeError('too_many_pixels', `The image has more pixels than MAX_IMAGE_PIXELS=${options.maxPixels}`);
  }
  if (!width || !height) throw new ImageDecodeError('corrupt', 'The image header has no size');
  return { format, width, height };
}

function mapError(err: unknown, maxPixels: number): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  const msg = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(msg)) {
    return new ImageDecodeError('too_many_pixels', `The image has more pixels than MAX_IMAGE_PIXELS=${maxPixels}`);
  }
  if (/timeout/i.test(msg)) return new ImageDecodeError('timeout', `Decoding the image took too long: ${msg.split('\n')[0]}`);
  if (/unsupported image format/i.test(msg)) {
    return new ImageDecodeError('unsupported', 'The image format is not supported (not a JPEG, PNG, WebP, GIF, TIFF or AVIF/HEIF image)');
  }
  return new ImageDecodeError('corrupt', `The image cannot be decoded (corrupt or truncated?): ${msg.split('\n')[0]}`);
}

export interface DecodedImage extends RgbImage {
  /** Size before EXIF orientation (stored pixel grid). */
  storedWidth: number;
  storedHeight: number;
  /** EXIF orientation tag (1 = none). */
  orientation: number;
  format: string;
}

/** Decode a JPEG, PNG, WebP, GIF, TIFF or AVIF/HEIF image to RGB, within options.timeoutMs. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  if (!bytes || bytes.length === 0) throw new ImageDecodeError('empty', 'The image is empty (0 bytes)');
  sniffRaster(bytes);
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bg = options.background === 'black' ? { r: 0, g: 0, b: 0 } : { r: 255, g: 255, b: 255 };
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const img = sharp(input, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 });
    const work = (async () => {
      const meta = await img.metadata();
      const { data, info } = await img
        .rotate() // EXIF auto-orientation
        .flatten({ background: bg })
        .toColourspace('srgb')
        .removeAlpha()
        .raw({ depth: 'uchar' })
        // libvips stops the pipeline itself after this; the race below answers even if it cannot
        .timeout({ seconds: Math.max(1, Math.ceil(timeoutMs / 1000)) })
        .toBuffer({ resolveWithObject: true });
      return { meta, data, info };
    })();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ImageDecodeError('timeout', `Decoding the image took longer than DECODE_TIMEOUT_MS=${timeoutMs}`)), timeoutMs);
    });
    work.catch(() => {}); // a late failure after the deadline is not unhandled
    const { meta, data, info } = await Promise.race([work, deadline]);
    if (info.channels !== 3) {
      throw new ImageDecodeError('unsupported', `Decoded image has ${info.channels} channels, expected 3`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      storedWidth: meta.width ?? info.width,
      storedHeight: meta.height ?? info.height,
      orientation: meta.orientation ?? 1,
      format: meta.format ?? 'unknown',
    };
  } catch (err) {
    throw mapError(err, options.maxPixels);
  } finally {
    clearTimeout(timer);
  }
}
