import { describe, expect, it } from 'vitest';
import { clamp, roundHalfUp, roundTo } from '../../backend/util/num.js';

describe('clamp', () => {
  it('limits to the bounds and keeps values inside', () => {
    expect(clamp(-2, 0, 1)).toBe(0);
    expect(clamp(3, 0, 1)).toBe(1);
    expect(clamp(0.25, 0, 1)).toBe(0.25);
  });
  it('keeps NaN visible', () => {
    expect(Number.isNaN(clamp(Number.NaN, 0, 1))).toBe(true);
  });
});

describe('roundTo', () => {
  it('rounds to the given number of decimals', () => {
    expect(roundTo(0.123456, 4)).toBe(0.1235);
    expect(roundTo(2.5, 0)).toBe(3);
    expect(roundTo(1.23456, 2)).toBe(1.23);
  });
});

describe('roundHalfUp', () => {
  // Math.round's answer, compared as numbers (+0 and -0 alike)
  const same = (v: number): void => expect(roundHalfUp(v) === Math.round(v), `v ${v}`).toBe(true);
  it('rounds ties up and catches v + 0.5 rounding onto the next integer', () => {
    for (const v of [0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.49999999999999994, 254.49999999999997, 255.5, 2 ** 52 - 0.5, 1e-300, -1e-300]) same(v);
  });
  it('matches Math.round on pixel values, their ties and the doubles next to them', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20000; i++) {
      const v = rnd() * 300 - 20;
      const tie = Math.floor(v) + 0.5;
      for (const x of [v, tie, tie - 2 ** -44, tie + 2 ** -44, tie * (1 - 2 ** -53), tie * (1 + 2 ** -52)]) same(x);
    }
  });
});
