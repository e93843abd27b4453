import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findImages, IMAGE_EXTENSIONS } from '../../backend/io/image-files.js';

const root = mkdtempSync(path.join(tmpdir(), 'faceseg-find-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('findImages', () => {
  it('follows symbolic links to images and folders, walks each real folder once (a link loop ends), skips dangling links', async () => {
    const store = path.join(root, 'store');
    const data = path.join(root, 'data');
    mkdirSync(path.join(store, 'sub'), { recursive: true });
    mkdirSync(data);
    writeFileSync(path.join(store, 'a.jpg'), 'x');
    writeFileSync(path.join(store, 'sub', 'b.png'), 'x');
    writeFileSync(path.join(store, 'notes.txt'), 'x');
    symlinkSync(path.join(store, 'a.jpg'), path.join(data, 'a.jpg'));
    symlinkSync(path.join(store, 'sub'), path.join(data, 'sub'));
    symlinkSync(data, path.join(store, 'sub', 'loop'));
    symlinkSync(path.join(store, 'missing.jpg'), path.join(data, 'gone.jpg'));
    const found = await findImages([data]);
    expect(found.map((f) => path.relative(data, f.file))).toEqual(['a.jpg', path.join('sub', 'b.png')]);
    expect(found[1].relDir).toBe('sub');
  });

  it('looks only for formats sharp can decode (no .bmp)', async () => {
    const dir = path.join(root, 'bmp');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'old.bmp'), 'BM');
    writeFileSync(path.join(dir, 'new.png'), 'x');
    expect((await findImages([dir])).map((f) => path.basename(f.file))).toEqual(['new.png']);
    expect(IMAGE_EXTENSIONS.has('.bmp')).toBe(false);
  });
});
