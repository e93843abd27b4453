// Shared helpers for the model tests: decode the fixture, build test images.
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';
import { loadModelSet, type ModelSet } from '../../backend/models/index.js';
import type { Box, Point, RgbImage } from '../../backend/pipeline/types.js';

export const ASTRONAUT = fileURLToPath(new URL('../fixtures/astronaut.png', import.meta.url));

/** The bundled models on the CPU, one thread, for the tests of one file: loaded before them, closed after; call the getter inside a test. */
export function bundledModels(): () => ModelSet {
  let models: ModelSet | undefined;
  beforeAll(async () => {
    models = await loadModelSet({ provider: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await models?.close();
  });
  return () => {
    if (!models) throw new Error('bundledModels(): the models load in beforeAll; ask for them inside a test');
    return models;
  };
}

/** A file path, or encoded image bytes (e.g. the fixture transformed by sharp). */
export async function decode(file: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** `src` pasted at (ox, oy) into a w x h canvas of grey (120). */
export function paste(src: RgbImage, w: number, h: number, ox: number, oy: number): RgbImage {
  const data = new Uint8Array(w * h * 3).fill(120);
  for (let y = 0; y < src.height; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= h) continue;
    for (let x = 0; x < src.width; x++) {
      const tx = x + ox;
      if (tx < 0 || tx >= w) continue;
      data.set(src.data.subarray((y * src.width + x) * 3, (y * src.width + x) * 3 + 3), (ty * w + tx) * 3);
    }
  }
  return { width: w, height: h, data };
}

export function noise(w: number, h: number, seed = 1): RgbImage {
  const data = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width: w, height: h, data };
}

export function inside(p: Point, b: Box, margin = 0): boolean {
  return p.x >= b.x - margin && p.x <= b.x + b.width + margin && p.y >= b.y - margin && p.y <= b.y + b.height + margin;
}

/** Hand-checked face region of the astronaut fixture (512x512). */
export const ASTRONAUT_FACE: Box = { x: 175, y: 55, width: 100, height: 130 };
