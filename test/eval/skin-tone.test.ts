// Skin-tone copies: only the labelled skin changes, its ITA reaches the target, and nothing darker is touched.
import { describe, expect, it } from 'vitest';
import { maskIta } from '../../backend/eval/ita.js';
import { retone, toneTo, toneWeights } from '../../backend/eval/skin-tone.js';
import { labelledPhoto } from '../helpers/labelled-photo.js';

describe('skin-tone copies', () => {
  it('k = 1 leaves every pixel; k < 1 darkens only the weighted pixels', () => {
    const { img, label } = labelledPhoto();
    const w = toneWeights(label, 40, 40, { feather: 0, hairReach: 0 });
    expect(retone(img, w, 1, 0.25).data).toEqual(img.data);
    const dark = retone(img, w, 0.3, 0.25);
    for (let i = 0; i < label.length; i++) {
      const same = [0, 1, 2].every((c) => dark.data[i * 3 + c] === img.data[i * 3 + c]);
      expect(same).toBe(label[i] !== 1);
    }
  });

  it('the feathered edge blends: a pixel just outside the skin changes a little, one far away not at all', () => {
    const { img, label } = labelledPhoto();
    const dark = retone(img, toneWeights(label, 40, 40, { feather: 2, hairReach: 0 }), 0.3, 0.25);
    const at = (x: number, y: number): number => dark.data[(y * 40 + x) * 3];
    // the grey just outside lies between itself and the grey darkened in full
    const full = retone({ width: 1, height: 1, data: Uint8Array.of(128, 128, 128) }, Float32Array.of(1), 0.3, 0.25).data[0];
    expect(at(31, 20)).toBeLessThan(128);
    expect(at(31, 20)).toBeGreaterThan(full);
    expect(at(36, 20)).toBe(128);
  });

  it('hair next to the skin is recoloured (brows, hairline), hair further away is not', () => {
    const { img, label } = labelledPhoto();
    const w = toneWeights(label, 40, 40, { feather: 0, hairReach: 3 });
    const at = (x: number, y: number): number => w[y * 40 + x];
    expect(at(20, 11)).toBe(1);
    expect(at(20, 9)).toBe(1);
    expect(at(20, 8)).toBe(0);
    expect(at(5, 20)).toBe(0);
  });

  it('an eyebrow (hair with skin above and below it) is recoloured whole', () => {
    const { label } = labelledPhoto();
    // a 2-row brow inside the face, 6 px below the hairline
    for (let x = 14; x < 26; x++) label.fill(2, 18 * 40 + x, 18 * 40 + x + 2).fill(2, 19 * 40 + x, 19 * 40 + x + 1);
    const w = toneWeights(label, 40, 40, { feather: 0, hairReach: 0 });
    expect(w[18 * 40 + 20]).toBe(1);
    expect(w[19 * 40 + 20]).toBe(1);
    // the hair on top has skin below but none above
    expect(w[5 * 40 + 20]).toBe(0);
  });

  it('reaches the target ITA from above, just below it, and keeps hair and background', () => {
    const { img, label, skin } = labelledPhoto();
    const before = maskIta(img, skin);
    expect(before).toBeGreaterThan(20);
    const t = toneTo(img, label, skin, -50);
    expect(t.ita).toBeLessThanOrEqual(-50);
    expect(t.ita).toBeGreaterThan(-52);
    expect(t.k).toBeLessThan(1);
    // hair beyond the reach and the background keep their pixels
    for (const [x, y] of [[20, 4], [2, 2], [38, 20]]) {
      const o = (y * 40 + x) * 3;
      expect(t.image.data.subarray(o, o + 3)).toEqual(img.data.subarray(o, o + 3));
    }
  });

  it('a photo already darker than the target comes back unchanged', () => {
    const { img, label, skin } = labelledPhoto();
    const dark = toneTo(img, label, skin, -60).image;
    const again = toneTo(dark, label, skin, -30);
    expect(again.k).toBe(1);
    expect(again.image).toBe(dark);
  });
});
