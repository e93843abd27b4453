// The one bounding-box scan and the one mask union, and the mesh readings the engine re-centres on.
import { describe, expect, it } from 'vitest';
import { fromFullMask, union } from '../../backend/learning/masks.js';
import { binaryUnion, maskBox, onBounds, tightenMask, unionInto, unionMask } from '../../backend/pipeline/mask-ops.js';
import { roiFromMesh, sameRoi } from '../../backend/pipeline/mesh-geometry.js';
import type { RegionMask } from '../../backend/pipeline/types.js';

const rect = (x: number, y: number, width: number, height: number, fill: (i: number) => number): RegionMask => ({
  x, y, width, height, data: Uint8Array.from({ length: width * height }, (_, i) => fill(i)),
});

describe('mask-ops', () => {
  it('onBounds finds the box of the values at or above the threshold', () => {
    const grid = new Uint8Array(6 * 4);
    grid[1 * 6 + 2] = 100;
    grid[2 * 6 + 4] = 200;
    expect(onBounds(grid, 6, 4, 1)).toEqual({ x: 2, y: 1, width: 3, height: 2 });
    expect(onBounds(grid, 6, 4, 128)).toEqual({ x: 4, y: 2, width: 1, height: 1 });
    expect(onBounds(grid, 6, 4, 255)).toBeUndefined();
  });

  it('maskBox counts half alpha and up, tightenMask any alpha, both in image pixels', () => {
    const m = rect(10, 20, 4, 3, (i) => (i === 5 ? 255 : i === 11 ? 40 : 0));
    expect(maskBox(m)).toEqual({ x: 11, y: 21, width: 1, height: 1 });
    const t = tightenMask(m);
    expect([t.x, t.y, t.width, t.height]).toEqual([11, 21, 3, 2]);
    expect(Array.from(t.data)).toEqual([255, 0, 0, 0, 0, 40]);
    expect(maskBox(rect(3, 4, 2, 2, () => 0))).toEqual({ x: 3, y: 4, width: 0, height: 0 });
  });

  it('unions keep the larger alpha and drop what lies outside the frame', () => {
    const a = rect(-1, 0, 3, 1, () => 100);
    const b = rect(1, 0, 3, 1, () => 200);
    expect(Array.from(unionMask([a, b], 3, 1))).toEqual([100, 200, 200]);
    expect(Array.from(unionInto([a, b], { x: 1, y: 0, width: 2, height: 1 }))).toEqual([200, 200]);
    expect(Array.from(binaryUnion({ width: 4, height: 1, faces: [{ mask: a }, { mask: rect(2, 0, 2, 1, () => 128) }] }))).toEqual([0, 0, 255, 255]);
  });

  it('learning masks use the same scan and union (0/1 data with its area)', () => {
    const full = new Uint8Array(5 * 5);
    full[6] = 7;
    full[18] = 255;
    const m = fromFullMask(full, 5, 5)!;
    expect(m).toMatchObject({ x: 1, y: 1, width: 3, height: 3, area: 2 });
    expect(m.data[0]).toBe(1);
    const u = union([m, { x: 4, y: 4, width: 1, height: 1, data: Uint8Array.of(1), area: 1 }]);
    expect(u).toMatchObject({ x: 1, y: 1, width: 4, height: 4, area: 3 });
  });
});

describe('mesh-geometry', () => {
  it('roiFromMesh centres on the points and takes the roll from the eye line', () => {
    const count = 264;
    const points = new Float32Array(count * 3);
    for (let i = 0; i < count; i++) { points[i * 3] = 20 + (i % 2) * 10; points[i * 3 + 1] = 22; }
    // eyes: right (33) at (20, 20), left (263) at (30, 30): 45 degrees
    points.set([20, 20, 0], 33 * 3);
    points.set([30, 30, 0], 263 * 3);
    const roi = roiFromMesh({ center: { x: 100, y: 100 }, size: 48, angle: 0 }, 48, { points, count, faceScore: 1 }, 1.5);
    expect(roi.angle).toBeCloseTo(Math.PI / 4);
    expect(roi.center.x).toBeCloseTo(100 + 1);
    expect(roi.center.y).toBeCloseTo(100 + 1);
    expect(sameRoi(roi, { ...roi, center: { x: roi.center.x + 0.01 * roi.size, y: roi.center.y } })).toBe(true);
    expect(sameRoi(roi, { ...roi, angle: roi.angle + 0.1 })).toBe(false);
  });
});
