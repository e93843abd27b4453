// The eval's new measures: skin tone (ITA), darkened copies, small-face
// scenes and the tune / held-out split. Images here are made by the test.
import { describe, expect, it } from 'vitest';
import { darken, linearToSrgb8 } from '../../backend/eval/darken.js';
import { seededRandom } from '../../backend/util/random.js';
import { itaOf, itaThirds, maskIta, rgbToLab } from '../../backend/eval/ita.js';
import { headDiscMask, itaSummary } from '../../backend/eval/ita-report.js';
import { matchHeads, scatter } from '../../backend/eval/small-faces.js';
import { inSplit, multiposePerson, splitOf } from '../../backend/eval/split.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

function flat(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
}

describe('ITA', () => {
  it('CIELAB of white, black and an sRGB reference colour', () => {
    const w = rgbToLab(255, 255, 255);
    expect(w.L).toBeCloseTo(100, 3);
    expect(w.a).toBeCloseTo(0, 2);
    expect(w.b).toBeCloseTo(0, 2);
    expect(rgbToLab(0, 0, 0).L).toBeCloseTo(0, 6);
    // the textbook value of sRGB red: L* 53.24, a* 80.09, b* 67.20
    const s = rgbToLab(255, 0, 0);
    expect(s.L).toBeCloseTo(53.24, 1);
    expect(s.a).toBeCloseTo(80.09, 1);
    expect(s.b).toBeCloseTo(67.2, 1);
  });

  it('angle: light skin positive, dark skin negative, 90 at b* = 0 above L* 50', () => {
    expect(itaOf(70, 15)).toBeCloseTo((Math.atan(20 / 15) * 180) / Math.PI, 6);
    expect(itaOf(35, 20)).toBeLessThan(-30);
    expect(itaOf(60, 0)).toBeCloseTo(90, 6);
  });

  it('maskIta reads only the masked pixels, with medians', () => {
    const img = flat(4, 1, [60, 40, 30]);
    img.data.set([230, 200, 180], 0); // one light outlier inside the mask
    const mask = Uint8Array.from([1, 1, 1, 0]);
    const dark = rgbToLab(60, 40, 30);
    expect(maskIta(img, mask)).toBeCloseTo(itaOf(dark.L, dark.b), 6);
    expect(maskIta(img, new Uint8Array(4))).toBeNaN();
  });

  it('thirds by rank, NaN left out, remainder in the middle', () => {
    expect(itaThirds([30, -10, 50, 0, 10, 20, NaN])).toEqual(['lighter', 'darker', 'lighter', 'darker', 'middle', 'middle', null]);
    expect(itaThirds([1, 2, 3, 4])).toEqual(['darker', 'middle', 'middle', 'lighter']);
  });

  it('summary: means per third and the gap', () => {
    const s = itaSummary([
      { ita: -40, value: 0.7 },
      { ita: -30, value: 0.8 },
      { ita: 0, value: 0.85 },
      { ita: 10, value: 0.85 },
      { ita: 40, value: 0.9 },
      { ita: 50, value: 0.92 },
    ]);
    expect(s).not.toBeNull();
    expect(s!.darker).toBeCloseTo(0.75, 9);
    expect(s!.lighter).toBeCloseTo(0.91, 9);
    expect(s!.gap).toBeCloseTo(0.16, 9);
    expect(s!.darkerN).toBe(2);
    expect(s!.darkerIta).toBe(-30);
    expect(itaSummary([{ ita: 1, value: 1 }])).toBeNull();
  });

  it('summary: people per third and the commonest one\'s share, when rows name a person', () => {
    const rows = [
      { ita: -50, value: 0.7, person: 'a' },
      { ita: -45, value: 0.7, person: 'a' },
      { ita: -40, value: 0.8, person: 'b' },
      { ita: 0, value: 0.85, person: 'b' },
      { ita: 5, value: 0.85, person: 'c' },
      { ita: 10, value: 0.85, person: 'c' },
      { ita: 40, value: 0.9, person: 'c' },
      { ita: 45, value: 0.9, person: 'd' },
      { ita: 50, value: 0.92, person: 'e' },
    ];
    const s = itaSummary(rows)!;
    expect([s.darkerPeople, s.middlePeople, s.lighterPeople]).toEqual([2, 2, 3]);
    expect(s.darkerTop).toBeCloseTo(2 / 3, 9);
    expect(s.middleTop).toBeCloseTo(2 / 3, 9);
    expect(s.lighterTop).toBeCloseTo(1 / 3, 9);
    // rows without a person: no such figures
    const plain = itaSummary(rows.map(({ ita, value }) => ({ ita, value })))!;
    expect(plain.darkerPeople).toBeUndefined();
    expect(plain.lighterTop).toBeUndefined();
  });

  it('head disc holds the pixels within the radius', () => {
    const m = headDiscMask(10, 10, { x: 5, y: 5 }, 2);
    expect(m.reduce((a, v) => a + v, 0)).toBe(12);
    expect(m[5 * 10 + 5]).toBe(1);
    expect(m[0]).toBe(0);
  });
});

