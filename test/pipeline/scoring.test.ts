import { describe, expect, it } from 'vitest';
import { exposure, faceScore, imageScore, regionStats, yawFromMesh, type FaceEvidence } from '../../backend/pipeline/scoring.js';

const good: FaceEvidence = { meshScore: 0.95, faceSize: 120, luminance: 120, contrast: 40, source: 'fused', detectorScore: 0.9, poseScore: 0.8, imageEdge: false, yaw: 0 };
const bright = { luminance: 120, contrast: 50 };

describe('task score', () => {
  it('a clear frontal face scores high; each doubt lowers it', () => {
    const base = faceScore(good);
    expect(base).toBeGreaterThan(0.9);
    for (const worse of [{ luminance: 20 }, { contrast: 5 }, { imageEdge: true }, { yaw: 0.9 }, { faceSize: 15 }, { source: 'keypoints' as const, poseScore: 0.3 }]) {
      expect(faceScore({ ...good, ...worse })).toBeLessThan(base * 0.9);
    }
  });

  it('finding nothing is confident only in a well-exposed photo', () => {
    const empty = (stats: { luminance: number; contrast: number }) => imageScore({ faceScores: [], unexplainedPeople: 0, rejected: [], stats });
    expect(empty(bright)).toBeGreaterThan(0.8);
    expect(empty({ luminance: 10, contrast: 4 })).toBeLessThan(0.1); // nearly black
    expect(empty({ luminance: 128, contrast: 6 })).toBeLessThan(0.2); // fog, flat
    expect(exposure({ luminance: 255, contrast: 100 })).toBe(1);
  });

  it('people without a face and rejected head candidates pull the image down', () => {
    const one = imageScore({ faceScores: [0.9], unexplainedPeople: 0, rejected: [], stats: bright });
    expect(imageScore({ faceScores: [0.9], unexplainedPeople: 1, rejected: [], stats: bright })).toBeLessThan(one * 0.6);
    expect(imageScore({ faceScores: [0.9], unexplainedPeople: 0, rejected: [0.8], stats: bright })).toBeLessThan(one * 0.75);
    expect(imageScore({ faceScores: [0.9, 0.3], unexplainedPeople: 0, rejected: [], stats: bright })).toBeCloseTo(0.3, 5);
  });

  it('yaw from the cheek line: 0 in the image plane, 1 along the view axis', () => {
    expect(yawFromMesh(100, 0)).toBe(0);
    expect(yawFromMesh(-100, 100)).toBeCloseTo(0.5, 10);
    expect(yawFromMesh(0, 40)).toBe(1);
    expect(yawFromMesh(0, 0)).toBe(1);
  });

  it('region stats: mean and spread of luma', () => {
    const data = new Uint8Array(4 * 4 * 3);
    for (let i = 0; i < 16; i++) data.fill(i % 2 ? 200 : 100, i * 3, i * 3 + 3);
    const s = regionStats({ width: 4, height: 4, data }, { x: 0, y: 0, width: 4, height: 4 });
    expect(s.luminance).toBeCloseTo(150, 6);
    expect(s.contrast).toBeCloseTo(50, 6);
    expect(regionStats({ width: 4, height: 4, data }, { x: 10, y: 10, width: 2, height: 2 })).toEqual({ luminance: 0, contrast: 0 });
  });
});
