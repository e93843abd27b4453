// `faceseg segment`: masks and face lists for images or folders.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceEngine, SegmentResult } from '../pipeline/types.js';
import { unionMask } from '../pipeline/warp.js';
import { findImages, readImageFile, writeGrayPng, writeOverlay } from './image-files.js';
import { progressBar } from './progress.js';

export interface SegmentCommandOptions {
  out: string;
  overlays?: boolean;
  quiet?: boolean;
}

/** The stable per-image JSON written next to each mask. */
export function faceListJson(image: string, res: SegmentResult, modelVersion: string): object {
  return {
    image,
    width: res.width,
    height: res.height,
    score: round(res.score),
    model_version: modelVersion,
    faces: res.faces.map((f) => ({
      box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
      score: round(f.score),
      source: f.source,
      keypoints: f.keypoints.map((k) => ({ name: k.name, x: round(k.x), y: round(k.y), score: round(k.score) })),
    })),
    timings_ms: Object.fromEntries(Object.entries(res.timings).map(([k, v]) => [k, round(v)])),
  };
}

export function binaryUnion(res: SegmentResult): Uint8Array {
  const u = unionMask(res.faces.map((f) => f.mask), res.width, res.height);
  for (let i = 0; i < u.length; i++) u[i] = u[i] >= 128 ? 255 : 0;
  return u;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export async function runSegment(engine: FaceEngine, inputs: string[], opts: SegmentCommandOptions): Promise<{ done: number; failed: { file: string; error: string }[] }> {
  const images = await findImages(inputs);
  if (images.length === 0) throw new Error(`No images found in ${inputs.join(', ')}`);
  await mkdir(opts.out, { recursive: true });
  const bar = progressBar(images.length, 'segment', opts.quiet);
  const failed: { file: string; error: string }[] = [];
  let done = 0;
  for (const im of images) {
    try {
      const img = await readImageFile(im.file);
      const res = await engine.segment(img);
      const base = path.join(opts.out, im.relDir, im.name);
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
  bar.stop();
  return { done, failed };
}
