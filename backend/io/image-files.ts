// Local image files for the CLI, the eval and the bench: find them (following links), read them oriented, write masks and overlays.
import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../pipeline/types.js';

/** What sharp decodes (not BMP: its libvips has no BMP loader). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']);

export interface FoundImage {
  /** Absolute path. */
  file: string;
  /** Path relative to the folder it was found in ('' for files named directly). */
  relDir: string;
}

/** Expand files and folders (recursively) into image files, in a stable order; folders whose real path is in `skip` are not entered. */
export async function findImages(inputs: readonly string[], skip: readonly string[] = []): Promise<FoundImage[]> {
  const out: FoundImage[] = [];
  for (const input of inputs) {
    const abs = path.resolve(input);
    const st = await stat(abs).catch(() => null);
    if (!st) throw new Error(`No such file or folder: ${input}`);
    if (st.isFile()) {
      out.push({ file: abs, relDir: '' });
      continue;
    }
    // datasets are often folders of symbolic links: links are followed, each real folder walked once (no loops)
    const seen = new Set<string>(skip);
    const walk = async (dir: string): Promise<void> => {
      const real = await realpath(dir).catch(() => null);
      if (real === null || seen.has(real)) return;
      seen.add(real);
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        const p = path.join(dir, e.name);
        const target = e.isSymbolicLink() ? await stat(p).catch(() => null) : e;
        if (!target) continue; // a dangling link
        if (target.isDirectory()) await walk(p);
        else if (target.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
          out.push({ file: p, relDir: path.relative(abs, dir) });
        }
      }
    };
    await walk(abs);
  }
  return out;
}

/** Decode with EXIF orientation applied, to 8-bit RGB. */
export async function readImageFile(file: string, maxPixels = 100_000_000): Promise<RgbImage> {
  const { data, info } = await sharp(file, { limitInputPixels: maxPixels })
    .rotate()
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Read a single-channel label map (e.g. FASSEG classes) without any colour conversion. */
export async function readLabelMap(file: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export async function writeGrayPng(file: string, data: Uint8Array, width: number, height: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // b-w keeps it one 8-bit channel; sharp would otherwise write RGB
  await sharp(Buffer.from(data.buffer, data.byteOffset, data.length), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toFile(file);
}

/** Overlay a binary mask (and optionally a truth mask) on the image for a person to look at. */
export async function writeOverlay(file: string, img: RgbImage, pred: Uint8Array, truth?: Uint8Array): Promise<void> {
  const out = Buffer.from(img.data);
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] >= 128;
    const t = truth ? truth[i] > 0 : p;
    const o = i * 3;
    if (p && t) out[o + 1] = Math.min(255, out[o + 1] * 0.5 + 128); // right: green
    else if (p) out[o] = Math.min(255, out[o] * 0.5 + 128); // extra: red
    else if (t) out[o + 2] = Math.min(255, out[o + 2] * 0.5 + 128); // missed: blue
  }
  await mkdir(path.dirname(file), { recursive: true });
  await sharp(out, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
}
