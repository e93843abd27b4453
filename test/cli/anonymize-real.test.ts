// `faceseg anonymize` with the real shipped models on the bundled NASA
// portrait (one face, skin from about (180, 60) to (270, 180)), plus an image
// without a face, which must be listed in the report.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_NAME, runAnonymize } from '../../backend/cli/anonymize.js';
import { buildEngine } from '../../backend/compose.js';
import type { FaceSegEngine } from '../../backend/pipeline/engine.js';
import { testConfig } from '../http/helpers.js';
import { ASTRONAUT } from '../models/fixtures.js';

const FACE_CORE = { cx: 224, cy: 120, rx: 30, ry: 42 };

describe('anonymize with the real engine', () => {
  let engine: FaceSegEngine;
  beforeAll(async () => {
    engine = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu' }) });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('blurs the astronaut face inside its mask, leaves the background alone, and reports the image without a face', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'faceseg-anon-real-'));
    const IN = path.join(root, 'in');
    const OUT = path.join(root, 'out');
    mkdirSync(path.join(IN, 'people'), { recursive: true });
    copyFileSync(ASTRONAUT, path.join(IN, 'people', 'astronaut.png'));
    await sharp({ create: { width: 200, height: 150, channels: 3, background: { r: 120, g: 160, b: 200 } } })
      .jpeg()
      .toFile(path.join(IN, 'sky.jpg'));

    const r = await runAnonymize(engine, IN, OUT, { quiet: true });
    expect(r).toMatchObject({ images: 2, written: 2, failed: [], no_faces: ['sky.jpg'] });
    expect(JSON.parse(readFileSync(path.join(OUT, REPORT_NAME), 'utf8')).no_faces).toEqual(['sky.jpg']);

    const side = JSON.parse(readFileSync(path.join(OUT, 'people/astronaut.png.json'), 'utf8'));
    expect(side.faces).toHaveLength(1);
    const box = side.faces[0].box as { x: number; y: number; width: number; height: number };
    expect(box.x).toBeGreaterThan(140);
    expect(box.x + box.width).toBeLessThan(310);
    expect(box.y).toBeGreaterThan(10);
    expect(box.y + box.height).toBeLessThan(230);

    const a = await sharp(ASTRONAUT).removeAlpha().raw().toBuffer();
    const b = await sharp(path.join(OUT, 'people/astronaut.png')).removeAlpha().raw().toBuffer();
    let core = 0;
    let coreN = 0;
    let far = 0;
    let farN = 0;
    const margin = 40;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const i = (y * 512 + x) * 3;
        const d = Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
        if (((x - FACE_CORE.cx) / FACE_CORE.rx) ** 2 + ((y - FACE_CORE.cy) / FACE_CORE.ry) ** 2 <= 1) {
          core += d;
          coreN++;
        } else if (x < box.x - margin || x > box.x + box.width + margin || y < box.y - margin || y > box.y + box.height + margin) {
          far += d;
          farN++;
        }
      }
    }
    // the face really changed; the background far from it did not change at all (PNG is lossless)
    expect(core / coreN / 3).toBeGreaterThan(8);
    expect(farN).toBeGreaterThan(150_000);
    expect(far).toBe(0);
  });
});
