// `faceseg anonymize IN OUT`: every image under IN written to OUT with the
// same relative path and format, upright (EXIF orientation baked in, the tag
// dropped), with every face replaced inside its mask (blur, pixelate, solid)
// or, with --mode mask, the binary face mask instead of the image.
//
// Next to each output: NAME.EXT.json with the faces found. In OUT:
// anonymize-report.json listing the images where no face was found (a person
// must look at those) and the files that failed. Resumable: an output that
// exists is skipped unless --overwrite. IN is never written to.
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DEFAULT_LIMITS } from '../config.js';
import type { Face, FaceEngine, RegionMask, RgbImage } from '../pipeline/types.js';
import { findImages, type FoundImage } from './image-files.js';
import { countingBar, runPool, serializer } from './predict.js';
import { squaredDistanceTransform } from '../pipeline/mask-raster.js';

export type AnonymizeMode = 'blur' | 'pixelate' | 'solid' | 'mask';
export const ANONYMIZE_MODES: readonly AnonymizeMode[] = ['blur', 'pixelate', 'solid', 'mask'];
export const REPORT_NAME = 'anonymize-report.json';

export interface AnonymizeOptions {
  mode?: AnonymizeMode;
  /** Grow every face mask by this many pixels before replacing. Default 4. */
  dilate?: number;
  /** Soft edge outside the grown mask, pixels. Default 6. */
  feather?: number;
  /** Images in flight (reading, decoding, encoding overlap; the models run one image at a time). Default 2. */
  concurrency?: number;
  /** Rewrite outputs that exist. */
  overwrite?: boolean;
  quiet?: boolean;
  /** Abort to stop after the images in flight (Ctrl-C). */
  signal?: AbortSignal;
  maxPixels?: number;
  /** JPEG/WebP quality of the outputs. Default 92. */
  quality?: number;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface AnonymizeReport {
  input: string;
  output: string;
  mode: AnonymizeMode;
  dilate: number;
  feather: number;
  model_version: string;
  /** Image files found under IN. */
  images: number;
  /** Outputs written by this run. */
  written: number;
  /** Outputs that existed and were kept (resume). */
  skipped_existing: number;
  /** Kept outputs whose sidecar shows other settings (mode, dilate, feather or model version): --overwrite redoes them. */
  kept_with_other_settings: string[];
  /** Images (relative to IN) where no face was found: check them by eye. */
  no_faces: string[];
  /** Files that could not be processed; they have no output. */
  failed: Array<{ file: string; error: string }>;
  interrupted: boolean;
  elapsed_ms: number;
}

const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
};

/** The real path of `p`, or of its nearest existing ancestor with the rest appended (for OUT that does not exist yet). */
async function realpathLoose(p: string): Promise<string> {
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

/** Resolve IN and OUT; refuse OUT equal to IN, inside IN, or IN inside OUT. */
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
  return { input, output };
}

// --- masks --------------------------------------------------------------------

/** Squared distance of every pixel to the nearest `on` pixel (Infinity when none). */
export function squaredDistance(on: Uint8Array, width: number, height: number): Float64Array {
  return squaredDistanceTransform(on, width, height);
}

/**
 * The replacement weight (0..255) around all faces: 255 inside the masks
 * grown by `dilate` px, falling linearly to 0 over `feather` px outside.
 * Covers only the rectangle that needs it; undefined when there is nothing.
 */
export function faceAlpha(faces: readonly Face[], width: number, height: number, dilate: number, feather: number, threshold = 128): RegionMask | undefined {
  const masks = faces.map((f) => f.mask).filter((m) => m.width > 0 && m.height > 0);
  if (masks.length === 0) return undefined;
  const reach = Math.ceil(Math.max(0, dilate) + Math.max(0, feather)) + 1;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const m of masks) {
    x0 = Math.min(x0, m.x);
    y0 = Math.min(y0, m.y);
    x1 = Math.max(x1, m.x + m.width);
    y1 = Math.max(y1, m.y + m.height);
  }
  x0 = Math.max(0, Math.floor(x0) - reach);
  y0 = Math.max(0, Math.floor(y0) - reach);
  x1 = Math.min(width, Math.ceil(x1) + reach);
  y1 = Math.min(height, Math.ceil(y1) + reach);
  const w = x1 - x0;
  const h = y1 - y0;
  if (w <= 0 || h <= 0) return undefined;
  const on = new Uint8Array(w * h);
  let any = false;
  for (const m of masks) {
    for (let y = 0; y < m.height; y++) {
      const iy = m.y + y - y0;
      if (iy < 0 || iy >= h) continue;
      for (let x = 0; x < m.width; x++) {
        const ix = m.x + x - x0;
        if (ix < 0 || ix >= w) continue;
        if (m.data[y * m.width + x] >= threshold) {
          on[iy * w + ix] = 1;
          any = true;
        }
      }
    }
  }
  if (!any) return undefined;
  const d2 = squaredDistance(on, w, h);
  const data = new Uint8Array(w * h);
  const grow = Math.max(0, dilate);
  const soft = Math.max(0, feather);
  for (let i = 0; i < data.length; i++) {
    if (d2[i] === 0) {
      data[i] = 255;
      continue;
    }
    const dist = Math.sqrt(d2[i]);
    if (dist <= grow) data[i] = 255;
    else if (soft > 0 && dist < grow + soft) data[i] = Math.round(255 * (1 - (dist - grow) / soft));
  }
  return { x: x0, y: y0, width: w, height: h, data };
}

