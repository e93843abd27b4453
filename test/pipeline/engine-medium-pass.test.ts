// The medium detector pass on the real models: a large photo whose person
// shows a big head is searched at a smaller detector input, finds the same
// face with nearly the same mask, and the setting turns it off.
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryUnion } from '../../backend/pipeline/mask-ops.js';
import { maskScores } from '../../backend/eval/metrics.js';
import { MEDIUM_RULE } from '../../backend/pipeline/detector-size.js';
import { DEFAULT_SETTINGS, FaceSegEngine } from '../../backend/pipeline/engine.js';
import type { FaceDetectorPort } from '../../backend/pipeline/ports.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ASTRONAUT, bundledModels, paste } from '../models/fixtures.js';

/** astronaut.png enlarged to 800x800 on a grey canvas (1200x800 by default): one person with a ~150 px head in a large photo. */
async function largePhoto(width = 1200): Promise<RgbImage> {
  const { data, info } = await sharp(ASTRONAUT).removeAlpha().resize(800, 800).raw().toBuffer({ resolveWithObject: true });
  return paste({ width: info.width, height: info.height, data: new Uint8Array(data) }, width, 800, 300, 0);
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

describe('the medium detector pass', () => {
  const models = bundledModels();
  let img: RgbImage;
  beforeAll(async () => {
    img = await largePhoto();
  });
  const engine = (mediumPass: boolean, calls: string[], tiles = true) => {
    const m = models();
    return new FaceSegEngine(
      { keypoints: m.keypoints, faceDetector: recording(m.faceDetector!, calls), faceLandmarks: m.faceLandmarks },
      { fingerprint: m.fingerprint, provider: 'cpu', settings: { ...DEFAULT_SETTINGS, mediumPass, tiles } },
    );
  };

  it('answers from a smaller detector input, with the face and mask of the full pass', async () => {
    const onCalls: string[] = [];
    const offCalls: string[] = [];
    const on = await engine(true, onCalls).segment(img);
    const off = await engine(false, offCalls).segment(img);
    expect(offCalls).toEqual(['full']);
    expect(onCalls.length).toBe(1);
    const side = Number(onCalls[0]);
    expect(side).toBeGreaterThanOrEqual(MEDIUM_RULE.minSide);
    expect(side).toBeLessThanOrEqual(MEDIUM_RULE.maxShare * models().faceDetector!.inputSide!);
    expect(on.faces.length).toBe(1);
    expect(off.faces.length).toBe(1);
    expect(maskScores(binaryUnion(on), binaryUnion(off), img.width).iou).toBeGreaterThan(0.95);
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
    expect(Number(withoutTiles[0])).toBeLessThan(models().faceDetector!.inputSide!);
  });

  it('is part of model_version', () => {
    expect(engine(true, []).modelVersion).not.toBe(engine(false, []).modelVersion);
  });
});
