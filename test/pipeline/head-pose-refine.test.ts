// Head yaw from the mesh, the beard zone, and the colour refinement's beard
// and texture rules, on synthetic meshes and crops made here.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLOUR_REFINE, localTexture, refineWithColour } from '../../backend/pipeline/colour-refine.js';
import { beardZone, eyeZone, meshYawRatio, protectedZone } from '../../backend/pipeline/head-pose.js';
import { ellipseField } from '../../backend/pipeline/mask-raster.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ovalMesh } from '../helpers/oval-mesh.js';

/** A 468-point mesh: oval ring on an ellipse, nose tip at `noseX`, subnasale at `subY`. */
function mesh(noseX: number, subY = 60, cx = 50, cy = 50, rx = 30, ry = 40): Float32Array {
  const p = ovalMesh(cx, cy, rx, ry);
  p[234 * 3] = cx - rx;
  p[454 * 3] = cx + rx;
  p[234 * 3 + 1] = p[454 * 3 + 1] = cy;
  p[1 * 3] = noseX;
  p[1 * 3 + 1] = cy + 5;
  p[2 * 3] = noseX;
  p[2 * 3 + 1] = subY;
  return p;
}

describe('mesh yaw ratio', () => {
  it('0 when the nose is centred, growing and signed as it moves to a cheek', () => {
    expect(meshYawRatio(mesh(50), 468)).toBeCloseTo(0, 6);
    expect(meshYawRatio(mesh(65), 468)).toBeCloseTo(0.5, 6);
    expect(meshYawRatio(mesh(35), 468)).toBeCloseTo(-0.5, 6);
    expect(meshYawRatio(mesh(95), 468)).toBeCloseTo(1.5, 6);
    // the nose far past the cheeks: the depth term takes over and the ratio tends to 2
    expect(meshYawRatio(mesh(200), 468)).toBeGreaterThan(1.99);
    expect(meshYawRatio(mesh(200), 468)).toBeLessThanOrEqual(2);
    expect(meshYawRatio(mesh(65), 100)).toBe(0);
  });
});

describe('beard zone', () => {
  it('inside the face oval and below the nose only', () => {
    const z = beardZone(mesh(50, 60), 468, 100)!;
    expect(z[80 * 100 + 50]).toBe(1); // chin area
    expect(z[55 * 100 + 50]).toBe(0); // above the subnasale
    expect(z[80 * 100 + 5]).toBe(0); // outside the jaw line
    expect(beardZone(mesh(50), 300, 100)).toBeUndefined();
  });
});

/** Skin-coloured disc face with a dark (beard-coloured) lower part inside it. */
function bearded(): { crop: RgbImage; field: Float32Array } {
  const n = 100;
  const data = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const o = (y * n + x) * 3;
      const inFace = ((x - 50) / 30) ** 2 + ((y - 50) / 40) ** 2 <= 1;
      const beard = inFace && y > 70;
      data.set(beard ? [40, 30, 25] : inFace ? [200, 150, 120] : [30, 90, 200], o);
    }
  }
  return { crop: { width: n, height: n, data }, field: ellipseField(50, 50, 30, 40, n, n) };
}

describe('colour refinement: beard rule', () => {
  const inside = (f: Float32Array, x: number, y: number): boolean => f[y * 100 + x] > 0;
  it('a dark beard inside the mesh is cut by colour, and kept in the beard zone', () => {
    const { crop, field } = bearded();
    const cut = refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE);
    expect(inside(cut, 50, 86)).toBe(false);
    const keep = beardZone(mesh(50, 65), 468, 100);
    const kept = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, keep });
    expect(inside(kept, 50, 86)).toBe(true);
    // skin stays either way
    expect(inside(cut, 50, 50)).toBe(true);
  });
});

/** The mesh above with eye corners at x 20/80, y 40 and brow tops at y 32. */
function eyedMesh(): Float32Array {
  const p = mesh(50, 60);
  const set = (i: number, x: number, y: number) => {
    p[i * 3] = x;
    p[i * 3 + 1] = y;
  };
  set(33, 20, 40);
  set(263, 80, 40);
  set(105, 38, 32);
  set(334, 62, 32);
  return p;
}

describe('eye zone', () => {
  it('between the outer eye corners, from the brows to the subnasale', () => {
    const z = eyeZone(eyedMesh(), 468, 100)!;
    expect(z[40 * 100 + 25]).toBe(1); // an eye
    expect(z[33 * 100 + 50]).toBe(1); // between the brows
    expect(z[25 * 100 + 50]).toBe(0); // forehead above the brows
    expect(z[40 * 100 + 15]).toBe(0); // temple, beside the outer corner
    expect(z[70 * 100 + 50]).toBe(0); // mouth, below the nose
    expect(eyeZone(eyedMesh(), 300, 100)).toBeUndefined();
  });

  it('the protected zone adds the beard zone only when beards count as face', () => {
    const withBeard = protectedZone(eyedMesh(), 468, 100, true)!;
    const without = protectedZone(eyedMesh(), 468, 100, false)!;
    expect(withBeard[80 * 100 + 50]).toBe(1);
    expect(without[80 * 100 + 50]).toBe(0);
    expect(without[40 * 100 + 35]).toBe(1);
  });

  it('a dark eye the colour of the hair just outside the face is cut by colour, and kept in the eye zone', () => {
    const n = 100;
    const data = new Uint8Array(n * n * 3);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const inFace = ((x - 50) / 30) ** 2 + ((y - 50) / 40) ** 2 <= 1;
        // the eye reaches the face's edge, as a turned or shaded one does
        const eye = ((x - 24) / 8) ** 2 + ((y - 40) / 4) ** 2 <= 1;
        data.set(eye || !inFace ? [70, 45, 30] : [200, 150, 120], (y * n + x) * 3);
      }
    }
    const crop: RgbImage = { width: n, height: n, data };
    const field = ellipseField(50, 50, 30, 40, n, n);
    const cut = refineWithColour(crop, field, 95, DEFAULT_COLOUR_REFINE);
    expect(cut[40 * n + 26]).toBeLessThanOrEqual(0);
    const kept = refineWithColour(crop, field, 95, { ...DEFAULT_COLOUR_REFINE, keep: eyeZone(eyedMesh(), 468, n) });
    expect(kept[40 * n + 26]).toBeGreaterThan(0);
    expect(kept[40 * n + 50]).toBeGreaterThan(0);
  });
});

describe('local texture', () => {
  it('zero on a flat image, high on stripes', () => {
    const n = 20;
    const flat: RgbImage = { width: n, height: n, data: new Uint8Array(n * n * 3).fill(120) };
    expect(localTexture(flat).every((v) => v === 0)).toBe(true);
    const stripes = new Uint8Array(n * n * 3);
    for (let i = 0; i < n * n; i++) stripes.fill(i % 2 ? 200 : 40, i * 3, i * 3 + 3);
    const t = localTexture({ width: n, height: n, data: stripes });
    expect(t[10 * n + 10]).toBeGreaterThan(100);
  });
});
