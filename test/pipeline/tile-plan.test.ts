// Bounded tile work: past maxTiles the tiles cover a shrunk copy of the image.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../backend/pipeline/engine-settings.js';
import type { LandmarkPort, MeshResult } from '../../backend/pipeline/ports.js';
import { locateHeads } from '../../backend/pipeline/stage-locate.js';
import { DEFAULT_TILES, scaleDetection, tileGrid, tilePlan } from '../../backend/pipeline/tiles.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

describe('tilePlan', () => {
  it('keeps the full-resolution grid up to maxTiles: 1280x720, 1920x1080 and a 12 MP photo are unchanged', () => {
    for (const [w, h] of [[1280, 720], [1920, 1080], [4032, 3024]]) {
      const plan = tilePlan(w, h, 640);
      expect(plan.scale).toBe(1);
      expect(plan.grid).toEqual(tileGrid(w, h, 640, DEFAULT_TILES.overlap));
    }
    expect(tilePlan(4032, 3024, 640).grid).toHaveLength(48);
  });

  it('shrinks larger photos until maxTiles tiles cover them, no further than needed', () => {
    for (const [w, h] of [[8064, 6048], [10000, 10000], [40000, 500]]) {
      const plan = tilePlan(w, h, 640);
      expect(plan.grid.length).toBeLessThanOrEqual(DEFAULT_TILES.maxTiles);
      expect(plan.scale).toBeGreaterThan(1);
      expect(plan.width).toBe(Math.round(w / plan.scale));
      // one step less shrinking would need more tiles
      const less = plan.scale / 1.05;
      expect(tileGrid(Math.round(w / less), Math.round(h / less), 640, DEFAULT_TILES.overlap).length).toBeGreaterThan(DEFAULT_TILES.maxTiles);
      // every tile lies inside the shrunk copy
      for (const t of plan.grid) expect(t.x + t.width <= plan.width && t.y + t.height <= plan.height).toBe(true);
    }
  });

  it('scaleDetection maps a box and its landmarks back to the image', () => {
    const d = { box: { x: 10, y: 20, width: 30, height: 40 }, score: 0.7, landmarks: [{ x: 15, y: 25 }] };
    expect(scaleDetection(d, 2)).toEqual({ box: { x: 20, y: 40, width: 60, height: 80 }, score: 0.7, landmarks: [{ x: 30, y: 50 }] });
    expect(scaleDetection(d, 1)).toBe(d);
  });
});

describe('stage locate on a photo whose grid passes maxTiles', () => {
  it('runs at most maxTiles tile passes on a shrunk copy and places their faces in image pixels', async () => {
    // a detector of input side 160 on a 1280x720 photo: 190 tiles at full resolution
    const w = 1280, h = 720;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.fill(Math.round(((i % w) * 255) / (w - 1)), i * 3, i * 3 + 3);
    const img: RgbImage = { width: w, height: h, data };
    expect(tileGrid(w, h, 160, DEFAULT_TILES.overlap).length).toBeGreaterThan(DEFAULT_TILES.maxTiles);
    const plan = tilePlan(w, h, 160);
    const tileViews: RgbImage[] = [];
    const detector = {
      inputSide: 160,
      // nothing in the whole image; each tile "sees" a face at its top-left corner
      detect: async (crop: RgbImage) => (crop.width === w ? [] : (tileViews.push(crop), [{ box: { x: 4, y: 4, width: 24, height: 24 }, score: 0.9, landmarks: [] }])),
    };
    const mesh: LandmarkPort = { inputSize: 16, run: async (crops: RgbImage[]): Promise<MeshResult[]> => crops.map(() => ({ points: new Float32Array(9), count: 3, faceScore: 0 })) };
    const located = await locateHeads({ faceLandmarks: mesh, faceDetector: detector }, img, {}, DEFAULT_SETTINGS);
    expect(tileViews).toHaveLength(plan.grid.length);
    expect(tileViews.length).toBeLessThanOrEqual(DEFAULT_TILES.maxTiles);
    // each face lands at its tile's corner in image pixels, its size scaled back
    const first = plan.grid[0];
    const c = located.candidates.find((k) => Math.abs(k.headBox.x + k.headBox.width / 2 - (first.x + 16) * plan.scale) < 2 * plan.scale);
    expect(c).toBeDefined();
    expect(located.candidates.length).toBeGreaterThan(1);
  });
});
