// Hair-colour copies: only hair changes; it takes the skin's chroma at the
// set share of its luminance, and each strand keeps its relative brightness.
import { describe, expect, it } from 'vitest';
import { HAIR_SHARE, hairLikeSkin } from '../../backend/eval/hair-tone.js';
import { SRGB_TO_LINEAR } from '../../backend/eval/ita.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { labelledPhoto } from '../helpers/labelled-photo.js';

/** The test photo with black hair in strands of two brightnesses (odd columns brighter). */
const photo = (): ReturnType<typeof labelledPhoto> => labelledPhoto((x) => (x % 2 ? [50, 40, 35] : [25, 20, 18]));

const lin = (img: RgbImage, i: number): number[] => [0, 1, 2].map((c) => SRGB_TO_LINEAR[img.data[i * 3 + c]]);
const lum = (v: number[]): number => 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];

describe('hair-colour copies', () => {
  it('recolours hair only, to the skin chroma at HAIR_SHARE of its luminance, strands kept', () => {
    const { img, label } = photo();
    const out = hairLikeSkin(img, label);
    const skin = lin(img, 20 * 40 + 20);
    for (let i = 0; i < label.length; i++) if (label[i] !== 2) expect(Array.from(out.data.subarray(i * 3, i * 3 + 3))).toEqual(Array.from(img.data.subarray(i * 3, i * 3 + 3)));
    const hair = [...label.keys()].filter((i) => label[i] === 2);
    const mean = hair.map((i) => lum(lin(out, i))).reduce((a, b) => a + b, 0) / hair.length;
    expect(mean / lum(skin)).toBeCloseTo(HAIR_SHARE, 1);
    // skin's channel ratios (8-bit rounding aside)
    const strand = lin(out, 6 * 40 + 11);
    expect(strand[1] / strand[0]).toBeCloseTo(skin[1] / skin[0], 1);
    expect(strand[2] / strand[0]).toBeCloseTo(skin[2] / skin[0], 1);
    // the brighter strand stays brighter, by about its old ratio
    const bright = lum(lin(out, 6 * 40 + 11));
    const dim = lum(lin(out, 6 * 40 + 12));
    expect(bright / dim).toBeCloseTo(lum(lin(img, 6 * 40 + 11)) / lum(lin(img, 6 * 40 + 12)), 0);
    expect(bright).toBeGreaterThan(1.5 * dim);
  });

  it('a lighter share gives lighter hair; no skin or no hair gives the photo back', () => {
    const { img, label } = photo();
    expect(lum(lin(hairLikeSkin(img, label, 0.8), 6 * 40 + 11))).toBeGreaterThan(lum(lin(hairLikeSkin(img, label, 0.4), 6 * 40 + 11)));
    expect(hairLikeSkin(img, label.map((c) => (c === 1 ? 0 : c)))).toBe(img);
    expect(hairLikeSkin(img, label.map((c) => (c === 2 ? 0 : c)))).toBe(img);
  });
});