/** Largest face side in pixels (sets the blur strength and pixel block size). */
function faceSize(faces: readonly Face[]): number {
  return Math.max(1, ...faces.map((f) => Math.max(f.box.width, f.box.height)));
}

export interface Pixels {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) */
  channels: number;
  data: Uint8Array;
}

/** The replacement pixels (RGB, crop-sized) for the alpha rectangle. */
async function replacement(img: Pixels, a: RegionMask, mode: Exclude<AnonymizeMode, 'mask'>, size: number): Promise<Uint8Array> {
  const { width: W, channels: C } = img;
  const out = new Uint8Array(a.width * a.height * 3);
  if (mode === 'solid') return out; // black
  if (mode === 'blur') {
    const sigma = Math.max(3, size / 8);
    // blur a margin around the crop too, so the edge of the crop is not biased
    const m = Math.ceil(sigma * 3);
    const bx0 = Math.max(0, a.x - m);
    const by0 = Math.max(0, a.y - m);
    const bx1 = Math.min(img.width, a.x + a.width + m);
    const by1 = Math.min(img.height, a.y + a.height + m);
    const bw = bx1 - bx0;
    const bh = by1 - by0;
    const crop = Buffer.alloc(bw * bh * 3);
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const s = ((by0 + y) * W + bx0 + x) * C;
        const t = (y * bw + x) * 3;
        crop[t] = img.data[s];
        crop[t + 1] = img.data[s + 1];
        crop[t + 2] = img.data[s + 2];
      }
    }
    const blurred = await sharp(crop, { raw: { width: bw, height: bh, channels: 3 } }).blur(sigma).raw().toBuffer();
    for (let y = 0; y < a.height; y++) {
      for (let x = 0; x < a.width; x++) {
        const s = ((a.y + y - by0) * bw + a.x + x - bx0) * 3;
        const t = (y * a.width + x) * 3;
        out[t] = blurred[s];
        out[t + 1] = blurred[s + 1];
        out[t + 2] = blurred[s + 2];
      }
    }
    return out;
  }
  // pixelate: block means on a grid anchored at the image origin
  const block = Math.max(4, Math.round(size / 6));
  const gx0 = Math.floor(a.x / block) * block;
  const gy0 = Math.floor(a.y / block) * block;
  for (let by = gy0; by < a.y + a.height; by += block) {
    for (let bx = gx0; bx < a.x + a.width; bx += block) {
      const xe = Math.min(img.width, bx + block);
      const ye = Math.min(img.height, by + block);
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let y = by; y < ye; y++) {
        for (let x = bx; x < xe; x++) {
          const s = (y * W + x) * C;
          r += img.data[s];
          g += img.data[s + 1];
          b += img.data[s + 2];
          n++;
        }
      }
      r = Math.round(r / n);
      g = Math.round(g / n);
      b = Math.round(b / n);
      for (let y = Math.max(by, a.y); y < Math.min(ye, a.y + a.height); y++) {
        for (let x = Math.max(bx, a.x); x < Math.min(xe, a.x + a.width); x++) {
          const t = ((y - a.y) * a.width + x - a.x) * 3;
          out[t] = r;
          out[t + 1] = g;
          out[t + 2] = b;
        }
      }
    }
  }
  return out;
}

/** Replace the faces in `img` (a copy is returned): soft blend of the replacement with the feathered mask. Alpha channels are kept. */
export async function anonymizePixels(img: Pixels, faces: readonly Face[], mode: Exclude<AnonymizeMode, 'mask'>, dilate: number, feather: number): Promise<Uint8Array> {
  const out = new Uint8Array(img.data);
  const a = faceAlpha(faces, img.width, img.height, dilate, feather);
  if (!a) return out;
  const rep = await replacement(img, a, mode, faceSize(faces));
  const C = img.channels;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const w = a.data[y * a.width + x];
      if (w === 0) continue;
      const s = ((a.y + y) * img.width + a.x + x) * C;
      const t = (y * a.width + x) * 3;
      for (let c = 0; c < 3; c++) out[s + c] = Math.round((img.data[s + c] * (255 - w) + rep[t + c] * w) / 255);
    }
  }
  return out;
}