describe('darkened copies', () => {
  it('scales exposure in linear light and is seeded', () => {
    const img = flat(64, 64, [200, 128, 60]);
    const a = darken(img, { exposure: 0.03, seed: 1 });
    const b = darken(img, { exposure: 0.03, seed: 1 });
    const c = darken(img, { exposure: 0.03, seed: 2 });
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
    const mean = (ch: number): number => {
      let s = 0;
      for (let i = ch; i < a.data.length; i += 3) s += a.data[i];
      return s / (a.data.length / 3);
    };
    // 200 -> linear 0.578 -> x0.03 = 0.0173 -> sRGB about 35; noise averages out
    expect(mean(0)).toBeGreaterThan(linearToSrgb8(0.0173) - 2);
    expect(mean(0)).toBeLessThan(linearToSrgb8(0.0173) + 2);
    expect(mean(2)).toBeLessThan(mean(1));
    // noise is there: not every pixel equal
    expect(new Set(a.data.filter((_, i) => i % 3 === 0)).size).toBeGreaterThan(1);
  });

  it('the PRNG is uniform enough on [0, 1)', () => {
    const r = seededRandom(7);
    const xs = Array.from({ length: 10000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe('small-face scenes', () => {
  it('scatter: inside the image, no two boxes overlap', () => {
    const boxes = scatter(12, 25, 32, 1920, 1080, seededRandom(3));
    expect(boxes).toHaveLength(12);
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width).toBeLessThanOrEqual(1920);
      expect(b.y + b.height).toBeLessThanOrEqual(1080);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        expect(overlap).toBe(false);
      }
    }
    expect(() => scatter(100, 500, 500, 640, 480, seededRandom(1))).toThrow(RangeError);
  });

  it('matchHeads: one prediction per head, the rest are false faces', () => {
    const heads = [
      { x: 0, y: 0, width: 20, height: 30 },
      { x: 100, y: 100, width: 20, height: 30 },
    ];
    const boxes = [
      { x: 2, y: 5, width: 14, height: 14 }, // head 0
      { x: 4, y: 6, width: 12, height: 12 }, // head 0 again: false
      { x: 500, y: 500, width: 14, height: 14 }, // nowhere: false
    ];
    expect(matchHeads(heads, boxes)).toEqual({ found: 1, falseFaces: 2 });
    expect(matchHeads(heads, [])).toEqual({ found: 0, falseFaces: 0 });
  });
});

describe('tune / held-out split', () => {
  it('multipose by person, frontal by number, other sets held out', () => {
    expect(multiposePerson('multipose01_p60_personne04250.jpg')).toBe('04');
    expect(splitOf('multipose01-train', 'multipose01_p60_personne04250.jpg')).toBe('heldout');
    expect(splitOf('multipose01-train', 'multipose01_m90_personne01140.jpg')).toBe('tune');
    expect(splitOf('frontal02-train', 'frontal02_10.jpg')).toBe('tune');
    expect(splitOf('frontal02-train', 'frontal02_11.jpg')).toBe('heldout');
    expect(splitOf('cihp', '0002190.jpg')).toBe('heldout');
    expect(inSplit('tune', 'people', 'x.jpg')).toBe(false);
    expect(inSplit('all', 'people', 'x.jpg')).toBe(true);
    expect(() => splitOf('multipose01-train', 'nobody.jpg')).toThrow();
  });
});
