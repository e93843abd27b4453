// The turned-head limit on a synthetic mesh made here: a face oval on an
// ellipse, brows, and the nose tip off to one side (a turned head).
import { describe, expect, it } from 'vitest';
import { MESH } from '../../backend/pipeline/mesh-indices.js';
import { applyLimit, turnedHeadLimit } from '../../backend/pipeline/turned-head-limit.js';
import { ovalMesh } from '../helpers/oval-mesh.js';

const N = 120;
const CX = 50;
const CY = 55;
const RX = 30;
const RY = 40;
const BROW_Y = 35;

/** 468 points: the oval ring on the ellipse (forehead 10 at the top, chin 152 at the bottom), brows at BROW_Y, nose tip at `noseX`. */
function turnedMesh(noseX: number): Float32Array {
  const p = ovalMesh(CX, CY, RX, RY);
  p[MESH.noseTip * 3] = noseX;
  p[MESH.noseTip * 3 + 1] = CY;
  for (const brow of [MESH.rightBrowTop, MESH.leftBrowTop]) {
    p[brow * 3] = CX;
    p[brow * 3 + 1] = BROW_Y;
  }
  return p;
}

/** A mask that spread over the whole crop (hair, ears and all). */
const everywhere = (): Float32Array => new Float32Array(N * N).fill(10);
const kept = (field: Float32Array, x: number, y: number): boolean => field[y * N + x] > 0;

describe('turned-head limit', () => {
  // nose to the right: the back of the head is on the left
  const limited = applyLimit(everywhere(), turnedHeadLimit(turnedMesh(78), 468, N, { margin: 0.2, earRow: 1 }));

  it('cuts temple hair far behind the oval above the brows', () => {
    // row 30: the oval's left edge lies at x = 26.6; the margin is 0.2 x 80 = 16 pixels
    expect(kept(limited, 5, 30)).toBe(false);
    expect(kept(limited, 8, 20)).toBe(false);
    // above the forehead and behind the nose: more than the margin above the oval
    expect(kept(limited, 30, 0)).toBe(false);
  });

  it('keeps the face, the skin within the margin, and the ear and jaw below the brows', () => {
    expect(kept(limited, CX, CY)).toBe(true);
    expect(kept(limited, 20, 30)).toBe(true);
    expect(kept(limited, 45, 10)).toBe(true);
    // ear and jaw rows: colour decides there
    expect(kept(limited, 5, 60)).toBe(true);
    expect(kept(limited, 5, BROW_Y + 2)).toBe(true);
    expect(kept(limited, 115, 60)).toBe(true);
  });

  it('is a hairline on the nose side too: a fringe far above the oval goes', () => {
    expect(kept(limited, 115, 20)).toBe(false);
    expect(kept(limited, 70, 20)).toBe(true);
  });

  it('scales with the margin, and leaves partial meshes alone', () => {
    const loose = applyLimit(everywhere(), turnedHeadLimit(turnedMesh(78), 468, N, { margin: 0.5, earRow: 1 }));
    expect(kept(loose, 5, 30)).toBe(true);
    expect(turnedHeadLimit(turnedMesh(78), 100, N)).toBeUndefined();
    const field = everywhere();
    expect(applyLimit(field, undefined)).toBe(field);
  });
});
