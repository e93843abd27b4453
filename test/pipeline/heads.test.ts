import { describe, expect, it } from 'vitest';
import { candidateFromDetection, fuseCandidates, type HeadParams } from '../../backend/pipeline/heads.js';
import type { FaceDetection, PersonPose } from '../../backend/pipeline/ports.js';

const params: HeadParams = { keypointThreshold: 0.3, detectorThreshold: 0.5, roiScale: 1.5, minRadius: 4 };

// a frontal face at (100, 100): the subject's right eye on the image's left, as FaceDetection orders them
const detection: FaceDetection = {
  box: { x: 80, y: 80, width: 40, height: 40 },
  score: 0.8,
  landmarks: [
    { x: 92, y: 95 },
    { x: 108, y: 95 },
    { x: 100, y: 103 },
    { x: 94, y: 112 },
    { x: 106, y: 112 },
  ],
};

describe('head candidates', () => {
  it('a detection keeps its eyes and nose as keypoints named for the subject\'s sides, scored by the detection', () => {
    expect(candidateFromDetection(detection, params).detectorKeypoints).toEqual([
      { name: 'right_eye', x: 92, y: 95, score: 0.8 },
      { name: 'left_eye', x: 108, y: 95, score: 0.8 },
      { name: 'nose', x: 100, y: 103, score: 0.8 },
    ]);
    expect(candidateFromDetection({ ...detection, landmarks: [] }, params).detectorKeypoints).toEqual([]);
  });

  it('a fused candidate reports the keypoint model\'s head points and keeps the detector\'s beside them', () => {
    const at = (x: number, y: number, score = 0.9) => ({ x, y, score });
    const pose: PersonPose = {
      score: 0.9,
      box: { x: 70, y: 80, width: 60, height: 120 },
      keypoints: [at(100, 104), at(109, 96), at(91, 96), at(118, 100), at(82, 100), ...Array.from({ length: 12 }, () => at(0, 0, 0))],
    };
    const [fused] = fuseCandidates([pose], [detection], params);
    expect(fused.source).toBe('fused');
    expect(fused.keypoints.map((k) => k.name)).toEqual(['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear']);
    expect(fused.detectorKeypoints).toHaveLength(3);
  });
});
