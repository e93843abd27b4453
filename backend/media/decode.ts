// Image bytes -> 8-bit RGB pixels with sharp, oriented as the browser shows
// them (EXIF auto-orientation), so that W/H match what Label Studio displays.
import sharp from 'sharp';
import type { RgbImage } from '../pipeline/types.js';

export type ImageDecodeErrorCode = 'empty' | 'corrupt' | 'too_many_pixels' | 'unsupported';

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
}

export interface DecodedImage extends RgbImage {
  /** Size before EXIF orientation (stored pixel grid). */
  storedWidth: number;
  storedHeight: number;
  /** EXIF orientation tag (1 = none). */
  orientation: number;
  format: string;
}

/** Decode any sharp-readable image (JPEG, PNG, WebP, GIF, TIFF, AVIF...) to RGB. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  if (!bytes || bytes.length === 0) throw new ImageDecodeError('empty', 'The image is empty (0 bytes)');
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bg = options.background === 'black' ? { r: 0, g: 0, b: 0 } : { r: 255, g: 255, b: 255 };
  try {
    const img = sharp(input, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 });
    const meta = await img.metadata();
    const { data, info } = await img
      .rotate() // EXIF auto-orientation
      .flatten({ background: bg })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
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
    if (err instanceof ImageDecodeError) throw err;
    const msg = (err as Error).message ?? String(err);
    if (/pixel limit/i.test(msg)) {
      throw new ImageDecodeError('too_many_pixels', `The image has more pixels than MAX_IMAGE_PIXELS=${options.maxPixels}`);
    }
    if (/unsupported image format/i.test(msg)) {
      throw new ImageDecodeError('unsupported', 'The image format is not supported (not a JPEG, PNG, WebP, GIF, TIFF, AVIF or SVG image)');
    }
    throw new ImageDecodeError('corrupt', `The image cannot be decoded (corrupt or truncated?): ${msg.split('\n')[0]}`);
  }
}
