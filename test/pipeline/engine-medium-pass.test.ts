// The medium detector pass on the real models: a large photo whose person
// shows a big head is searched at a smaller detector input, finds the same
// face with nearly the same mask, and the setting turns it off.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSet, type ModelSet } from '../../backend/models/index.js';
import { MEDIUM_RULE } from '../../backend/pipeline/detector-size.js';
import { DEFAULT_SETTINGS, FaceSegEngine } from '../../backend/pipeline/engine.js';
import type { FaceDetectorPort } from '../../backend/pipeline/ports.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

const ASTRONAUT = new URL('../fixtures/astronaut.png', import.meta.url);

/** astronaut.png enlarged to 800x800 on a grey canvas (1200x800 by default): one person with a ~150 px head in a large photo. */
async function largePhoto(width = 1200): Promise<RgbImage> {
  const person = await sharp(ASTRONAUT.pathname).removeAlpha().resize(800, 800).png().toBuffer();
  const { data, info } = await sharp({ create: { width, height: 800, channels: 3, background: '#777777' } })
    .composite([{ input: person, left: 300, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** The detector with every pass it runs written down: 'full' or the side of a smaller one. */
function recording(d: FaceDetectorPort, calls: string[]): FaceDetectorPort {
  const detectAt = d.detectAt?.bind(d);
  return {
    inputSide: d.inputSide,
    detect: (img, t) => (calls.push('full'), d.detect(img, t)),
    ...(detectAt ? { detectAt: (img: RgbImage, t: number, side: number) => (calls.push(String(side)), detectAt(img, t, side)) } : {}),
  };
}

function maskIou(a: RgbImage['data'], b: RgbImage['data']): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] >= 128 && b[i] >= 128 ? 1 : 0;
    union += a[i] >= 128 || b[i] >= 128 ? 1 : 0;
  }
  return union ? inter / union : 1;
}

describe('the medium detector pass', () => {
  let models: ModelSet;
  let img: RgbImage;
  beforeAll(async () => {
    models = await loadModelSet({ provider: 'cpu', threads: 1 });
    img = await largePhoto();
  });
  afterAll(async () => {
    await models.close();
  });
  const engine = (mediumPass: boolean, calls: string[], tiles = true) =>
    new FaceSegEngine(
      { keypoints: models.keypoints, faceDetector: recording(models.faceDetector!, calls), faceLandmarks: models.faceLandmarks },
      { fingerprint: models.fingerprint, provider: 'cpu', settings: { ...DEFAULT_SETTINGS, mediumPass, tiles } },
    );

  it('answers from a smaller detector input, with the face and mask of the full pass', async () => {
    const onCalls: string[] = [];
    const offCalls: string[] = [];
    const on = await engine(true, onCalls).segment(img);
    const off = await engine(false, offCalls).segment(img);
    expect(offCalls).toEqual(['full']);
    expect(onCalls.length).toBe(1);
    const side = Number(onCalls[0]);
    expect(side).toBeGreaterThanOrEqual(MEDIUM_RULE.minSide);
    expect(side).toBeLessThanOrEqual(MEDIUM_RULE.maxShare * models.faceDetector!.inputSide!);
    expect(on.faces.length).toBe(1);
    expect(off.faces.length).toBe(1);
    const full = (r: typeof on) => {
      const m = new Uint8Array(img.width * img.height);
      const f = r.faces[0].mask;
      for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++) m[(f.y + y) * img.width + f.x + x] = f.data[y * f.width + x];
      return m;
    };
    expect(maskIou(full(on), full(off))).toBeGreaterThan(0.95);
  });

  it('keeps the full pass on an image large enough for tiles, whose small faces decide on tiles; not when tiles are off', async () => {
    // 1300 px: past 1.9 detector inputs
    const wide = await largePhoto(1300);
    const withTiles: string[] = [];
    const withoutTiles: string[] = [];
    await engine(true, withTiles).segment(wide);
    await engine(true, withoutTiles, false).segment(wide);
    expect(withTiles).toEqual(['full']);
    expect(withoutTiles.length).toBe(1);
    expect(Number(withoutTiles[0])).toBeLessThan(models.faceDetector!.inputSide!);
  });

  it('is part of model_version', () => {
    expect(engine(true, []).modelVersion).not.toBe(engine(false, []).modelVersion);
  });
});
