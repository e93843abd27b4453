// The colour refinement's glare rule: lit skin clipped towards white keeps
// its place inside the landmark region; nothing white is added outside it;
// the refine stage uses it only on the photo's own pixels.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLOUR_REFINE, GLARE_LUMA, refineWithColour, skinChromaAt } from '../../backend/pipeline/colour-refine.js';
import { ycc } from '../../backend/pipeline/contrast-model.js';
import { cropJobsOf } from '../../backend/pipeline/engine.js';
import { DEFAULT_SETTINGS } from '../../backend/pipeline/engine-settings.js';
import { ellipseField } from '../../backend/pipeline/mask-raster.js';
import type { MeshedFace } from '../../backend/pipeline/stage-landmarks.js';
import type { LocatedImage } from '../../backend/pipeline/stage-locate.js';
import { faceRegions, refineRegions } from '../../backend/pipeline/stage-region.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ovalMesh } from '../helpers/oval-mesh.js';

const SKIN = { y: 160, cb: 105, cr: 155 };

describe('skinChromaAt', () => {
  it("is the skin's chroma below GLARE_LUMA and at or below the skin's luma", () => {
    expect(skinChromaAt(GLARE_LUMA - 1, 128, 128, SKIN)).toEqual([105, 155]);
    // above GLARE_LUMA but not above the skin's own luma, white skin included (no 0 / 0)
    expect(skinChromaAt(240, 128, 128, { ...SKIN, y: 240 })).toEqual([105, 155]);
    expect(skinChromaAt(255, 128, 128, { ...SKIN, y: 255 })).toEqual([105, 155]);
    // a neutral skin has no colour to fade
    expect(skinChromaAt(250, 120, 130, { y: 160, cb: 128.3, cr: 128.4 })).toEqual([128.3, 128.4]);
  });

  it("follows a pixel whose chroma is the skin's, faded towards neutral", () => {
    const [cb, cr] = skinChromaAt(240, 128 - 23 * 0.4, 128 + 27 * 0.4, SKIN);
    expect(cb).toBeCloseTo(128 - 23 * 0.4, 9);
    expect(cr).toBeCloseTo(128 + 27 * 0.4, 9);
  });

  it('never fades below what is left under white, nor beyond the skin\'s own chroma', () => {
    // at luma 250, (255 - 250) / (255 - 160) of the skin's chroma is the least left
    const least = 5 / 95;
    const [cb, cr] = skinChromaAt(250, 128, 128, SKIN);
    expect(cb).toBeCloseTo(128 - 23 * least, 9);
    expect(cr).toBeCloseTo(128 + 27 * least, 9);
    // white itself: nothing left
    expect(skinChromaAt(255, 128, 128, SKIN)).toEqual([128, 128]);
    // more saturated than the skin: compared with the skin's chroma
    expect(skinChromaAt(240, 128 - 23 * 1.5, 128 + 27 * 1.5, SKIN)).toEqual([105, 155]);
  });

  it('keeps the hue: a bluish white is compared with faded skin, not with itself', () => {
    const [cb, cr] = skinChromaAt(240, 140, 120, SKIN);
    // the projection of a bluish pixel on the skin direction is negative: clamped to the least fade
    const least = 15 / 95;
    expect(cb).toBeCloseTo(128 - 23 * least, 9);
    expect(cr).toBeCloseTo(128 + 27 * least, 9);
  });
});

const N = 100;
/** Lit skin clipped towards white (luma about 243). */
const GLARE = [255, 240, 230];

/**
 * A 100x100 crop: a skin ellipse (its luma varied, as real skin's shading
 * is) on a near-white wall, with a lit forehead patch clipped towards white
 * that runs across the region's top edge onto the wall (a hole enclosed by
 * skin would be filled anyway).
 */
