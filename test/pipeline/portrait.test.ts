import { describe, expect, it } from 'vitest';
import { COARSE_RULE } from '../../backend/pipeline/detector-size.js';
import { detectorFirst, isPortrait, PORTRAIT_RULE, type DetectorFirstCase } from '../../backend/pipeline/portrait.js';
import type { FaceDetection } from '../../backend/pipeline/ports.js';

const det = (width: number, height: number): FaceDetection => ({ box: { x: 10, y: 10, width, height }, score: 0.9, landmarks: [] });

describe('isPortrait', () => {
  it('one face whose shorter box side is at least minFaceShare of the longest image side', () => {
    const side = PORTRAIT_RULE.minFaceShare * 512;
    expect(isPortrait(400, 512, [det(side, side * 1.3)], [])).toBe(true);
    expect(isPortrait(400, 512, [det(side * 1.3, side)], [])).toBe(true);
    expect(isPortrait(400, 512, [det(side - 1, 400)], [])).toBe(false);
    // the longest side counts, whichever way the photo is turned
    expect(isPortrait(512, 400, [det(side - 1, 400)], [])).toBe(false);
  });

  it('not with a weaker detection beside the face: a head the detector half sees is for the keypoint model', () => {
    expect(isPortrait(400, 512, [det(300, 300)], [{ ...det(40, 40), score: 0.2 }])).toBe(false);
  });

  it('no face, or two faces however large: not a portrait (the keypoint model runs)', () => {
    expect(isPortrait(400, 512, [], [])).toBe(false);
    expect(isPortrait(400, 512, [det(300, 300), det(300, 300)], [])).toBe(false);
  });
});

describe('detectorFirst', () => {
  const base: DetectorFirstCase = { width: 400, height: 512, fullSide: 640, variableSize: true, hasKeypointModel: true, locator: 'fused', hints: 0, headKeypoints: false };

  it('a small image with a variable-size detector and nothing that needs poses', () => {
    expect(detectorFirst(base)).toBe(true);
    expect(detectorFirst({ ...base, width: 768, height: COARSE_RULE.maxImageSide })).toBe(true);
    expect(detectorFirst({ ...base, width: 512, height: 512 })).toBe(true);
  });

  it('keeps the usual order for landscape images, where a wasted coarse pass is the likelier outcome', () => {
    expect(detectorFirst({ ...base, width: 513, height: 512 })).toBe(false);
    expect(detectorFirst({ ...base, width: 640, height: 480 })).toBe(false);
  });

  it('keeps the usual order for large images and for detectors without a coarse pass', () => {
    expect(detectorFirst({ ...base, width: 800, height: COARSE_RULE.maxImageSide + 1 })).toBe(false);
    expect(detectorFirst({ ...base, variableSize: false })).toBe(false);
    expect(detectorFirst({ ...base, fullSide: COARSE_RULE.side })).toBe(false);
  });

  it('keeps the usual order when poses are wanted: shown keypoints, clicks, the seed locator, or no keypoint model to skip', () => {
    expect(detectorFirst({ ...base, headKeypoints: true })).toBe(false);
    expect(detectorFirst({ ...base, hints: 1 })).toBe(false);
    expect(detectorFirst({ ...base, locator: 'seed' })).toBe(false);
    expect(detectorFirst({ ...base, hasKeypointModel: false })).toBe(false);
  });
});
