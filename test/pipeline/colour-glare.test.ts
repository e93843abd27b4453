// The colour refinement's glare rule: lit skin clipped towards white keeps
// its place inside the landmark region; nothing white is added outside it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLOUR_REFINE, GLARE_LUMA, refineWithColour, skinChromaAt } from '../../backend/pipeline/colour-refine.js';
import { ycc } from '../../backend/pipeline/contrast-model.js';
import { ellipseField } from '../../backend/pipeline/mask-raster.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

const SKIN = { y: 160, cb: 105, cr: 155 };

describe('skinChromaAt', () => {
  it("is the skin's chroma below GLARE_LUMA, at or below the skin's luma, or with glare off", () => {
    expect(skinChromaAt(GLARE_LUMA - 1, 128, 128, SKIN, true)).toEqual([105, 155]);
    expect(skinChromaAt(240, 128, 128, { ...SKIN, y: 245 }, true)).toEqual([105, 155]);
    expect(skinChromaAt(250, 128, 128, SKIN, false)).toEqual([105, 155]);
    // a neutral skin has no colour to fade
    expect(skinChromaAt(250, 120, 130, { y: 160, cb: 128.3, cr: 128.4 }, true)).toEqual([128.3, 128.4]);
  });

  it("follows a pixel whose chroma is the skin's, faded towards neutral", () => {
    const [cb, cr] = skinChromaAt(240, 128 - 23 * 0.4, 128 + 27 * 0.4, SKIN, true);
    expect(cb).toBeCloseTo(128 - 23 * 0.4, 9);
    expect(cr).toBeCloseTo(128 + 27 * 0.4, 9);
  });

  it("never fades below what is left under white, nor beyond the skin's own chroma", () => {
    // at luma 250, (255 - 250) / (255 - 160) of the skin's chroma is the least left
    const least = 5 / 95;
    const [cb, cr] = skinChromaAt(250, 128, 128, SKIN, true);
    expect(cb).toBeCloseTo(128 - 23 * least, 9);
    expect(cr).toBeCloseTo(128 + 27 * least, 9);
    // more saturated than the skin: compared with the skin's chroma
    expect(skinChromaAt(240, 128 - 23 * 1.5, 128 + 27 * 1.5, SKIN, true)).toEqual([105, 155]);
  });

  it('keeps the hue: a bluish white is compared with faded skin, not with itself', () => {
    const [cb, cr] = skinChromaAt(240, 140, 120, SKIN, true);
    // the projection of a bluish pixel on the skin direction is negative: clamped to the least fade
    const least = 15 / 95;
    expect(cb).toBeCloseTo(128 - 23 * least, 9);
    expect(cr).toBeCloseTo(128 + 27 * least, 9);
  });
});

/**
 * A 100x100 crop: a skin ellipse (luma varied, as real skin's shading is)
 * on a blue-grey background, with a lit forehead patch clipped to near
 * white across the region's top edge (a hole enclosed by skin would be
 * filled anyway), and a white blob just outside the region.
 */
function litForehead(): { crop: RgbImage; field: Float32Array } {
  const n = 100;
  const data = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const inFace = ((x - 50) / 30) ** 2 + ((y - 50) / 40) ** 2 <= 1;
      const glare = (x - 50) ** 2 + (y - 13) ** 2 <= 25;
      const blob = (x - 33) ** 2 + (y - 14) ** 2 <= 4;
      // equal steps on every channel change luma only: +-25 in a fixed pattern
      const shade = (((x * 7 + y * 13) % 11) - 5) * 5;
      const skin = [200 + shade, 150 + shade, 120 + shade];
      data.set(blob ? [252, 252, 252] : glare ? [255, 250, 242] : inFace ? skin : [100, 110, 130], (y * n + x) * 3);
    }
  }
  return { crop: { width: n, height: n, data }, field: ellipseField(50, 50, 30, 40, n, n) };
}

describe('colour refinement: glare', () => {
  const inside = (f: Float32Array, x: number, y: number): boolean => f[y * 100 + x] > 0;

  it('the test patch is near white and brighter than the skin', () => {
    expect(ycc(255, 250, 242)[0]).toBeGreaterThanOrEqual(GLARE_LUMA);
  });

  it('a clipped forehead inside the landmark region is cut without the rule and kept with it', () => {
    const { crop, field } = litForehead();
    const off = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, glare: false });
    const on = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, glare: true });
    expect(inside(off, 50, 14)).toBe(false);
    expect(inside(on, 50, 14)).toBe(true);
    // white outside the landmark region is never added, and the skin stays either way
    expect(inside(on, 50, 8)).toBe(false);
    expect(inside(on, 33, 14)).toBe(false);
    expect(inside(off, 33, 14)).toBe(false);
    expect(inside(on, 50, 50)).toBe(true);
    expect(inside(off, 50, 50)).toBe(true);
  });

  it('is off unless asked for', () => {
    const { crop, field } = litForehead();
    const byDefault = refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE);
    expect(inside(byDefault, 50, 14)).toBe(false);
  });
});