/** The binary mask image (255 = face, grown by `dilate`, half of the feather). */
export function binaryFaceMask(faces: readonly Face[], width: number, height: number, dilate: number, feather: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const a = faceAlpha(faces, width, height, dilate, feather);
  if (!a) return out;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) if (a.data[y * a.width + x] >= 128) out[(a.y + y) * width + a.x + x] = 255;
  }
  return out;
}

// --- files ----------------------------------------------------------------------

const WRITABLE = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif']);

function encoder(pipe: Sharp, format: string, ext: string, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      return pipe.jpeg({ quality });
    case 'png':
      return pipe.png();
    case 'webp':
      return pipe.webp({ quality });
    case 'tiff':
      return pipe.tiff();
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
async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
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

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export interface Decoded extends Pixels {
  format: string;
  orientation: number;
}

/** Decode with EXIF orientation applied, as sRGB, keeping an alpha channel when there is one. */
export async function decodeOriented(bytes: Buffer, maxPixels: number): Promise<Decoded> {
  const pipe = sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 });
  const meta = await pipe.metadata();
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

function toRgb(p: Pixels): RgbImage {
  if (p.channels === 3) return { width: p.width, height: p.height, data: p.data };
  const out = new Uint8Array(p.width * p.height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    const a = p.data[i + 3];
    for (let c = 0; c < 3; c++) out[j + c] = Math.round((p.data[i + c] * a + 255 * (255 - a)) / 255);
  }
  return { width: p.width, height: p.height, data: out };
}

/** Where an input's output and sidecar go. */
export function outputPaths(outDir: string, im: FoundImage, mode: AnonymizeMode): { image: string; sidecar: string; rel: string } {
  const rel = path.join(im.relDir, path.basename(im.file));
  const image = mode === 'mask' ? path.join(outDir, `${rel}.mask.png`) : path.join(outDir, rel);
  return { image, sidecar: path.join(outDir, `${rel}.json`), rel };
}

