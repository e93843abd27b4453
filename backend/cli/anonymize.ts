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
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_LIMITS } from '../config.js';
import { findImages, IMAGE_EXTENSIONS, type FoundImage } from '../io/image-files.js';
import { progressBar } from '../io/progress.js';
import type { Face, FaceEngine } from '../pipeline/types.js';
import { roundTo } from '../util/num.js';
import { anonymizePixels, binaryFaceMask, toRgb } from './anonymize-pixels.js';
import { checkFolders, decodeOriented, encoder, isInside, outputPaths, UsageError, WRITABLE, writeAtomic, type AnonymizeMode, type Decoded } from './anonymize-files.js';
import { runPool, serializer } from './pool.js';

export { faceAlpha, squaredDistance, anonymizePixels, binaryFaceMask, type Pixels } from './anonymize-pixels.js';
export { checkFolders, decodeOriented, outputPaths, UsageError, type AnonymizeMode, type Decoded } from './anonymize-files.js';

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

/** What one run works with: the checked settings and folders, the report it fills. */
interface AnonymizeRun {
  engine: FaceEngine;
  input: string;
  output: string;
  mode: AnonymizeMode;
  dilate: number;
  feather: number;
  quality: number;
  maxPixels: number;
  overwrite: boolean;
  report: AnonymizeReport;
  /** Models one image at a time. */
  engineSerial: <R>(fn: () => Promise<R>) => Promise<R>;
}

