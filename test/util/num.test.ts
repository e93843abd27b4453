import { describe, expect, it } from 'vitest';
import { clamp, roundTo } from '../../backend/util/num.js';

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
