// The engine fingerprint's bytes: the same answer gives the same bytes, and
// one mask pixel, a box or the prediction changes them; timings do not.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answerBytes } from '../../bench/engine-hash.js';
import type { SegmentResult } from '../../backend/pipeline/types.js';

function answer(pixel = 255, x = 10, ms = 1): SegmentResult {
  const data = new Uint8Array(16).fill(0);
  data[5] = pixel;
  return {
    width: 100,
    height: 80,
    score: 0.9,
    timings: { detector: ms },
    faces: [{ box: { x, y: 5, width: 4, height: 4 }, score: 0.9, source: 'detector', keypoints: [], mask: { x, y: 5, width: 4, height: 4, data } }],
  };
}

const digest = (seg: SegmentResult, prediction: unknown = { result: [] }): string => {
  const h = createHash('sha256');
  for (const p of answerBytes(seg, prediction)) h.update(p);
  return h.digest('hex');
};

describe('engine-hash answer bytes', () => {
  it('equal answers hash equal; a mask pixel, a box or the prediction makes them differ', () => {
    expect(digest(answer())).toBe(digest(answer()));
    expect(digest(answer(254))).not.toBe(digest(answer()));
    expect(digest(answer(255, 11))).not.toBe(digest(answer()));
    expect(digest(answer(), { result: [1] })).not.toBe(digest(answer()));
    // timings vary from run to run and are left out
    expect(digest(answer(255, 10, 99))).toBe(digest(answer()));
  });
});
