// The files of `faceseg anonymize`: IN and OUT checked against each other,
// images decoded upright and encoded back in their own format, outputs
// written atomically.
import { constants } from 'node:fs';
import { access, mkdir, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { FoundImage } from '../io/image-files.js';
import type { Pixels } from './anonymize-pixels.js';

export type AnonymizeMode = 'blur' | 'pixelate' | 'solid' | 'mask';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
};

/** The real path of `p`, or of its nearest existing ancestor with the rest appended (for OUT that does not exist yet). */
export async function realpathLoose(p: string): Promise<string> {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(await realpath(head), ...tail.reverse());
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail.push(path.basename(head));
      head = parent;
    }
  }
}

/** Resolve IN and OUT; refuse OUT equal to IN, inside IN, IN inside OUT, or OUT that cannot be written (or created). */
export async function checkFolders(inDir: string, outDir: string): Promise<{ input: string; output: string }> {
  const st = await stat(inDir).catch(() => null);
  if (!st) throw new UsageError(`IN does not exist: ${inDir}`);
  if (!st.isDirectory()) throw new UsageError(`IN must be a folder: ${inDir}`);
  const input = await realpath(inDir);
  const output = await realpathLoose(outDir);
  if (output === input) throw new UsageError('OUT must be another folder than IN: the originals are never overwritten');
  if (isInside(output, input)) throw new UsageError(`OUT (${output}) must not be inside IN (${input}): the outputs would be mixed with the originals`);
  if (isInside(input, output)) throw new UsageError(`IN (${input}) must not be inside OUT (${output}): outputs could land on the originals`);
  const ost = await stat(output).catch(() => null);
  if (ost && !ost.isDirectory()) throw new UsageError(`OUT exists and is not a folder: ${outDir}`);
  // every output and the report are written there: say so now, not after the last image
  let writable = output;
  while (!(await stat(writable).catch(() => null)) && path.dirname(writable) !== writable) writable = path.dirname(writable);
  const denied = await access(writable, constants.W_OK | constants.X_OK).then(() => false, () => true);
  if (denied) throw new UsageError(writable === output ? `OUT is not writable: ${outDir}` : `OUT cannot be created: ${writable} is not writable`);
  return { input, output };
}

export const WRITABLE = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif']);

export function encoder(pipe: Sharp, format: string, ext: string, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      return pipe.jpeg({ quality });
    case 'png':
      return pipe.png();
    case 'webp':
      return pipe.webp({ quality });
    case 'tiff':
      // sharp's default TIFF compression is JPEG: a lossless TIFF would come back lossy everywhere, not only on the faces
      return pipe.tiff({ compression: 'lzw', predictor: 'horizontal' });
    case 'gif':
      return pipe.gif();
    case 'avif':
    case 'heif':
      if (format === 'heif' && ext !== '.avif') throw new Error('HEIC files cannot be written (no HEVC encoder); convert them to JPEG first');
      return pipe.avif({ quality: Math.min(quality, 70) });
    default:
      throw new Error(`cannot write ${format} images`);
  }
}

/** Write through a temporary file and a rename, so that an interrupted run never leaves a half-written output. */
export async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export interface Decoded extends Pixels {
  format: string;
  orientation: number;
}

/** Formats whose extra pages are frames of an animation (a multi-page TIFF's are often a thumbnail). */
const ANIMATED = new Set(['gif', 'webp']);

/** Decode with EXIF orientation applied, as sRGB, keeping an alpha channel when there is one. */
export async function decodeOriented(bytes: Buffer, maxPixels: number): Promise<Decoded> {
  const pipe = sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 });
  const meta = await pipe.metadata();
  // written back as one frame, the rest of an animation would be lost, its faces with it
  const frames = meta.pages ?? 1;
  if (frames > 1 && ANIMATED.has(meta.format ?? '')) {
    throw new Error(`animated ${meta.format} with ${frames} frames: anonymize writes single images and would drop ${frames - 1} of them; extract the frames first`);
  }
  const { data, info } = await pipe.rotate().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) throw new Error(`decoded image has ${info.channels} channels`);
  return {
    width: info.width,
    height: info.height,
    channels: info.channels,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    format: meta.format ?? 'unknown',
    orientation: meta.orientation ?? 1,
  };
}

/** Where an input's output and sidecar go. */
export function outputPaths(outDir: string, im: FoundImage, mode: AnonymizeMode): { image: string; sidecar: string; rel: string } {
  const rel = path.join(im.relDir, path.basename(im.file));
  const image = mode === 'mask' ? path.join(outDir, `${rel}.mask.png`) : path.join(outDir, rel);
  return { image, sidecar: path.join(outDir, `${rel}.json`), rel };
}