function litForehead(): { crop: RgbImage; field: Float32Array } {
  const data = new Uint8Array(N * N * 3);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const inFace = ((x - 50) / 30) ** 2 + ((y - 50) / 40) ** 2 <= 1;
      const glare = (x - 50) ** 2 + (y - 10) ** 2 <= 64;
      // equal steps on every channel change luma only: +-25 in a fixed pattern
      const shade = (((x * 7 + y * 13) % 11) - 5) * 5;
      data.set(glare ? GLARE : inFace ? [225 + shade, 175 + shade, 145 + shade] : [245, 245, 245], (y * N + x) * 3);
    }
  }
  return { crop: { width: N, height: N, data }, field: ellipseField(50, 50, 30, 40, N, N) };
}

const inside = (f: Float32Array, x: number, y: number): boolean => f[y * N + x] > 0;

describe('colour refinement: glare', () => {
  it('the test patch is near white and brighter than the skin', () => {
    expect(ycc(GLARE[0], GLARE[1], GLARE[2])[0]).toBeGreaterThanOrEqual(GLARE_LUMA);
    expect(ycc(GLARE[0], GLARE[1], GLARE[2])[0]).toBeGreaterThan(ycc(250, 200, 170)[0]);
  });

  it('a clipped forehead inside the landmark region is cut without the rule and kept with it, beside a white wall', () => {
    const { crop, field } = litForehead();
    const off = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, glare: false });
    const on = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, glare: true });
    expect(inside(off, 50, 14)).toBe(false);
    expect(inside(on, 50, 14)).toBe(true);
    // the skin stays either way
    expect(inside(on, 50, 50)).toBe(true);
    expect(inside(off, 50, 50)).toBe(true);
  });

  it('the same glare outside the landmark region is not added', () => {
    const { crop, field } = litForehead();
    const on = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, glare: true });
    // the patch's part above the region's top (row 10), touching what is kept
    expect(field[5 * N + 50]).toBeLessThan(0);
    expect(inside(on, 50, 5)).toBe(false);
    expect(inside(on, 50, 4)).toBe(false);
  });

  it('is off unless asked for', () => {
    const { crop, field } = litForehead();
    expect(inside(refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE), 50, 14)).toBe(false);
  });
});

describe('the refine stage and glare', () => {
  /** The lit forehead as a face the landmark model accepted, its mesh the region's oval, from a photo or a tone-mapped copy. */
  function face(toneMapped: boolean): MeshedFace {
    const { crop } = litForehead();
    const roi = { center: { x: 50, y: 50 }, size: N, angle: 0 };
    const candidate = { roi, headBox: { x: 0, y: 0, width: N, height: N }, source: 'detector' as const, detectorScore: 0.9, poseScore: 0, keypoints: [], earsOnly: false };
    return { job: { view: crop, candidate, settings: { ...DEFAULT_SETTINGS, colourRefine: true }, toneMapped }, roi, crop, mesh: { points: ovalMesh(50, 50, 30, 40), count: 468, faceScore: 0.95 } };
  }

  it('keeps the lit forehead of a photo and cuts it in a tone-mapped copy', async () => {
    const [photo, toned] = await refineRegions(await faceRegions(undefined, [face(false), face(true)]));
    const at = (r: typeof photo, x: number, y: number) => r.field[y * r.fieldSize + x];
    expect(photo.fieldSize).toBe(N);
    expect(at(photo, 50, 14)).toBeGreaterThan(0);
    expect(at(toned, 50, 14)).toBeLessThanOrEqual(0);
    expect(at(photo, 50, 50)).toBeGreaterThan(0);
    expect(at(toned, 50, 50)).toBeGreaterThan(0);
  });

  it('a job knows when its image is a tone-mapped copy', () => {
    const photo: RgbImage = { width: 4, height: 4, data: new Uint8Array(48) };
    const copy: RgbImage = { ...photo, data: new Uint8Array(48) };
    const cand = face(false).job.candidate;
    const image = (view: RgbImage, n: number): LocatedImage => ({ image: photo, view, settings: DEFAULT_SETTINGS, hints: [], poses: [], candidates: Array(n).fill(cand), timings: {}, options: {} });
    const jobs = cropJobsOf([image(photo, 2), image(copy, 1)]);
    expect(jobs.map((j) => [j.toneMapped, j.view === photo])).toEqual([
      [false, true],
      [false, true],
      [true, false],
    ]);
  });
});
