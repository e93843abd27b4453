import { describe, expect, it } from 'vitest';
import {
  COCO,
  headBoxFromPose,
  headWidthEstimate,
  iou,
  seedHeadBox,
  suppress,
  SEED_RULE,
} from '../../backend/pipeline/geometry.js';
import type { ScoredPoint } from '../../backend/pipeline/types.js';

function pose(entries: Partial<Record<number, [number, number, number]>>): ScoredPoint[] {
  return Array.from({ length: 17 }, (_, i) => {
    const e = entries[i];
    return e ? { x: e[0], y: e[1], score: e[2] } : { x: 0, y: 0, score: 0 };
  });
}

describe('seed head-box rule', () => {
  it('centres on the mean of visible head keypoints with radius 3 x max distance', () => {
    const head: ScoredPoint[] = [
      { x: 100, y: 100, score: 0.9 },
      { x: 90, y: 90, score: 0.9 },
      { x: 110, y: 90, score: 0.9 },
      { x: 0, y: 0, score: 0.01 },
      { x: 0, y: 0, score: 0.01 },
    ];
    const b = seedHeadBox(head, SEED_RULE);
    expect(b).not.toBeNull();
    const cx = (b!.x + b!.width / 2);
    const cy = (b!.y + b!.height / 2);
    expect(cx).toBeCloseTo(100);
    expect(cy).toBeCloseTo(280 / 3);
    expect(b!.width).toBeCloseTo(2 * 3 * 20);
  });

  it('falls back to the minimum radius when only one keypoint is visible (the seed weakness)', () => {
    const b = seedHeadBox([{ x: 50, y: 50, score: 0.8 }], SEED_RULE);
    expect(b!.width).toBe(40);
  });

  it('returns null when nothing passes the threshold', () => {
    expect(seedHeadBox([{ x: 1, y: 1, score: 0.1 }], SEED_RULE)).toBeNull();
  });
});

describe('body-based head scale', () => {
  it('uses shoulder width when only the nose is visible', () => {
    const kp = pose({ [COCO.nose]: [200, 100, 0.9], [COCO.leftShoulder]: [300, 250, 0.9], [COCO.rightShoulder]: [100, 250, 0.9] });
    expect(headWidthEstimate(kp, 0.3)).toBeCloseTo(90);
    const box = headBoxFromPose(kp, 0.3, SEED_RULE)!;
    // far larger than the seed rule's 20 px minimum radius
    expect(box.width).toBeGreaterThan(100);
    expect(box.x + box.width / 2).toBeCloseTo(200);
  });

  it('prefers ear-to-ear width when both ears are visible', () => {
    const kp = pose({ [COCO.leftEar]: [260, 100, 0.9], [COCO.rightEar]: [200, 100, 0.9] });
    expect(headWidthEstimate(kp, 0.3)).toBeCloseTo(60);
  });

  it('has no scale from nothing', () => {
    expect(headWidthEstimate(pose({ [COCO.nose]: [1, 1, 0.9] }), 0.3)).toBeNull();
  });
});

describe('merging', () => {
  it('iou of identical boxes is 1 and of disjoint ones 0', () => {
    const a = { x: 0, y: 0, width: 10, height: 10 };
    expect(iou(a, a)).toBe(1);
    expect(iou(a, { x: 20, y: 0, width: 10, height: 10 })).toBe(0);
    expect(iou(a, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150);
  });

  it('keeps the best of overlapping candidates and absorbs the rest', () => {
    const groups = suppress(
      [
        { box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.5, payload: 'a' },
        { box: { x: 1, y: 1, width: 10, height: 10 }, score: 0.9, payload: 'b' },
        { box: { x: 50, y: 50, width: 10, height: 10 }, score: 0.7, payload: 'c' },
      ],
      (p, q) => iou(p, q) > 0.3,
    );
    expect(groups.map((g) => g.kept.payload)).toEqual(['b', 'c']);
    expect(groups[0].absorbed.map((c) => c.payload)).toEqual(['a']);
  });
});