/** Anonymize every image under `inDir` into `outDir`. Throws UsageError for bad folders; per-file problems land in the report. */
export async function runAnonymize(engine: FaceEngine, inDir: string, outDir: string, opts: AnonymizeOptions = {}): Promise<AnonymizeReport> {
  const t0 = Date.now();
  const mode = opts.mode ?? 'blur';
  if (!ANONYMIZE_MODES.includes(mode)) throw new UsageError(`--mode must be one of ${ANONYMIZE_MODES.join(', ')}`);
  const dilate = opts.dilate ?? 4;
  const feather = opts.feather ?? 6;
  if (!(dilate >= 0) || !(feather >= 0)) throw new UsageError('--dilate and --feather must be >= 0');
  const { input, output } = await checkFolders(inDir, outDir);
  const images = await findImages([input]);
  await mkdir(output, { recursive: true });
  const report = emptyReport(input, output, mode, dilate, feather, engine.modelVersion, images.length);
  const run: AnonymizeRun = {
    engine,
    input,
    output,
    mode,
    dilate,
    feather,
    quality: opts.quality ?? 92,
    maxPixels: opts.maxPixels ?? DEFAULT_LIMITS.maxImagePixels,
    overwrite: opts.overwrite ?? false,
    report,
    engineSerial: serializer(),
  };
  const bar = progressBar('anonymize', {
    total: images.length,
    fields: 'written {written} kept {kept} no face {noface} failed {failed}',
    initial: { written: 0, kept: 0, noface: 0, failed: 0 },
    quiet: opts.quiet,
    lines: true,
  });
  const one = async (im: FoundImage): Promise<void> => {
    await anonymizeOne(run, im);
    bar.increment({ written: report.written, kept: report.skipped_existing, noface: report.no_faces.length, failed: report.failed.length });
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

function emptyReport(input: string, output: string, mode: AnonymizeMode, dilate: number, feather: number, modelVersion: string, images: number): AnonymizeReport {
  return {
    input,
    output,
    mode,
    dilate,
    feather,
    model_version: modelVersion,
    images,
    written: 0,
    skipped_existing: 0,
    kept_with_other_settings: [],
    no_faces: [],
    failed: [],
    interrupted: false,
    elapsed_ms: 0,
  };
}

/** One image: kept when its output exists (resume), else anonymized; a failure lands in the report. */
async function anonymizeOne(run: AnonymizeRun, im: FoundImage): Promise<void> {
  const dest = outputPaths(run.output, im, run.mode);
  const rel = dest.rel.split(path.sep).join('/');
  try {
    for (const file of [dest.image, dest.sidecar]) {
      if (file === run.input || isInside(file, run.input)) throw new Error(`refusing to write into IN: ${file}`);
    }
    if (!run.overwrite && existsSync(dest.image)) await keepExisting(run, dest.sidecar, rel);
    else await writeAnonymized(run, im, dest, rel);
  } catch (e) {
    run.report.failed.push({ file: rel, error: (e as Error).message ?? String(e) });
  }
}

interface Sidecar {
  faces?: unknown[];
  mode?: string;
  dilate?: number;
  feather?: number;
  model_version?: string;
}

/** An output from an earlier run: counted, and its sidecar keeps the "no face" list complete across resumed runs. */
async function keepExisting(run: AnonymizeRun, sidecarFile: string, rel: string): Promise<void> {
  const { report } = run;
  report.skipped_existing++;
  const side = await readFile(sidecarFile, 'utf8')
    .then((s) => JSON.parse(s) as Sidecar)
    .catch(() => undefined);
  if (side && Array.isArray(side.faces) && side.faces.length === 0) report.no_faces.push(rel);
  if (side && (side.mode !== run.mode || side.dilate !== run.dilate || side.feather !== run.feather || side.model_version !== run.engine.modelVersion)) {
    report.kept_with_other_settings.push(rel);
  }
}

async function writeAnonymized(run: AnonymizeRun, im: FoundImage, dest: { image: string; sidecar: string }, rel: string): Promise<void> {
  const bytes = await readFile(im.file);
  let img: Decoded;
  try {
    img = await decodeOriented(bytes, run.maxPixels);
  } catch (e) {
    throw new Error(`cannot decode: ${(e as Error).message}`);
  }
  if (run.mode !== 'mask' && !WRITABLE.has(img.format)) throw new Error(`cannot write ${img.format} images`);
  const seg = await run.engineSerial(() => run.engine.segment(toRgb(img)));
  const encoded = await encodeOutput(run, img, seg.faces, path.extname(im.file).toLowerCase());
  const sidecar = {
    image: rel,
    output: path.relative(run.output, dest.image).split(path.sep).join('/'),
    width: img.width,
    height: img.height,
    exif_orientation: img.orientation,
    format: img.format,
    mode: run.mode,
    dilate: run.dilate,
    feather: run.feather,
    model_version: run.engine.modelVersion,
    faces: seg.faces.map((f) => ({
      box: { x: roundTo(f.box.x, 3), y: roundTo(f.box.y, 3), width: roundTo(f.box.width, 3), height: roundTo(f.box.height, 3) },
      score: roundTo(f.score, 3),
      source: f.source,
    })),
  };
  // the sidecar first: an existing output always has its sidecar
  await writeAtomic(dest.sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
  await writeAtomic(dest.image, encoded);
  run.report.written++;
  if (seg.faces.length === 0) run.report.no_faces.push(rel);
}

/** The mask PNG (--mode mask) or the anonymized image in its own format. */
async function encodeOutput(run: AnonymizeRun, img: Decoded, faces: readonly Face[], ext: string): Promise<Buffer> {
  const { width, height } = img;
  if (run.mode === 'mask') {
    const mask = binaryFaceMask(faces, width, height, run.dilate, run.feather);
    return sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
  }
  const px = await anonymizePixels(img, faces, run.mode, run.dilate, run.feather);
  const pipe = sharp(Buffer.from(px.buffer, px.byteOffset, px.byteLength), { raw: { width, height, channels: img.channels as 3 | 4 } });
  // no withMetadata(): EXIF (and its orientation tag) is dropped, the pixels are already upright
  return encoder(pipe, img.format, ext, run.quality).toBuffer();
}

/** The lines printed at the end of `faceseg anonymize`. */
export function formatAnonymizeSummary(r: AnonymizeReport, maxListed = 20): string {
  const lines = [
    `${r.images} image(s) under ${r.input}: ${r.written} written, ${r.skipped_existing} kept (already in OUT), ${r.failed.length} failed`,
  ];
  if (r.images === 0) lines.push(`no image files found (looked for ${[...IMAGE_EXTENSIONS].join(' ')})`);
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
