// Low-light normalisation and detector tiling: the maths, on images made here.
import { describe, expect, it } from 'vitest';
import { boxBlur3, centreLuma, DEFAULT_CROP_LIFT, hasContrastedPart, liftDarkCrop, lightStats, needsNormalising, normaliseForModels, toneCurve } from '../../backend/pipeline/low-light.js';
import { cropImage, DEFAULT_TILES, mergeDetections, needsTiles, probeBoxes, shiftDetection, tileGrid } from '../../backend/pipeline/tiles.js';
import type { FaceDetection } from '../../backend/pipeline/ports.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

/** Horizontal ramp of grey from `lo` to `hi`. */
function ramp(w: number, h: number, lo: number, hi: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(Math.round(lo + ((hi - lo) * x) / (w - 1)), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
}

const det = (x: number, y: number, s: number, score = 0.9): FaceDetection => ({ box: { x, y, width: s, height: s }, score, landmarks: [{ x: x + s / 2, y: y + s / 2 }] });

describe('low light', () => {
  it('percentiles of a ramp', () => {
    const s = lightStats(ramp(256, 4, 0, 255));
    expect(s.p1).toBeLessThanOrEqual(3);
    expect(Math.abs(s.p50 - 128)).toBeLessThanOrEqual(2);
    expect(s.p99).toBeGreaterThanOrEqual(252);
  });

  it('a well-exposed image is left alone (same object), a dark one is normalised', () => {
    const bright = ramp(200, 20, 10, 240);
    expect(needsNormalising(lightStats(bright))).toBe(false);
    expect(normaliseForModels(bright).image).toBe(bright);
    const dark = ramp(200, 20, 0, 30);
    const n = normaliseForModels(dark);
    expect(n.normalised).toBe(true);
    const after = lightStats(n.image);
    expect(after.p99).toBeGreaterThan(200);
    // the median lands near the target (0.4 of the range)
    expect(Math.abs(after.p50 / 255 - 0.4)).toBeLessThan(0.08);
  });

  it('keeps the tone-mapped copy before its blur for the tiles (the image itself when well exposed)', () => {
    const bright = ramp(200, 20, 10, 240);
    expect(normaliseForModels(bright).unblurred).toBe(bright);
    const dark = ramp(200, 20, 0, 30);
    // a one-pixel bright dot: the blur spreads it, the unblurred copy keeps it
    dark.data.fill(30, (10 * 200 + 100) * 3, (10 * 200 + 100) * 3 + 3);
    const n = normaliseForModels(dark);
    expect(n.image.data).toEqual(boxBlur3(n.unblurred).data);
    const at = (img: RgbImage, x: number, y: number) => img.data[(y * 200 + x) * 3];
    expect(at(n.unblurred, 100, 10) - at(n.unblurred, 101, 10)).toBeGreaterThan(3 * (at(n.image, 100, 10) - at(n.image, 101, 10)));
  });

  it('the tone curve is monotone and spans the range', () => {
    const lut = toneCurve({ p1: 2, p50: 10, p99: 40, p01: 1, p999: 45, mean: 12 });
    for (let v = 1; v < 256; v++) expect(lut[v]).toBeGreaterThanOrEqual(lut[v - 1]);
    expect(lut[2]).toBe(0);
    expect(lut[40]).toBe(255);
    expect(lut[255]).toBe(255);
  });

  it('a flat (low-contrast) image is normalised too', () => {
    expect(needsNormalising(lightStats(ramp(100, 10, 120, 150)))).toBe(true);
  });

  it('a plain bright wall with a small high-contrast photo on it is left alone (clipping would wash the photo out)', () => {
    const img = ramp(200, 100, 120, 150);
    // a 14x14 black-and-white patch: under 1 % of the pixels
    for (let y = 10; y < 24; y++) for (let x = 10; x < 24; x++) img.data.fill((x + y) % 2 ? 250 : 5, (y * 200 + x) * 3, (y * 200 + x) * 3 + 3);
    expect(needsNormalising(lightStats(img, 1e9))).toBe(false);
  });

  /** A plain 1200x750 grey wall (150-170) with light pixel noise, and `patch` px of a dark/light checker (a small head's hair and skin) at (900, 90). */
  function wall(patch: number, base = 150): RgbImage {
    const img = ramp(1200, 750, base, base + 20);
    let seed = 3;
    for (let i = 0; i < img.data.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      img.data[i] = Math.max(0, Math.min(255, img.data[i] + ((seed >> 16) % 13) - 6));
    }
    for (let y = 90; y < 90 + patch; y++) for (let x = 900; x < 900 + patch; x++) img.data.fill(((x >> 2) + (y >> 2)) % 2 ? 215 : 40, (y * 1200 + x) * 3, (y * 1200 + x) * 3 + 3);
    return img;
  }

  it('a plain wall with a head too small for the 0.1 % tails is left alone; the plain wall itself, noise and all, is normalised', () => {
    // 24x24 px: 0.06 % of the pixels, which the percentiles cannot see
    const small = wall(24);
    expect(needsNormalising(lightStats(small))).toBe(true);
    expect(hasContrastedPart(small, 120)).toBe(true);
    expect(normaliseForModels(small).normalised).toBe(false);
    expect(normaliseForModels(small).image).toBe(small);
    const plain = wall(0);
    expect(hasContrastedPart(plain, 120)).toBe(false);
    expect(normaliseForModels(plain).normalised).toBe(true);
  });

  it('a single hot pixel is not a contrasted part, and a dark photo is normalised whatever small bright part it has', () => {
    const hot = wall(0);
    hot.data.fill(255, (300 * 1200 + 300) * 3, (300 * 1200 + 300) * 3 + 3);
    hot.data.fill(0, (301 * 1200 + 300) * 3, (301 * 1200 + 300) * 3 + 3);
    expect(hasContrastedPart(hot, 120)).toBe(false);
    expect(normaliseForModels(hot).normalised).toBe(true);
    // dark: p99 below 110, with the same small checker
    const dark = wall(24, 20);
    expect(hasContrastedPart(dark, 120)).toBe(true);
    expect(normaliseForModels(dark).normalised).toBe(true);
  });

  it('a face crop is lifted only when its centre is dark, and then its centre lands near the target', () => {
    // a 40x40 crop: a dark centre (the face) in a bright frame (the background)
    const crop = ramp(40, 40, 230, 230);
    for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) crop.data.fill(35, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    expect(centreLuma(crop)).toBe(35);
    const lifted = liftDarkCrop(crop)!;
    expect(Math.abs(centreLuma(lifted) / 255 - DEFAULT_CROP_LIFT.targetMid)).toBeLessThan(0.03);
    // the bright frame stays bright (a gamma below 1 only raises values)
    expect(lifted.data[0]).toBeGreaterThanOrEqual(230);
    expect(liftDarkCrop(ramp(40, 40, 120, 120))).toBeNull();
    // near black, the gamma is bounded: no division blow-up, still below the target
    const black = liftDarkCrop(ramp(40, 40, 1, 1))!;
    expect(centreLuma(black)).toBeLessThan(DEFAULT_CROP_LIFT.targetMid * 255);
  });

  it('box blur keeps a flat image and averages a spike', () => {
    const img = ramp(5, 5, 50, 50);
    expect(boxBlur3(img).data).toEqual(img.data);
    img.data.fill(140, (2 * 5 + 2) * 3, (2 * 5 + 2) * 3 + 3);
    expect(boxBlur3(img).data[(2 * 5 + 2) * 3]).toBe(60);
  });
});

describe('tiles', () => {
  it('only large images with no or tiny faces are tiled', () => {
    expect(needsTiles(640, 480, 640, [])).toBe(false);
    expect(needsTiles(1920, 1080, 640, [])).toBe(true);
    // a 300-px face is 100 px at the detector's scale: no tiles
    expect(needsTiles(1920, 1080, 640, [det(100, 100, 300)])).toBe(false);
    // a 30-px face is 10 px there: smaller ones are likely missed
    expect(needsTiles(1920, 1080, 640, [det(100, 100, 300), det(900, 500, 30)])).toBe(true);
  });

  it('a crowd the whole-image pass half sees behind a large face: two tiny detections above weakScore ask for tiles', () => {
    const big = [det(100, 100, 300)];
    const weak = (x: number, score: number, side = 30) => ({ ...det(x, 500, side), score });
    const { weakScore, weakCount } = DEFAULT_TILES;
    expect(weakCount).toBe(2);
    expect(needsTiles(1920, 1080, 640, big, DEFAULT_TILES, [weak(900, 0.2), weak(1000, weakScore + 0.01)])).toBe(true);
    // one is not a crowd; at or under weakScore is noise; a large weak box is no small face
    expect(needsTiles(1920, 1080, 640, big, DEFAULT_TILES, [weak(900, 0.2)])).toBe(false);
    expect(needsTiles(1920, 1080, 640, big, DEFAULT_TILES, [weak(900, 0.2), weak(1000, weakScore)])).toBe(false);
    expect(needsTiles(1920, 1080, 640, big, DEFAULT_TILES, [weak(900, 0.2), weak(1000, 0.2, 200)])).toBe(false);
    // an image too small for tiles stays untiled whatever it holds
    expect(needsTiles(1000, 800, 640, big, DEFAULT_TILES, [weak(900, 0.2), weak(950, 0.2)])).toBe(false);
  });

  it('probes: the strongest weak small detections away from found faces, one full-resolution crop per spot, inside the image', () => {
    const o = { ...DEFAULT_TILES, probes: 3 };
    expect(o.probeClear).toBeGreaterThan(0);
    const face = det(200, 600, 300);
    const weak = (x: number, y: number, score: number, side = 30) => ({ ...det(x, y, side), score });
    const above = o.probeScore + 0.01;
    const half = o.probeSide / 2;
    const crop = (cx: number, cy: number) => ({ x: cx - half, y: cy - half, width: o.probeSide, height: o.probeSide });
    const boxes = probeBoxes(1920, 1080, 640, [face], [weak(1000, 300, above), weak(1500, 300, above + 0.2), weak(1010, 300, above + 0.1), weak(1880, 1040, above)], o);
    // strongest first; the third strongest lies inside the second's crop, so the corner one is next, its crop moved inside the image
    expect(boxes).toEqual([crop(1515, 315), crop(1025, 315), { x: 1920 - o.probeSide, y: 1080 - o.probeSide, width: o.probeSide, height: o.probeSide }]);
    expect(probeBoxes(1920, 1080, 640, [face], [weak(1000, 300, above), weak(1500, 300, above)], { ...o, probes: 1 })).toHaveLength(1);
    // at or under probeScore, a box too large to be a missed small face, or one beside a found face: no probe
    expect(probeBoxes(1920, 1080, 640, [face], [weak(1000, 300, o.probeScore), weak(1000, 300, above, 200)], o)).toEqual([]);
    const beside = weak(350 + 270 * o.probeClear - 15, 735, above);
    expect(probeBoxes(1920, 1080, 640, [face], [beside], o)).toEqual([]);
    expect(probeBoxes(1920, 1080, 640, [], [beside], o)).toHaveLength(1);
    // a hostile image full of faint small detections still gets at most `probes` crops (each one detector call)
    const swarm = Array.from({ length: 5000 }, (_, i) => weak((i * 37) % 1900, (i * 53) % 1060, above + (i % 7) / 100));
    expect(probeBoxes(1920, 1080, 640, [], swarm, DEFAULT_TILES)).toHaveLength(DEFAULT_TILES.probes);
    // a crop never outgrows a small image, whichever side is short
    expect(probeBoxes(200, 150, 64, [], [weak(50, 50, above, 5)], o)).toEqual([{ x: 0, y: 0, width: 150, height: 150 }]);
    expect(probeBoxes(120, 300, 64, [], [weak(100, 250, above, 5)], o)).toEqual([{ x: 0, y: 180, width: 120, height: 120 }]);
  });

  it('the grid covers the image with the asked overlap', () => {
    const tiles = tileGrid(1920, 1080, 640, 96);
    const covered = new Uint8Array(1920 * 1080);
    for (const t of tiles) {
      expect(t.x + t.width).toBeLessThanOrEqual(1920);
      expect(t.y + t.height).toBeLessThanOrEqual(1080);
      for (let y = t.y; y < t.y + t.height; y++) covered.fill(1, y * 1920 + t.x, y * 1920 + t.x + t.width);
    }
    expect(covered.every((v) => v === 1)).toBe(true);
    const xs = [...new Set(tiles.map((t) => t.x))].sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) expect(xs[i - 1] + 640 - xs[i]).toBeGreaterThanOrEqual(96);
    expect(tileGrid(300, 200, 640, 96)).toEqual([{ x: 0, y: 0, width: 300, height: 200 }]);
  });

  it('crop and shift are inverse placements', () => {
    const img = ramp(50, 10, 0, 49);
    const c = cropImage(img, { x: 20, y: 3, width: 5, height: 2 });
    expect(c.data[0]).toBe(20);
    expect(c.data[(1 * 5 + 4) * 3]).toBe(24);
    const d = shiftDetection(det(1, 2, 3), 20, 3);
    expect(d.box).toEqual({ x: 21, y: 5, width: 3, height: 3 });
    expect(d.landmarks[0]).toEqual({ x: 22.5, y: 6.5 });
  });

  it('merge keeps whole-image detections and drops tile duplicates and tile-cut parts', () => {
    const base = [det(0, 0, 200)];
    const extra = [det(5, 5, 190, 0.95), det(60, 60, 40, 0.8), det(500, 500, 20, 0.6), det(502, 501, 20, 0.5)];
    const m = mergeDetections(base, extra);
    expect(m).toHaveLength(2);
    expect(m[0]).toBe(base[0]);
    expect(m[1].box.x).toBe(500);
  });
});