/** Anonymize every image under `inDir` into `outDir`. Throws UsageError for bad folders; per-file problems land in the report. */
export async function runAnonymize(engine: FaceEngine, inDir: string, outDir: string, opts: AnonymizeOptions = {}): Promise<AnonymizeReport> {
  const t0 = Date.now();
  const mode = opts.mode ?? 'blur';
  if (!ANONYMIZE_MODES.includes(mode)) throw new UsageError(`--mode must be one of ${ANONYMIZE_MODES.join(', ')}`);
  const dilate = opts.dilate ?? 4;
  const feather = opts.feather ?? 6;
  if (!(dilate >= 0) || !(feather >= 0)) throw new UsageError('--dilate and --feather must be >= 0');
  const quality = opts.quality ?? 92;
  const maxPixels = opts.maxPixels ?? DEFAULT_LIMITS.maxImagePixels;
  const { input, output } = await checkFolders(inDir, outDir);
  const images = await findImages([input]);
  await mkdir(output, { recursive: true });

  const report: AnonymizeReport = {
    input,
    output,
    mode,
    dilate,
    feather,
    model_version: engine.modelVersion,
    images: images.length,
    written: 0,
    skipped_existing: 0,
    kept_with_other_settings: [],
    no_faces: [],
    failed: [],
    interrupted: false,
    elapsed_ms: 0,
  };
  const bar = countingBar('anonymize', 'written {written} kept {kept} no face {noface} failed {failed}', { written: 0, kept: 0, noface: 0, failed: 0 }, opts.quiet);
  bar.setTotal(images.length);
  const tick = () =>
    bar.increment({ written: report.written, kept: report.skipped_existing, noface: report.no_faces.length, failed: report.failed.length });
  const engineSerial = serializer();

  const guard = (file: string) => {
    if (file === input || isInside(file, input)) throw new Error(`refusing to write into IN: ${file}`);
  };

  const one = async (im: FoundImage): Promise<void> => {
    const dest = outputPaths(output, im, mode);
    const rel = dest.rel.split(path.sep).join('/');
    try {
      guard(dest.image);
      guard(dest.sidecar);
      if (!opts.overwrite && existsSync(dest.image)) {
        report.skipped_existing++;
        // keep the "no face" list complete across resumed runs
        const side = await readFile(dest.sidecar, 'utf8')
          .then((s) => JSON.parse(s) as { faces?: unknown[]; mode?: string; dilate?: number; feather?: number; model_version?: string })
          .catch(() => undefined);
        if (side && Array.isArray(side.faces) && side.faces.length === 0) report.no_faces.push(rel);
        if (side && (side.mode !== mode || side.dilate !== dilate || side.feather !== feather || side.model_version !== engine.modelVersion)) {
          report.kept_with_other_settings.push(rel);
        }
        return;
      }
      const bytes = await readFile(im.file);
      const ext = path.extname(im.file).toLowerCase();
      let img: Decoded;
      try {
        img = await decodeOriented(bytes, maxPixels);
      } catch (e) {
        throw new Error(`cannot decode: ${(e as Error).message}`);
      }
      if (mode !== 'mask' && !WRITABLE.has(img.format)) throw new Error(`cannot write ${img.format} images`);
      const seg = await engineSerial(() => engine.segment(toRgb(img)));
      let encoded: Buffer;
      if (mode === 'mask') {
        const mask = binaryFaceMask(seg.faces, img.width, img.height, dilate, feather);
        encoded = await sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width: img.width, height: img.height, channels: 1 } })
          .toColourspace('b-w')
          .png()
          .toBuffer();
      } else {
        const px = await anonymizePixels(img, seg.faces, mode, dilate, feather);
        const pipe = sharp(Buffer.from(px.buffer, px.byteOffset, px.byteLength), { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } });
        // no withMetadata(): EXIF (and its orientation tag) is dropped, the pixels are already upright
        encoded = await encoder(pipe, img.format, ext, quality).toBuffer();
      }
      const sidecar = {
        image: rel,
        output: path.relative(output, dest.image).split(path.sep).join('/'),
        width: img.width,
        height: img.height,
        exif_orientation: img.orientation,
        format: img.format,
        mode,
        dilate,
        feather,
        model_version: engine.modelVersion,
        faces: seg.faces.map((f) => ({
          box: { x: r3(f.box.x), y: r3(f.box.y), width: r3(f.box.width), height: r3(f.box.height) },
          score: r3(f.score),
          source: f.source,
        })),
      };
      // the sidecar first: an existing output always has its sidecar
      await writeAtomic(dest.sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
      await writeAtomic(dest.image, encoded);
      report.written++;
      if (seg.faces.length === 0) report.no_faces.push(rel);
    } catch (e) {
      report.failed.push({ file: rel, error: (e as Error).message ?? String(e) });
    } finally {
      tick();
    }
  };

  let i = 0;
  try {
    await runPool(async () => images[i++], opts.concurrency ?? 2, one, () => opts.signal?.aborted ?? false);
  } finally {
    bar.stop();
  }
  report.interrupted = opts.signal?.aborted ?? false;
  report.no_faces.sort();
  report.kept_with_other_settings.sort();
  report.failed.sort((a, b) => a.file.localeCompare(b.file));
  report.elapsed_ms = Date.now() - t0;
  await writeAtomic(path.join(output, REPORT_NAME), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The lines printed at the end of `faceseg anonymize`. */
export function formatAnonymizeSummary(r: AnonymizeReport, maxListed = 20): string {
  const lines = [
    `${r.images} image(s) under ${r.input}: ${r.written} written, ${r.skipped_existing} kept (already in OUT), ${r.failed.length} failed`,
  ];
  if (r.images === 0) lines.push('no image files found (looked for .jpg .jpeg .png .webp .tif .tiff .gif .avif .bmp)');
  if (r.kept_with_other_settings.length) {
    lines.push(`${r.kept_with_other_settings.length} kept output(s) were made with other settings or another model version: add --overwrite to redo them`);
  }
  lines.push(`no face found in ${r.no_faces.length} image(s)${r.no_faces.length ? ' (check them by eye):' : ''}`);
  for (const f of r.no_faces.slice(0, maxListed)) lines.push(`  ${f}`);
  if (r.no_faces.length > maxListed) lines.push(`  ... and ${r.no_faces.length - maxListed} more`);
  if (r.failed.length) {
    lines.push('failed (no output written):');
    for (const f of r.failed.slice(0, maxListed)) lines.push(`  ${f.file}: ${f.error}`);
    if (r.failed.length > maxListed) lines.push(`  ... and ${r.failed.length - maxListed} more`);
  }
  lines.push(`report: ${path.join(r.output, REPORT_NAME)}`);
  if (r.interrupted) lines.push('interrupted: run the same command again to continue (finished outputs are kept)');
  return lines.join('\n');
}
