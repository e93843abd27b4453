// `faceseg segment`: output layout and format, batching, bad files.
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../backend/cli/anonymize-files.js';
import { runSegment } from '../../backend/cli/segment.js';
import type { RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';
import { SquareFaceEngine } from '../http/helpers.js';

class BatchingEngine extends SquareFaceEngine {
  batches: number[] = [];
  options: (SegmentOptions | undefined)[] = [];
  async segmentBatch(items: readonly { image: RgbImage; options?: SegmentOptions }[]): Promise<SegmentResult[]> {
    this.batches.push(items.length);
    this.options.push(...items.map((i) => i.options));
    return Promise.all(items.map((i) => this.segment(i.image)));
  }
}

describe('faceseg segment', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'faceseg-seg-'));
    await mkdir(path.join(dir, 'in', 'sub'), { recursive: true });
    const px = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } });
    await px(40, 30).png().toFile(path.join(dir, 'in', 'a.png'));
    await px(20, 60).jpeg().toFile(path.join(dir, 'in', 'sub', 'b.jpg'));
    await px(16, 16).webp().toFile(path.join(dir, 'in', 'sub', 'c.webp'));
    await writeFile(path.join(dir, 'in', 'broken.jpg'), Buffer.from('not a jpeg'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes NAME.EXT.mask.png and NAME.EXT.json per image, keeps sub-folders, reports the broken file', async () => {
    const engine = new BatchingEngine();
    const out = path.join(dir, 'out');
    const r = await runSegment(engine, [path.join(dir, 'in')], { out, quiet: true, batch: 2 });
    expect(r.done).toBe(3);
    expect(r.failed.map((f) => path.basename(f.file))).toEqual(['broken.jpg']);
    // 4 files in order a, broken, sub/b, sub/c in groups of 2: the broken one is dropped before its batch
    expect(engine.batches).toEqual([1, 2]);
    const meta = await sharp(path.join(out, 'sub', 'b.jpg.mask.png')).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([20, 60, 1]);
    const { data } = await sharp(path.join(out, 'a.png.mask.png')).raw().toBuffer({ resolveWithObject: true });
    expect(new Set(data)).toEqual(new Set([0, 255]));
    const json = JSON.parse(await readFile(path.join(out, 'sub', 'c.webp.json'), 'utf8'));
    expect(json).toMatchObject({ image: path.join('sub', 'c.webp'), width: 16, height: 16, model_version: engine.modelVersion });
    expect(json.faces[0]).toMatchObject({ source: 'fused', box: { width: 8, height: 8 } });
    expect(json.faces[0].keypoints[0].name).toBe('nose');
    // the JSON lists head keypoints, so portraits must not skip the keypoint model
    expect(engine.options).toEqual([{ headKeypoints: true }, { headKeypoints: true }, { headKeypoints: true }]);
  });

  it('falls back to one image at a time when a batch fails, so only the bad image is lost', async () => {
    const engine = new BatchingEngine();
    engine.segmentBatch = async () => {
      throw new Error('batch exploded');
    };
    const original = engine.segment.bind(engine);
    engine.segment = async (img: RgbImage) => {
      if (img.width === 40) throw new Error('model failed on this one');
      return original(img);
    };
    const r = await runSegment(engine, [path.join(dir, 'in')], { out: path.join(dir, 'out'), quiet: true, batch: 4 });
    expect(r.done).toBe(2);
    expect(r.failed.map((f) => path.basename(f.file)).sort()).toEqual(['a.png', 'broken.jpg']);
    expect(r.failed.find((f) => f.file.endsWith('a.png'))?.error).toBe('model failed on this one');
  });

  it('keeps the extension in the output names, so a.jpg and a.png do not overwrite each other', async () => {
    await sharp({ create: { width: 24, height: 12, channels: 3, background: '#808080' } }).jpeg().toFile(path.join(dir, 'in', 'a.jpg'));
    const out = path.join(dir, 'out');
    const r = await runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out, quiet: true, overlays: true });
    expect(r.done).toBe(4);
    expect((await sharp(path.join(out, 'a.jpg.mask.png')).metadata()).width).toBe(24);
    expect((await sharp(path.join(out, 'a.png.mask.png')).metadata()).width).toBe(40);
    expect(JSON.parse(await readFile(path.join(out, 'a.jpg.json'), 'utf8')).image).toBe('a.jpg');
    expect(JSON.parse(await readFile(path.join(out, 'a.png.json'), 'utf8')).image).toBe('a.png');
    expect((await readdir(out)).filter((f) => f.endsWith('.overlay.jpg')).sort()).toEqual(['a.jpg.overlay.jpg', 'a.png.overlay.jpg']);
  });

  it('refuses two inputs that would write the same outputs', async () => {
    await mkdir(path.join(dir, 'other'));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'other', 'a.png'));
    const inputs = [path.join(dir, 'in', 'a.png'), path.join(dir, 'other', 'a.png')];
    await expect(runSegment(new BatchingEngine(), inputs, { out: path.join(dir, 'out'), quiet: true })).rejects.toThrow(UsageError);
    await expect(runSegment(new BatchingEngine(), inputs, { out: path.join(dir, 'out'), quiet: true })).rejects.toThrow(/would write the same outputs/);
  });

  it('skips an --out folder inside an input folder, so a second run does not segment its own masks', async () => {
    const out = path.join(dir, 'in', 'masks');
    const first = await runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out, quiet: true, overlays: true });
    const second = await runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out, quiet: true, overlays: true });
    expect([first.done, second.done]).toEqual([3, 3]);
    expect(second.failed.map((f) => path.basename(f.file))).toEqual(['broken.jpg']);
    expect((await readdir(out)).sort()).toEqual(['a.png.json', 'a.png.mask.png', 'a.png.overlay.jpg', 'sub']);
  });

  it('refuses --out equal to an input folder', async () => {
    await expect(runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out: path.join(dir, 'in'), quiet: true })).rejects.toThrow(/--out must not be an input folder/);
  });

  it('prints plain progress lines when stderr is not a terminal (nohup, CI, a log file)', async () => {
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = false;
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out: path.join(dir, 'out') });
      expect(write.mock.calls.map((c) => String(c[0]))).toContainEqual(expect.stringMatching(/^segment: 4\/4 \(100%\)/));
    } finally {
      write.mockRestore();
      process.stderr.isTTY = tty;
    }
  });

  it('refuses images over maxPixels (MAX_IMAGE_PIXELS), the others are segmented', async () => {
    const r = await runSegment(new BatchingEngine(), [path.join(dir, 'in')], { out: path.join(dir, 'out'), quiet: true, maxPixels: 1000 });
    expect(r.done).toBe(1); // c.webp, 16x16; a.png and sub/b.jpg have 1200 pixels
    expect(r.failed.map((f) => path.basename(f.file)).sort()).toEqual(['a.png', 'b.jpg', 'broken.jpg']);
    expect(r.failed.find((f) => f.file.endsWith('a.png'))?.error).toMatch(/pixel limit/i);
  });
});
