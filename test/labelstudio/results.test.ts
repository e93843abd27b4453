import { describe, expect, it } from 'vitest';
import { buildPrediction, emptyPrediction } from '../../backend/labelstudio/results.js';
import { parseLabelConfig } from '../../backend/labelstudio/label-config.js';
import { rleToMask } from '../../backend/labelstudio/brush-rle.js';
import type { Face, SegmentResult } from '../../backend/pipeline/types.js';

const cfg = parseLabelConfig(`<View><Image name="img" value="$image"/>
  <BrushLabels name="mask" toName="img"><Label value="Gesicht" predicted_values="face"/><Label value="Hair"/></BrushLabels>
  <RectangleLabels name="box" toName="img"><Label value="Face"/></RectangleLabels>
  <KeyPointLabels name="kp" toName="img"><Label value="nose"/></KeyPointLabels></View>`);

function face(x: number, y: number, side: number, score: number): Face {
  return {
    box: { x: x - 2, y, width: side + 4, height: side },
    score,
    mask: { x, y, width: side, height: side, data: new Uint8Array(side * side).fill(200) },
    keypoints: [
      { name: 'nose', x: x + side / 2, y: y + side / 2, score: 0.51234 },
      { name: 'left_eye', x: x + 1, y: y + 1, score: 0.9 },
    ],
    source: 'detector',
  };
}

describe('buildPrediction', () => {
  const seg: SegmentResult = { width: 10, height: 8, faces: [face(0, 0, 4, 0.8), face(6, 4, 4, 0.3)], score: 0.3, timings: {} };
  const p = buildPrediction(seg, cfg, 'v1');

  it('one brush region per face with exact from/to names, label and size', () => {
    const brushes = p.result.filter((r) => r.type === 'brushlabels');
    expect(brushes).toHaveLength(2);
    for (const b of brushes) {
      expect(b).toMatchObject({ from_name: 'mask', to_name: 'img', original_width: 10, original_height: 8, image_rotation: 0 });
      expect(b.value).toMatchObject({ format: 'rle', brushlabels: ['Gesicht'] });
    }
    const m = rleToMask((brushes[1].value as { rle: number[] }).rle, 10, 8);
    expect(m[4 * 10 + 6]).toBe(255);
    expect(m[7 * 10 + 9]).toBe(255);
    expect(m[3 * 10 + 6]).toBe(0);
    expect(m.reduce((s, v) => s + (v ? 1 : 0), 0)).toBe(16);
    expect(brushes.map((b) => b.score)).toEqual([0.8, 0.3]);
  });

  it('boxes are clipped percent coordinates; keypoints only for labels the config has', () => {
    const boxes = p.result.filter((r) => r.type === 'rectanglelabels');
    expect(boxes[0].value).toEqual({ x: 0, y: 0, width: 60, height: 50, rotation: 0, rectanglelabels: ['Face'] });
    expect(boxes[1].value).toMatchObject({ x: 40, y: 50, width: 60, height: 50 });
    const kps = p.result.filter((r) => r.type === 'keypointlabels');
    expect(kps).toHaveLength(2);
    expect(kps[0]).toMatchObject({ from_name: 'kp', value: { x: 20, y: 25, width: 0.5, keypointlabels: ['nose'] }, score: 0.5123 });
  });

  it('ids are unique and the prediction carries score and model_version', () => {
    expect(new Set(p.result.map((r) => r.id)).size).toBe(p.result.length);
    expect(p.score).toBe(0.3);
    expect(p.model_version).toBe('v1');
  });

  it('no faces -> result [] with the image score', () => {
    expect(buildPrediction({ width: 5, height: 5, faces: [], score: 0.97, timings: {} }, cfg, 'v1')).toEqual({
      result: [],
      score: 0.97,
      model_version: 'v1',
    });
    expect(emptyPrediction('v2')).toEqual({ result: [], score: 0, model_version: 'v2' });
  });
});
