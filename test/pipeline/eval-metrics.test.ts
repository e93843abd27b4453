import { describe, expect, it } from 'vitest';
import { chinRow, classMask, maskScores, precisionOn } from '../../backend/eval/metrics.js';

describe('evaluation metrics', () => {
  it('iou, precision and recall of two overlapping squares', () => {
    const w = 10;
    const a = new Uint8Array(100);
    const b = new Uint8Array(100);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) a[y * w + x] = 1; // 16 px
    for (let y = 2; y < 6; y++) for (let x = 0; x < 4; x++) b[y * w + x] = 1; // 16 px, 8 shared
    const s = maskScores(a, b, w);
    expect(s.iou).toBeCloseTo(8 / 24);
    expect(s.precision).toBeCloseTo(0.5);
    expect(s.recall).toBeCloseTo(0.5);
    // only rows < 2: a has 8 px, b none
    expect(maskScores(a, b, w, 2).precision).toBe(0);
  });

  it('chin row lies below the mouth, scaled by the eyes-to-mouth distance', () => {
    const w = 4;
    const h = 100;
    const label = new Uint8Array(w * h).fill(1);
    for (let x = 0; x < w; x++) {
      label[20 * w + x] = 3; // eyes at row 20
      label[50 * w + x] = 5; // mouth at row 50
    }
    expect(chinRow(label, w, h)).toBe(Math.round(50 + 0.33 * 30));
    expect(chinRow(new Uint8Array(w * h).fill(1), w, h)).toBe(h);
  });

  it('precision on classes counts neck skin as face and hair as not', () => {
    const label = Uint8Array.from([1, 1, 2, 2]);
    expect(precisionOn(Uint8Array.from([1, 1, 1, 0]), label, [1])).toBeCloseTo(2 / 3);
    expect(Array.from(classMask(Uint8Array.from([0, 1, 3, 2]), [1, 3]))).toEqual([0, 1, 1, 0]);
  });
});
