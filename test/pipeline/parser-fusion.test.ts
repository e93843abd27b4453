// A hair-aware face parser refining the landmark region: hair out, sure face in.
import { describe, expect, it } from 'vitest';
import { signedDistance } from '../../backend/pipeline/distance-field.js';
import { DEFAULT_PARSER_FUSION, fuseParser, resampleSquare } from '../../backend/pipeline/parser-fusion.js';
import type { ParserMap } from '../../backend/pipeline/ports.js';

const N = 32;
/** A disc of radius r around the centre as a field (positive inside). */
function disc(r: number): Float32Array {
  const m = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) m[y * N + x] = Math.hypot(x + 0.5 - N / 2, y + 0.5 - N / 2) <= r ? 1 : 0;
  return signedDistance(m, N, N);
}
function map(size: number, face: (x: number, y: number) => number, hair?: (x: number, y: number) => number): ParserMap {
  const at = (f: (x: number, y: number) => number) => Float32Array.from({ length: size * size }, (_, i) => f(((i % size) + 0.5) / size, (Math.floor(i / size) + 0.5) / size));
  return { width: size, height: size, data: at(face), ...(hair ? { hair: at(hair) } : {}) };
}
const inside = (f: Float32Array, x: number, y: number) => f[y * N + x] > 0;

describe('fuseParser', () => {
  it('a parser that knows only face leaves the region as it is', () => {
    const field = disc(10);
    expect(fuseParser(field, N, map(N, () => 0.99))).toBe(field);
  });

  it('removes what the parser calls hair from the region, and keeps the rest', () => {
    const field = disc(12);
    // hair over the top third of the crop (the hair behind a turned cheek, say)
    const out = fuseParser(field, N, map(N, () => 0.3, (_x, y) => (y < 1 / 3 ? 0.9 : 0.05)));
    expect(inside(field, 16, 6)).toBe(true);
    expect(inside(out, 16, 6)).toBe(false);
    expect(inside(out, 16, 20)).toBe(true);
    expect(inside(out, 16, 30)).toBe(false); // outside the disc stays outside
  });

  it('adds what the parser is sure is face, where the landmark region missed it (a squashed profile chin)', () => {
    const field = disc(6);
    const out = fuseParser(field, N, map(N, (_x, y) => (y > 0.75 ? 0.8 : 0.2), () => 0));
    expect(inside(field, 16, 28)).toBe(false);
    expect(inside(out, 16, 28)).toBe(true);
    expect(inside(out, 2, 4)).toBe(false);
  });

  it('uses the thresholds as documented: hair above hairAbove leaves, face from faceFrom joins', () => {
    const { hairAbove, faceFrom } = DEFAULT_PARSER_FUSION;
    const full = disc(100);
    const empty = disc(-1).fill(-5);
    expect(inside(fuseParser(full, N, map(N, () => 0, () => hairAbove - 0.05)), 16, 16)).toBe(true);
    expect(inside(fuseParser(full, N, map(N, () => 0, () => hairAbove + 0.05)), 16, 16)).toBe(false);
    expect(inside(fuseParser(empty, N, map(N, () => faceFrom + 0.01, () => 0)), 16, 16)).toBe(true);
    expect(inside(fuseParser(empty, N, map(N, () => faceFrom - 0.05, () => 0)), 16, 16)).toBe(false);
    // hair wins over the landmark region, sure face wins over hair
    expect(inside(fuseParser(full, N, map(N, () => 0.9, () => 0.9)), 16, 16)).toBe(true);
  });

  it('reads a map of another resolution over the same crop', () => {
    const field = disc(12);
    const hair = (_x: number, y: number) => (y < 1 / 3 ? 0.9 : 0.05);
    const a = fuseParser(field, N, map(N, () => 0.3, hair));
    const b = fuseParser(field, N, map(4 * N, () => 0.3, hair));
    const differ = a.reduce((n, v, i) => n + (v > 0 !== b[i] > 0 ? 1 : 0), 0);
    expect(differ).toBeLessThanOrEqual(N); // at most one row of pixels along the hair edge
  });
});

describe('resampleSquare', () => {
  it('samples pixel centres bilinearly', () => {
    const src = Float32Array.from([0, 1, 0, 1]); // 2x2: columns 0 and 1
    const out = resampleSquare(src, 2, 2, 4);
    expect(Array.from(out.slice(0, 4))).toEqual([0, 0.25, 0.75, 1]);
  });
});
