// Manifest validation and the errors a broken model folder produces.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSet } from '../../backend/models/index.js';
import { defaultManifestPath, defaultModelDir, loadManifest, ManifestError, ModelFileError, parseManifest } from '../../backend/models/manifest.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'faceseg-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('manifest', () => {
  it('parses the shipped manifest with provenance and licences', async () => {
    const m = await loadManifest();
    for (const e of m.models) {
      expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(e.upstream?.package).toMatch(/^(npm|pypi):/);
      expect(e.license).toMatch(/MIT|Apache-2.0/);
      expect(e.outputs.length).toBeGreaterThan(0);
    }
  });

  it('rejects an invalid manifest with a message naming the field', () => {
    expect(() => parseManifest({ schema: 1, models: [{ role: 'keypoints' }] }, 'x.json')).toThrow(ManifestError);
    expect(() => parseManifest({ schema: 1, models: [{ role: 'nope' }] }, 'x.json')).toThrow(/x\.json.*models\.0/);
  });

  it('a missing model file names the file, its expected sha256 and the export command', async () => {
    const manifest = JSON.parse(await readFile(defaultManifestPath(), 'utf8'));
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const kp = manifest.models.find((m: { role: string }) => m.role === 'keypoints');
    const err = await loadModelSet({ provider: 'cpu', manifestPath: path.join(dir, 'manifest.json') }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect(err.message).toContain(path.join(dir, kp.file));
    expect(err.message).toContain(kp.sha256);
    expect(err.message).toContain('missing');
    expect(err.message).toContain('run `npm run models:export` to regenerate');
  });

  it('a corrupt model file names the file and both checksums', async () => {
    const manifest = JSON.parse(await readFile(defaultManifestPath(), 'utf8'));
    for (const m of manifest.models) await copyFile(path.join(defaultModelDir(), m.file), path.join(dir, m.file));
    const det = manifest.models.find((m: { id: string }) => m.id === 'centerface');
    const bytes = await readFile(path.join(dir, det.file));
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(path.join(dir, det.file), bytes);
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const err = await loadModelSet({ provider: 'cpu', manifestPath: path.join(dir, 'manifest.json') }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect(err.message).toContain(path.join(dir, det.file));
    expect(err.message).toContain(`expected sha256 ${det.sha256}`);
    expect(err.message).toMatch(/got [0-9a-f]{64}/);
    expect(err.message).toContain('npm run models:export');
  });

  it('an unreadable manifest says so', async () => {
    await expect(loadManifest(path.join(dir, 'nope.json'))).rejects.toThrow(/nope\.json.*cannot be read.*models:export/);
  });
});
