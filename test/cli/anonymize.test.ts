// `faceseg anonymize` on a folder built here: nested folders, PNG/JPEG/WebP,
// an EXIF-rotated JPEG, a corrupt file; resume, refusals, the four modes.
// The engine is a double that returns one square face in the middle of the
// oriented image (SquareFaceEngine); one test runs the real models.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  faceAlpha,
  formatAnonymizeSummary,
  REPORT_NAME,
  runAnonymize,
  squaredDistance,
  UsageError,
  type AnonymizeReport,
} from '../../backend/cli/anonymize.js';
import type { Face } from '../../backend/pipeline/types.js';
import { SquareFaceEngine } from '../http/helpers.js';

/** Deterministic noise so that a blur really changes pixels. */
function noise(width: number, height: number, channels = 3, seed = 1): Buffer {
  const b = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < b.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    b[i] = (s >> 16) & 0xff;
  }
  return b;
}

const raw = (buf: Buffer, width: number, height: number, channels: 3 | 4 = 3) => sharp(buf, { raw: { width, height, channels } });

async function pixels(file: string): Promise<{ width: number; height: number; channels: number; data: Buffer }> {
  const { data, info } = await sharp(file).rotate().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** Mean absolute difference over the pixels where `where(x, y)` holds (RGB channels). */
function meanDiff(a: { width: number; channels: number; data: Buffer }, b: { channels: number; data: Buffer }, w: number, h: number, where: (x: number, y: number) => boolean) {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!where(x, y)) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * w + x) * a.channels + c] - b.data[(y * w + x) * b.channels + c]);
      n += 3;
    }
  }
  return { mean: sum / n, n };
}

let IN: string;
let OUT: string;

async function buildInput(dir: string): Promise<void> {
  mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  mkdirSync(path.join(dir, 'rot'), { recursive: true });
  await raw(noise(80, 60, 3, 1), 80, 60).jpeg({ quality: 95 }).toFile(path.join(dir, 'top.jpg'));
  await raw(noise(64, 48, 3, 2), 64, 48).png().toFile(path.join(dir, 'a', 'b', 'deep.png'));
  await raw(noise(50, 50, 3, 3), 50, 50).webp({ quality: 90 }).toFile(path.join(dir, 'a', 'pic.webp'));
  await raw(noise(30, 20, 4, 4), 30, 20, 4).png().toFile(path.join(dir, 'a', 'alpha.png'));
  // stored 60x40 with a red block at the stored top-left; orientation 6 shows it 40x60, the block top-right
  const stored = noise(60, 40, 3, 5);
  for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) stored.set([230, 20, 20], (y * 60 + x) * 3);
  await raw(stored, 60, 40).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(path.join(dir, 'rot', 'rotated.jpg'));
  writeFileSync(path.join(dir, 'broken.jpg'), Buffer.from('this is not a jpeg at all, just text pretending'));
  writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

beforeEach(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'faceseg-anon-'));
  IN = path.join(root, 'in');
  OUT = path.join(root, 'out');
  mkdirSync(IN);
  await buildInput(IN);
});

