// LOCAL_FILES_DOCUMENT_ROOT: links inside the root that point outside it are
// refused (realpath before the inside-root check); links that stay inside work.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageSource, type ImageSource } from '../../backend/media/image-source.js';

let dir: string;
let src: ImageSource;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-links-'));
  const root = path.join(dir, 'root');
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'sub', 'in.png'), 'inside');
  writeFileSync(path.join(dir, 'secret.png'), 'outside');
  symlinkSync('/etc', path.join(root, 'etc'));
  symlinkSync(path.join(dir, 'secret.png'), path.join(root, 'secret.png'));
  symlinkSync(dir, path.join(root, 'up'));
  symlinkSync(path.join(root, 'sub', 'in.png'), path.join(root, 'alias.png'));
  symlinkSync('sub', path.join(root, 'subalias'));
  src = createImageSource({ localFilesDocumentRoot: root, maxBytes: 1e6, timeoutMs: 1000 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const local = (d: string) => `/data/local-files/?d=${encodeURIComponent(d)}`;

describe('symlinks under LOCAL_FILES_DOCUMENT_ROOT', () => {
  it.each(['etc/passwd', 'etc/hostname', 'secret.png', 'up/secret.png'])('a link out of the root (%s) is path_traversal', async (d) => {
    await expect(src.fetch(local(d))).rejects.toMatchObject({ code: 'path_traversal', message: expect.stringMatching(/outside LOCAL_FILES_DOCUMENT_ROOT/) });
  });

  it('links that stay inside the root are followed', async () => {
    expect((await src.fetch(local('alias.png'))).toString()).toBe('inside');
    expect((await src.fetch(local('subalias/in.png'))).toString()).toBe('inside');
    expect((await src.fetch(local('sub/in.png'))).toString()).toBe('inside');
  });

  it('a dangling link is not_found', async () => {
    symlinkSync(path.join(dir, 'nothing.png'), path.join(dir, 'root', 'dangling.png'));
    await expect(src.fetch(local('dangling.png'))).rejects.toMatchObject({ code: 'not_found' });
  });
});
