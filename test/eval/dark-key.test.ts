// The people set's darkened copies draw their noise from the image's path
// inside the data folder, not from how the folder was named on the command line.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { darkPrep, evalPeople, peopleKey } from '../../backend/eval/run-eval.js';
import type { FaceEngine, RgbImage } from '../../backend/pipeline/types.js';

describe('peopleKey', () => {
  it('is the same for a relative and an absolute spelling of the data folder', () => {
    const rel = path.join('..', 'shared', 'data', 'people');
    const abs = path.resolve(rel);
    expect(peopleKey(rel, path.join(rel, 'coco', '000000196141.jpg'))).toBe('people/coco/000000196141.jpg');
    expect(peopleKey(abs, path.join(abs, 'coco', '000000196141.jpg'))).toBe('people/coco/000000196141.jpg');
  });

  it('gives one darkened copy per key and another for another key', () => {
    const img: RgbImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(180) };
    const a = darkPrep(img, peopleKey('/x/people', '/x/people/mpii/1.jpg'));
    const b = darkPrep(img, peopleKey('../people', '../people/mpii/1.jpg'));
    const c = darkPrep(img, peopleKey('/x/people', '/x/people/mpii/2.jpg'));
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(false);
  });
});

describe('evalPeople', () => {
  it('hands its copy maker the key inside the data folder, however the folder is spelled', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'people-key-'));
    try {
      const dir = path.join(root, 'data', 'people');
      await mkdir(path.join(dir, 'lapa'), { recursive: true });
      await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 120, g: 90, b: 80 } } }).jpeg().toFile(path.join(dir, 'lapa', 'a.jpg'));
      const coco = { images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, bbox: [2, 2, 8, 8] }] };
      await writeFile(path.join(dir, 'lapa', 'test_lapa.json'), JSON.stringify(coco));
      const engine: FaceEngine = { modelVersion: 'stub', executionProvider: 'cpu', segment: async (img) => ({ width: img.width, height: img.height, faces: [], score: 1, timings: {} }), close: async () => {} };
      const keys: string[] = [];
      const prep = (img: RgbImage, key: string) => {
        keys.push(key);
        return img;
      };
      await evalPeople(engine, dir, { quiet: true, prep });
      // the same folder through a relative path
      await evalPeople(engine, path.relative(process.cwd(), dir), { quiet: true, prep });
      expect(keys).toEqual(['people/lapa/a.jpg', 'people/lapa/a.jpg']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