describe('faceseg anonymize', () => {
  it('an animated GIF is refused by name, not written back as its first frame, and the run goes on', async () => {
    const [w, h, frames] = [32, 24, 3];
    await sharp(noise(w, h * frames), { raw: { width: w, height: h * frames, channels: 3, pageHeight: h } }).gif({ delay: [100, 100, 100] }).toFile(path.join(IN, 'moving.gif'));
    const r = await runAnonymize(new SquareFaceEngine(), IN, OUT, { quiet: true });
    expect(r.failed).toContainEqual({ file: 'moving.gif', error: expect.stringContaining('animated gif with 3 frames') });
    expect(listFiles(OUT)).not.toContain('moving.gif');
    expect(r.written).toBe(5);
  });

  it('writes every image with the same relative path and format, upright, faces blurred inside the mask, background untouched', async () => {
    const before = listFiles(IN);
    const engine = new SquareFaceEngine();
    const r = await runAnonymize(engine, IN, OUT, { quiet: true });

    expect(r).toMatchObject({ images: 6, written: 5, skipped_existing: 0, no_faces: [], interrupted: false });
    expect(r.failed).toEqual([{ file: 'broken.jpg', error: expect.stringContaining('cannot decode') }]);
    expect(listFiles(IN)).toEqual(before); // IN untouched
    expect(listFiles(OUT)).toEqual(
      [
        REPORT_NAME,
        'a/alpha.png',
        'a/alpha.png.json',
        'a/b/deep.png',
        'a/b/deep.png.json',
        'a/pic.webp',
        'a/pic.webp.json',
        'rot/rotated.jpg',
        'rot/rotated.jpg.json',
        'top.jpg',
        'top.jpg.json',
      ].sort(),
    );
    const fmt = async (f: string) => sharp(path.join(OUT, f)).metadata();
    expect(await fmt('top.jpg')).toMatchObject({ format: 'jpeg', width: 80, height: 60 });
    expect(await fmt('a/b/deep.png')).toMatchObject({ format: 'png', width: 64, height: 48 });
    expect(await fmt('a/pic.webp')).toMatchObject({ format: 'webp', width: 50, height: 50 });
    expect(await fmt('a/alpha.png')).toMatchObject({ format: 'png', hasAlpha: true });

    // EXIF orientation 6: the output is upright (40x60), without an orientation tag, the red block top-right
    const rot = await fmt('rot/rotated.jpg');
    expect(rot).toMatchObject({ width: 40, height: 60 });
    expect(rot.orientation).toBeUndefined();
    expect(engine.calls.some((c) => c.image.width === 40 && c.image.height === 60)).toBe(true);
    const rp = await sharp(path.join(OUT, 'rot/rotated.jpg')).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...rp.data.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3)];
    expect(at(35, 4)[0]).toBeGreaterThan(180);
    expect(at(35, 4)[1]).toBeLessThan(90);

    // PNG (lossless): the square face of the double is 24x24 at (20,12); dilate 4 + feather 6
    const src = await pixels(path.join(IN, 'a/b/deep.png'));
    const out = await pixels(path.join(OUT, 'a/b/deep.png'));
    const inside = meanDiff(src, out, 64, 48, (x, y) => x >= 22 && x < 42 && y >= 14 && y < 34);
    const farOutside = meanDiff(src, out, 64, 48, (x, y) => x < 20 - 11 || x >= 44 + 11 || y < 12 - 11 || y >= 36 + 11);
    expect(inside.mean).toBeGreaterThan(30);
    expect(farOutside.n).toBeGreaterThan(1000);
    expect(farOutside.mean).toBe(0);

    // JPEG: re-encoding changes the background a little, the face a lot
    const sj = await pixels(path.join(IN, 'top.jpg'));
    const oj = await pixels(path.join(OUT, 'top.jpg'));
    // face: side 30 at (25,15)
    expect(meanDiff(sj, oj, 80, 60, (x, y) => x >= 28 && x < 52 && y >= 18 && y < 42).mean).toBeGreaterThan(30);
    expect(meanDiff(sj, oj, 80, 60, (x, y) => x < 12 || x >= 68).mean).toBeLessThan(8);

    const side = JSON.parse(readFileSync(path.join(OUT, 'a/b/deep.png.json'), 'utf8'));
    expect(side).toMatchObject({ image: 'a/b/deep.png', output: 'a/b/deep.png', width: 64, height: 48, mode: 'blur', model_version: 'test-square-v1' });
    expect(side.faces).toEqual([{ box: { x: 20, y: 12, width: 24, height: 24 }, score: 0.9, source: 'fused' }]);
    expect(JSON.parse(readFileSync(path.join(OUT, 'rot/rotated.jpg.json'), 'utf8'))).toMatchObject({ width: 40, height: 60, exif_orientation: 6 });

    const rep = JSON.parse(readFileSync(path.join(OUT, REPORT_NAME), 'utf8')) as AnonymizeReport;
    expect(rep.failed.map((f) => f.file)).toEqual(['broken.jpg']);
    expect(rep.no_faces).toEqual([]);
    expect(formatAnonymizeSummary(r)).toContain('broken.jpg');
  });

  it('a lossless TIFF stays lossless: only the face changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-tiff-'));
    try {
      mkdirSync(path.join(dir, 'in'));
      await raw(noise(64, 48, 3, 9), 64, 48).tiff({ compression: 'lzw' }).toFile(path.join(dir, 'in', 'scan.tif'));
      const r = await runAnonymize(new SquareFaceEngine(), path.join(dir, 'in'), path.join(dir, 'out'), { quiet: true });
      expect(r).toMatchObject({ images: 1, written: 1 });
      const src = await pixels(path.join(dir, 'in', 'scan.tif'));
      const out = await pixels(path.join(dir, 'out', 'scan.tif'));
      expect(await sharp(path.join(dir, 'out', 'scan.tif')).metadata()).toMatchObject({ format: 'tiff', width: 64, height: 48 });
      // the double's face is 24x24 at (20,12): blurred inside, byte-identical far outside
      expect(meanDiff(src, out, 64, 48, (x, y) => x >= 22 && x < 42 && y >= 14 && y < 34).mean).toBeGreaterThan(30);
      expect(meanDiff(src, out, 64, 48, (x, y) => x < 9 || x >= 55 || y < 1 || y >= 47).mean).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is resumable: existing outputs are kept unless --overwrite; images without faces are reported on every run', async () => {
    const engine = new SquareFaceEngine();
    const segment = engine.segment.bind(engine);
    // "no face" in the webp
    engine.segment = async (img, o) => {
      const res = await segment(img, o);
      return img.width === 50 ? { ...res, faces: [], score: 0.5 } : res;
    };
    const r1 = await runAnonymize(engine, IN, OUT, { quiet: true, concurrency: 3 });
    expect(r1.written).toBe(5);
    expect(r1.no_faces).toEqual(['a/pic.webp']);
    const mtime = statSync(path.join(OUT, 'top.jpg')).mtimeMs;

    engine.calls.length = 0;
    const r2 = await runAnonymize(engine, IN, OUT, { quiet: true });
    expect(r2).toMatchObject({ written: 0, skipped_existing: 5, no_faces: ['a/pic.webp'] });
    expect(r2.failed.map((f) => f.file)).toEqual(['broken.jpg']); // tried again: it has no output
    expect(engine.calls).toHaveLength(0);
    expect(statSync(path.join(OUT, 'top.jpg')).mtimeMs).toBe(mtime);

    const other = await runAnonymize(engine, IN, OUT, { quiet: true, mode: 'pixelate' });
    expect(other).toMatchObject({ written: 0, skipped_existing: 5 });
    expect(other.kept_with_other_settings).toHaveLength(5);
    expect(formatAnonymizeSummary(other)).toContain('--overwrite');

    const r3 = await runAnonymize(engine, IN, OUT, { quiet: true, overwrite: true });
    expect(r3).toMatchObject({ written: 5, skipped_existing: 0 });
    expect(listFiles(OUT).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses OUT equal to IN, OUT inside IN and IN inside OUT, writing nothing', async () => {
    const before = listFiles(IN);
    const engine = new SquareFaceEngine();
    await expect(runAnonymize(engine, IN, IN, { quiet: true })).rejects.toBeInstanceOf(UsageError);
    await expect(runAnonymize(engine, IN, path.join(IN, 'anon'), { quiet: true })).rejects.toThrow(/must not be inside IN/);
    await expect(runAnonymize(engine, IN, path.join(IN, '.', 'a', '..'), { quiet: true })).rejects.toThrow(/another folder/);
    await expect(runAnonymize(engine, path.join(IN, 'a'), IN, { quiet: true })).rejects.toThrow(/IN .* must not be inside OUT/);
    await expect(runAnonymize(engine, path.join(IN, 'nope'), OUT, { quiet: true })).rejects.toThrow(/does not exist/);
    // a symlink that leads into IN is IN
    symlinkSync(path.join(IN, 'a'), `${OUT}-link`);
    await expect(runAnonymize(engine, IN, path.join(`${OUT}-link`, 'x'), { quiet: true })).rejects.toThrow(/must not be inside IN/);
    await expect(runAnonymize(engine, path.join(IN, 'top.jpg'), OUT, { quiet: true })).rejects.toThrow(/must be a folder/);
    expect(listFiles(IN)).toEqual(before);
    expect(engine.calls).toHaveLength(0);
  });

  it('an IN without images says which extensions it looked for, none it cannot read', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'faceseg-anon-empty-'));
    writeFileSync(path.join(empty, 'old.bmp'), 'BM');
    const r = await runAnonymize(new SquareFaceEngine(), empty, `${empty}-out`, { quiet: true });
    expect(r.images).toBe(0);
    const summary = formatAnonymizeSummary(r);
    expect(summary).toContain('looked for .jpg .jpeg .png');
    expect(summary).not.toContain('.bmp');
  });

  // root may write anywhere: the check cannot be seen there
  it.skipIf(process.getuid?.() === 0)('refuses OUT that cannot be written or created before processing anything', async () => {
    const engine = new SquareFaceEngine();
    mkdirSync(OUT, { recursive: true });
    chmodSync(OUT, 0o555);
    try {
      await expect(runAnonymize(engine, IN, OUT, { quiet: true })).rejects.toThrow(/OUT is not writable/);
      await expect(runAnonymize(engine, IN, path.join(OUT, 'new', 'deeper'), { quiet: true })).rejects.toThrow(/OUT cannot be created/);
    } finally {
      chmodSync(OUT, 0o755);
    }
    expect(engine.calls).toHaveLength(0);
  });

  it('--mode mask writes the binary mask, solid paints the face black, pixelate makes blocks', async () => {
    const engine = new SquareFaceEngine();
    const m = await runAnonymize(engine, IN, OUT, { quiet: true, mode: 'mask', dilate: 2, feather: 0 });
    expect(m.written).toBe(5);
    expect(await sharp(path.join(OUT, 'a/b/deep.png.mask.png')).metadata()).toMatchObject({ format: 'png', width: 64, height: 48, channels: 1 });
    const mask = await sharp(path.join(OUT, 'a/b/deep.png.mask.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const on = mask.data.reduce((a, v) => a + (v === 255 ? 1 : 0), 0);
    expect(mask.data.every((v) => v === 0 || v === 255)).toBe(true);
    expect(on).toBeGreaterThan(24 * 24);
    expect(on).toBeLessThanOrEqual(28 * 28);
    expect(mask.data[24 * 64 + 32]).toBe(255);
    expect(mask.data[2 * 64 + 2]).toBe(0);

    const OUT2 = `${OUT}-solid`;
    await runAnonymize(engine, IN, OUT2, { quiet: true, mode: 'solid' });
    const solid = await pixels(path.join(OUT2, 'a/b/deep.png'));
    expect([...solid.data.subarray((24 * 64 + 32) * 3, (24 * 64 + 32) * 3 + 3)]).toEqual([0, 0, 0]);

    const OUT3 = `${OUT}-pix`;
    await runAnonymize(engine, IN, OUT3, { quiet: true, mode: 'pixelate', dilate: 0, feather: 0 });
    const pix = await pixels(path.join(OUT3, 'a/b/deep.png'));
    // block = 4 px on a grid from the image origin: (24..27, 24..27) is one block, all equal
    const px = (x: number, y: number) => [...pix.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
    for (let y = 24; y < 28; y++) for (let x = 24; x < 28; x++) expect(px(x, y)).toEqual(px(24, 24));
    expect(px(24, 24)).not.toEqual(px(28, 24));
  });

  it('stops after the images in flight when interrupted', async () => {
    const controller = new AbortController();
    const engine = new SquareFaceEngine();
    const segment = engine.segment.bind(engine);
    engine.segment = async (img, o) => {
      controller.abort();
      return segment(img, o);
    };
    const r = await runAnonymize(engine, IN, OUT, { quiet: true, concurrency: 1, signal: controller.signal });
    expect(r.interrupted).toBe(true);
    expect(r.written + r.failed.length).toBeLessThanOrEqual(2); // broken.jpg sorts first
    expect(r.written).toBe(1);
    expect(JSON.parse(readFileSync(path.join(OUT, REPORT_NAME), 'utf8')).interrupted).toBe(true);
  });
});

describe('mask maths', () => {
  it('squaredDistance matches brute force', () => {
    const w = 23;
    const h = 17;
    const on = new Uint8Array(w * h);
    let s = 7;
    for (let i = 0; i < on.length; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      on[i] = (s >> 16) % 29 === 0 ? 1 : 0;
    }
    const d = squaredDistance(on, w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let best = Infinity;
        for (let j = 0; j < on.length; j++) if (on[j]) best = Math.min(best, (j % w - x) ** 2 + (Math.floor(j / w) - y) ** 2);
        expect(d[y * w + x]).toBe(best);
      }
    }
    expect(squaredDistance(new Uint8Array(6), 3, 2).every((v) => v === Infinity)).toBe(true);
  });

  it('faceAlpha: 255 inside the grown mask, a linear ramp over the feather, 0 beyond', () => {
    const face: Face = {
      box: { x: 10, y: 10, width: 1, height: 1 },
      score: 1,
      mask: { x: 10, y: 10, width: 1, height: 1, data: new Uint8Array([255]) },
      keypoints: [],
      source: 'detector',
    };
    const a = faceAlpha([face], 40, 40, 3, 4)!;
    const at = (x: number, y: number) => a.data[(y - a.y) * a.width + (x - a.x)];
    expect(at(10, 10)).toBe(255);
    expect(at(13, 10)).toBe(255); // distance 3 = dilate
    expect(at(15, 10)).toBe(Math.round(255 * (1 - 2 / 4)));
    expect(at(17, 10)).toBe(0);
    expect(a.x).toBeGreaterThanOrEqual(0);
    expect(faceAlpha([], 40, 40, 3, 4)).toBeUndefined();
  });
});
