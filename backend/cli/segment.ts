// `faceseg segment`: masks and face lists for images or folders.
import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceEngine, RgbImage, SegmentOptions, SegmentResult } from '../pipeline/types.js';
import { binaryUnion } from '../pipeline/mask-ops.js';
import { findImages, readImageFile, writeGrayPng, writeOverlay, type FoundImage } from '../io/image-files.js';
import { progressBar } from '../io/progress.js';
import { roundTo } from '../util/num.js';
import { realpathLoose, UsageError } from './anonymize-files.js';

/** The face list prints each face's head keypoints: the keypoint model's (with ears), portraits too. */
const KEYPOINTS: SegmentOptions = { headKeypoints: true };

export interface SegmentCommandOptions {
  out: string;
  overlays?: boolean;
  quiet?: boolean;
  /** Images whose face crops share one pass of the face models. */
  batch?: number;
  /** Larger images fail (MAX_IMAGE_PIXELS); default readImageFile's. */
  maxPixels?: number;
}

/** The stable per-image JSON written next to each mask. */
export function faceListJson(image: string, res: SegmentResult, modelVersion: string): object {
  return {
    image,
    width: res.width,
    height: res.height,
    score: roundTo(res.score, 3),
    model_version: modelVersion,
    faces: res.faces.map((f) => ({
      box: { x: roundTo(f.box.x, 3), y: roundTo(f.box.y, 3), width: roundTo(f.box.width, 3), height: roundTo(f.box.height, 3) },
      score: roundTo(f.score, 3),
      source: f.source,
      keypoints: f.keypoints.map((k) => ({ name: k.name, x: roundTo(k.x, 3), y: roundTo(k.y, 3), score: roundTo(k.score, 3) })),
    })),
    timings_ms: Object.fromEntries(Object.entries(res.timings).map(([k, v]) => [k, roundTo(v, 3)])),
  };
}

/** Where an image's outputs go, less the suffix: OUT/REL_DIR/NAME.EXT (the extension kept, so a.jpg and a.png do not share outputs). */
const outputBase = (out: string, im: FoundImage): string => path.join(out, im.relDir, path.basename(im.file));

/**
 * The images under `inputs`, the --out folder skipped (it may lie inside an input folder: the next run must not segment
 * the masks). Throws UsageError when --out is an input folder or two images would write the same outputs.
 */
export async function findSegmentInputs(inputs: readonly string[], out: string): Promise<FoundImage[]> {
  const outReal = await realpathLoose(out);
  for (const input of inputs) {
    if ((await stat(input).catch(() => null))?.isDirectory() && (await realpath(input)) === outReal) {
      throw new UsageError(`--out must not be an input folder (${input}): the outputs would be mixed with the images`);
    }
  }
  const images = await findImages(inputs, [outReal]);
  const byOutput = new Map<string, string>();
  for (const im of images) {
    const base = outputBase(out, im);
    const other = byOutput.get(base);
    if (other !== undefined) throw new UsageError(`${other} and ${im.file} would write the same outputs (${base}.*): segment them in separate runs or to separate --out folders`);
    byOutput.set(base, im.file);
  }
  return images;
}

/** What `segment` says when its inputs hold no image (before or instead of any work). */
export const noImagesMessage = (inputs: readonly string[]): string => `No images found in ${inputs.join(', ')}`;

/** `found`: the images from findSegmentInputs(inputs, opts.out), when the caller already has them. */
export async function runSegment(
  engine: FaceEngine & { segmentBatch?: FaceSegEngineBatch },
  inputs: string[],
  opts: SegmentCommandOptions,
  found?: FoundImage[],
): Promise<{ done: number; failed: { file: string; error: string }[] }> {
  const images = found ?? (await findSegmentInputs(inputs, opts.out));
  if (images.length === 0) throw new Error(noImagesMessage(inputs));
  await mkdir(opts.out, { recursive: true });
  const bar = progressBar('segment', { total: images.length, quiet: opts.quiet, lines: true });
  const failed: { file: string; error: string }[] = [];
  let done = 0;
  const batchSize = Math.max(1, opts.batch ?? 4);
  for (let k = 0; k < images.length; k += batchSize) {
    const group = images.slice(k, k + batchSize);
    const loaded: { im: (typeof images)[number]; img: RgbImage }[] = [];
    for (const im of group) {
      try {
        loaded.push({ im, img: await readImageFile(im.file, opts.maxPixels) });
      } catch (e) {
        failed.push({ file: im.file, error: (e as Error).message });
        bar.increment();
      }
    }
    // the face crops of the whole group go through the face models together
    let results: (SegmentResult | Error)[];
    try {
      results = engine.segmentBatch
        ? await engine.segmentBatch(loaded.map((l) => ({ image: l.img, options: KEYPOINTS })))
        : await Promise.all(loaded.map((l) => engine.segment(l.img, KEYPOINTS)));
    } catch {
      // one bad image must not cost the others: redo the group one by one
      results = [];
      for (const l of loaded) results.push(await engine.segment(l.img, KEYPOINTS).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    }
    for (let i = 0; i < loaded.length; i++) {
      const { im, img } = loaded[i];
      const res = results[i];
      try {
        if (res instanceof Error) throw res;
        const base = outputBase(opts.out, im);
        const mask = binaryUnion(res);
        await writeGrayPng(`${base}.mask.png`, mask, res.width, res.height);
        await writeFile(`${base}.json`, JSON.stringify(faceListJson(path.join(im.relDir, path.basename(im.file)), res, engine.modelVersion), null, 2));
        if (opts.overlays) await writeOverlay(`${base}.overlay.jpg`, img, mask);
        done++;
      } catch (e) {
        failed.push({ file: im.file, error: (e as Error).message });
      }
      bar.increment();
    }
  }
  bar.stop();
  return { done, failed };
}

type FaceSegEngineBatch = (items: readonly { image: RgbImage }[]) => Promise<SegmentResult[]>;
