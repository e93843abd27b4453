// The real shipped models end to end on the bundled NASA portrait: engine
// alone, and through the HTTP app as Label Studio would call it.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../backend/compose.js';
import { createApp } from '../../backend/http/app.js';
import { rleToMask } from '../../backend/labelstudio/brush-rle.js';
import { silentLogger } from '../../backend/logging.js';
import { imageSourceFromConfig } from '../../backend/media/image-source.js';
import { createMetrics } from '../../backend/metrics.js';
import type { FaceSegEngine } from '../../backend/pipeline/engine.js';
import type { RgbImage, SegmentResult } from '../../backend/pipeline/types.js';
import { FRAME_SIZE, type FaceSample } from '../../backend/pipeline/face-sample.js';
import { bestDilate, fromFullMask, iouCurve, maskIou } from '../../backend/learning/masks.js';
import { unionMask } from '../../backend/pipeline/mask-ops.js';
import { BRUSH_BOX_KP_XML, BRUSH_XML, testConfig } from '../http/helpers.js';
import { ASTRONAUT, decode } from '../models/fixtures.js';

// The face in astronaut.png, checked by eye: skin from about (180, 60) to (270, 180).
const FACE_CORE = { cx: 224, cy: 120, rx: 32, ry: 45 };

function coverage(mask: Uint8Array, w: number, inside: (x: number, y: number) => boolean): { core: number; outside: number } {
  let coreOn = 0;
  let core = 0;
  let outOn = 0;
  for (let i = 0; i < mask.length; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    const on = mask[i] >= 128 ? 1 : 0;
    if (inside(x, y)) {
      core++;
      coreOn += on;
    } else if (on) outOn++;
  }
  return { core: coreOn / core, outside: outOn };
}

const inCore = (x: number, y: number): boolean => ((x - FACE_CORE.cx) / FACE_CORE.rx) ** 2 + ((y - FACE_CORE.cy) / FACE_CORE.ry) ** 2 <= 1;
const inHead = (x: number, y: number): boolean => x >= 150 && x <= 300 && y >= 20 && y <= 210;

describe('real engine on the bundled photo', () => {
  let engine: FaceSegEngine;
  beforeAll(async () => {
    engine = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu' }) });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('finds exactly one face and masks it, not the suit or background', async () => {
    const img = await decode(ASTRONAUT);
    const res = await engine.segment(img);
    expect(res.faces).toHaveLength(1);
    const f = res.faces[0];
    expect(f.source).toBe('fused');
    expect(f.score).toBeGreaterThan(0.5);
    const m = unionMask([f.mask], img.width, img.height);
    const c = coverage(m, img.width, inCore);
    expect(c.core).toBeGreaterThan(0.97);
    // nothing outside the head region
    let stray = 0;
    for (let i = 0; i < m.length; i++) if (m[i] >= 128 && !inHead(i % img.width, Math.floor(i / img.width))) stray++;
    expect(stray).toBe(0);
    expect(f.keypoints.map((k) => k.name)).toContain('nose');
  });

  it('finds the face in a photo turned by 90 degrees and in a small copy', async () => {
    const turned = await decode(await sharp(ASTRONAUT).rotate(90).png().toBuffer());
    const r1 = await engine.segment(turned);
    expect(r1.faces).toHaveLength(1);
    // rotating 90 clockwise maps (x, y) -> (H - 1 - y, x)
    const b = r1.faces[0].box;
    expect(b.x + b.width / 2).toBeGreaterThan(512 - 180);
    expect(b.y + b.height / 2).toBeGreaterThan(180);
    expect(b.y + b.height / 2).toBeLessThan(270);
    const small = await decode(await sharp(ASTRONAUT).resize(160).png().toBuffer());
    const r2 = await engine.segment(small);
    expect(r2.faces).toHaveLength(1);
  });

  it('a portrait crop skips the keypoint model: the same mask as with it, from the detector alone', async () => {
    const crop = await decode(await sharp(ASTRONAUT).extract({ left: 145, top: 20, width: 160, height: 210 }).png().toBuffer());
    const fast = await engine.segment(crop);
    const full = await engine.segment(crop, { headKeypoints: true });
    expect(fast.timings.keypoints).toBeUndefined();
    expect(full.timings.keypoints).toBeDefined();
    expect(fast.faces).toHaveLength(1);
    expect(full.faces).toHaveLength(1);
    expect(fast.faces[0].source).toBe('detector');
    expect(fast.faces[0].mask).toEqual(full.faces[0].mask);
  });

  it('finds nothing in a well-exposed image without people and says it is sure; a flat one it cannot read scores low', async () => {
    const w = 320;
    const h = 240;
    const striped = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) striped.fill(((x >> 3) + (y >> 3)) % 2 ? 200 : 50, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const res = await engine.segment({ width: w, height: h, data: striped });
    expect(res.faces).toHaveLength(0);
    expect(res.score).toBeGreaterThan(0.5);
    const flat = await engine.segment({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(128) });
    expect(flat.faces).toHaveLength(0);
    expect(flat.score).toBeLessThan(0.3);
  });

  it('/predict on an EXIF-rotated JPEG returns a brush mask of the oriented size covering the face', async () => {
    // a 512x400 crop stored sideways with EXIF orientation 6: browsers show it 400 wide, 512 high
    const upright = await sharp(ASTRONAUT).extract({ left: 0, top: 0, width: 512, height: 400 }).png().toBuffer();
    const stored = await sharp(upright).rotate(-90).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer();
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([400, 512, 6]);
    const config = testConfig();
    const app = createApp({ config, logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), engine, imageSource: imageSourceFromConfig(config) });
    const uri = `data:image/jpeg;base64,${stored.toString('base64')}`;
    const res = await request(app)
      .post('/predict')
      .send({ tasks: [{ id: 7, data: { image: uri } }, { id: 8, data: { image: 'data:image/png;base64,bm90IGFuIGltYWdl' } }], label_config: BRUSH_BOX_KP_XML, project: '1.1' })
      .expect(200);
    expect(res.body.results).toHaveLength(2);
    const pred = res.body.results[0];
    expect(pred.model_version).toBe(engine.modelVersion);
    const brush = pred.result.filter((r: { type: string }) => r.type === 'brushlabels');
    expect(brush).toHaveLength(1);
    expect(brush[0].original_width).toBe(512);
    expect(brush[0].original_height).toBe(400);
    const rgba = rleToMask(brush[0].value.rle, 512, 400);
    expect(rgba.length).toBe(512 * 400);
    const c = coverage(rgba, 512, inCore);
    expect(c.core).toBeGreaterThan(0.95);
    expect(pred.result.some((r: { type: string }) => r.type === 'rectanglelabels')).toBe(true);
    // the corrupt image costs only its own task
    expect(res.body.results[1].result).toEqual([]);
  });

  it('/predict with the brush-only config returns only brush regions', async () => {
    const config = testConfig();
    const app = createApp({ config, logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), engine, imageSource: imageSourceFromConfig(config) });
    const uri = `data:image/png;base64,${readFileSync(ASTRONAUT).toString('base64')}`;
    const res = await request(app).post('/predict').send({ tasks: [{ id: 1, data: { image: uri } }], label_config: BRUSH_XML }).expect(200);
    expect(res.body.results[0].result.map((r: { type: string }) => r.type)).toEqual(['brushlabels']);
    expect(res.body.results[0].score).toBeGreaterThan(0);
  });
});

