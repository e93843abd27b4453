// The surroundings-against-skin colour model and the colour refinement's
// contrast rule (hair under a fringe), on synthetic crops made here.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLOUR_REFINE, decideColour, prepareColour, refineWithColour } from '../../backend/pipeline/colour-refine.js';
import { BIN_COUNT, colourBin, histogramFromCounts, ratioTable } from '../../backend/pipeline/contrast-model.js';
import { ellipseField } from '../../backend/pipeline/mask-raster.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

const SKIN = [200, 145, 110];
// dark brown: the skin colour at 40 % light
const HAIR = [80, 58, 44];

function image(n: number, colour: (x: number, y: number) => number[]): RgbImage {
  const data = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data.set(colour(x, y), (y * n + x) * 3);
  return { width: n, height: n, data };
}

/** The histogram of the selected pixels, counted as the colour refinement counts them. */
function histogramOf(bins: Uint16Array, select: (i: number) => boolean, minCount?: number): Float32Array | null {
  const counts = new Float32Array(BIN_COUNT);
  let n = 0;
  bins.forEach((b, i) => {
    if (select(i)) {
      counts[b]++;
      n++;
    }
  });
  return histogramFromCounts(counts, n, minCount);
}

describe('contrast model', () => {
  const img = image(40, (x) => (x < 20 ? SKIN : HAIR));
  const bins = Uint16Array.from({ length: 40 * 40 }, (_, i) => colourBin(img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]));
  const left = (i: number): boolean => i % 40 < 20;
  it('a normalised histogram, null when too few pixels are counted', () => {
    const h = histogramOf(bins, left)!;
    expect(h.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    expect(h[colourBin(SKIN[0], SKIN[1], SKIN[2])]).toBeGreaterThan(h[colourBin(HAIR[0], HAIR[1], HAIR[2])] * 100);
    expect(histogramOf(bins, (i) => i < 10)).toBeNull();
    expect(histogramOf(bins, (i) => i < 10, 10)).not.toBeNull();
  });
  it('the ratio is high on the surroundings colour and low on the skin colour', () => {
    const table = ratioTable(histogramOf(bins, left)!, histogramOf(bins, (i) => !left(i))!);
    expect(table[bins[5]]).toBeLessThan(0.01); // a skin pixel (x = 5)
    expect(table[bins[35]]).toBeGreaterThan(100); // a hair pixel (x = 35)
  });
});

/**
 * A face (ellipse, top at row 10) shaded from the top down, under a fringe of
 * brown hair that covers rows < 28, inside the landmark region and above it.
 */
function fringed(): { crop: RgbImage; field: Float32Array } {
  const n = 100;
  const crop = image(n, (x, y) => {
    if (y < 28) return HAIR;
    const inFace = ((x - 50) / 30) ** 2 + ((y - 50) / 40) ** 2 <= 1;
    // strong shading widens the skin model's luma tolerance, so the hair passes it alone
    const k = 0.45 + 0.65 * ((y - 28) / 62);
    return inFace ? SKIN.map((c) => Math.round(c * k)) : [150, 150, 150];
  });
  return { crop, field: ellipseField(50, 50, 30, 40, n, n) };
}

describe('colour refinement: contrast rule', () => {
  const inside = (f: Float32Array, x: number, y: number): boolean => f[y * 100 + x] > 0;
  it('hair under a fringe, which the skin model alone keeps, is cut when it matches the surroundings', () => {
    const { crop, field } = fringed();
    const skinOnly = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, contrast: 0 });
    expect(inside(skinOnly, 50, 20)).toBe(true);
    const cut = refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE);
    expect(inside(cut, 50, 20)).toBe(false);
    // the shaded skin below the fringe and the face centre stay
    expect(inside(cut, 50, 34)).toBe(true);
    expect(inside(cut, 50, 60)).toBe(true);
    expect(inside(cut, 50, 80)).toBe(true);
  });
});

describe('colour refinement: prepared once, decided per rule', () => {
  it('decideColour on a preparation gives refineWithColour\'s field', () => {
    const { crop, field } = fringed();
    const prep = prepareColour(crop, field, 95, DEFAULT_COLOUR_REFINE)!;
    expect(Array.from(decideColour(prep)!)).toEqual(Array.from(refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE)));
  });

  it('a region too small for a skin model prepares nothing', () => {
    const { crop } = fringed();
    expect(prepareColour(crop, new Float32Array(100 * 100).fill(-1), 95)).toBeNull();
  });

  it('a loose rule that leaks into a skin-coloured background decides nothing; refineWithColour keeps the field', () => {
    // the whole crop is skin: every band pixel outside the region passes the adding rule
    const crop = image(100, () => SKIN);
    const field = ellipseField(50, 50, 20, 26, 100, 100);
    const p = DEFAULT_COLOUR_REFINE;
    const prep = prepareColour(crop, field, 99, p)!;
    expect(decideColour(prep, { addAbove: 0.01, removeBelow: 0.02 })).toBeNull();
    expect(refineWithColour(crop, field, 99, { ...p, addAbove: 0.01 })).toBe(field);
  });
});