describe('real engine: what active learning relies on', () => {
  let engine: FaceSegEngine;
  let img: RgbImage;
  beforeAll(async () => {
    engine = await buildEngine({ config: testConfig({ EXECUTION_PROVIDER: 'cpu' }) });
    img = await decode(ASTRONAUT);
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  const bits = (r: SegmentResult) => {
    const u = unionMask(
      r.faces.map((f) => f.mask),
      r.width,
      r.height,
    );
    for (let i = 0; i < u.length; i++) u[i] = u[i] >= 128 ? 1 : 0;
    return fromFullMask(u, r.width, r.height)!;
  };

  it('a dilate learned from corrections is recovered from the recorded face size (+10 and +20 within 1)', async () => {
    const base = await engine.segment(img);
    const size = base.faces[0].faceSize!;
    expect(size).toBeGreaterThan(60);
    for (const d of [10, 20]) {
      const grown = await engine.segment(img, { params: { dilate: d } });
      const curve = iouCurve(bits(base), bits(grown), 0, img.width, img.height, size);
      expect(Math.abs(bestDilate(curve).dilate - d)).toBeLessThanOrEqual(1);
    }
  }, 60_000);

  it('the face sample maps the engine mask into the refiner frame and back (identity refiner = same mask)', async () => {
    const plain = await engine.segment(img, { captureSamples: true });
    const sample = plain.faces[0].sample!;
    expect(sample.size).toBe(FRAME_SIZE);
    // a refiner that returns the engine's own mask, in the frame
    const identity = {
      refine: (s: FaceSample) => ({ field: Float32Array.from(s.sd, (v) => (v * s.size * s.faceSize) / s.frame.size), size: s.size, roi: s.frame }),
    };
    const same = await engine.segment(img, { refiner: identity });
    const a = bits(plain);
    const b = bits(same);
    expect(maskIou(a, b)).toBeGreaterThan(0.95);
    // and one that empties the frame removes the face's mask
    const none = await engine.segment(img, { refiner: { refine: (s: FaceSample) => ({ field: new Float32Array(s.size * s.size).fill(-1), size: s.size, roi: s.frame }) } });
    expect(none.faces.length).toBe(0);
  }, 60_000);
});
