// From a webhook annotation to a correction record, and the prediction record, without a store.
import { describe, expect, it } from 'vitest';
import { brushRegions, compareCorrection, predictionRecord } from '../../backend/learning/records.js';
import type { PredictionRecord } from '../../backend/learning/store.js';
import { maskToRle } from '../../backend/labelstudio/brush-rle.js';
import { disc } from './helpers.js';

const W = 80;
const H = 60;
const brush = { fromName: 'tag', toName: 'image', label: 'Face', labels: ['Face'] };
const region = (rle: number[], extra: Record<string, unknown> = {}) => ({
  type: 'brushlabels', from_name: 'tag', original_width: W, original_height: H, value: { format: 'rle', rle, brushlabels: ['Face'] }, ...extra,
});
const pred: PredictionRecord = {
  project: 'p', task: '1', modelVersion: 'v1', dilate: 0, width: W, height: H, score: 0.5, rawScore: 0.5, createdAt: 0,
  faces: [{ score: 0.9, rle: maskToRle(disc(W, H, 20, 20, 10), W, H) }, { score: 0.4, rle: maskToRle(disc(W, H, 60, 40, 8), W, H) }],
};

describe('records', () => {
  it('reads only regions of our brush and label, and refuses another image size', () => {
    const mine = region(maskToRle(disc(W, H, 21, 20, 11), W, H));
    const other = region(maskToRle(disc(W, H, 60, 40, 8), W, H), { from_name: 'other' });
    const regions = brushRegions({ result: [mine, other] }, 'a1', brush, pred);
    expect(Array.isArray(regions) && regions.length).toBe(1);
    const resized = brushRegions({ result: [region([1, 2], { original_width: 40 })] }, 'a1', brush, pred);
    expect(resized).toMatchObject({ problem: expect.stringContaining('size differs'), fields: { size: `40x${H}` } });
  });

  it('matches our faces to the labeler\'s: one kept and grown, one removed', () => {
    const truths = brushRegions({ result: [region(maskToRle(disc(W, H, 20, 20, 12), W, H))] }, 'a1', brush, pred);
    if (!Array.isArray(truths)) throw new Error(truths.problem);
    const record = compareCorrection({ annotation: 'a1', project: 'p', task: '1', pred, truths, receivedAt: 5, warn: () => {} });
    expect(record.faces).toHaveLength(1);
    expect(record.faces[0].iou).toBeGreaterThan(0.6);
    expect(record.faces[0].iou).toBeLessThan(0.8);
    expect(record.faces[0].bestDilate).toBeGreaterThan(0);
    expect(record.falseFaceScores).toEqual([0.4]);
    expect(record).toMatchObject({ missed: 0, changed: true, receivedAt: 5, modelVersion: 'v1' });
  });

  it('keeps per brush region its score and RLE, with the face size and sample given in region order', () => {
    const prediction = {
      model_version: 'v2', score: 0.7,
      result: [
        { type: 'brushlabels', score: 0.8, value: { rle: [1] } },
        { type: 'keypointlabels', score: 0.1, value: {} },
        { type: 'brushlabels', score: 0.6, value: { rle: [2] } },
      ],
    } as unknown as Parameters<typeof predictionRecord>[0]['prediction'];
    const rec = predictionRecord({ projectId: 'p', taskId: 7, prediction, rawScore: 0.65, params: {}, width: W, height: H, faces: [{ faceSize: 30 }, { sample: 's' }] }, 2, 99);
    expect(rec.faces).toEqual([{ score: 0.8, rle: [1], faceSize: 30 }, { score: 0.6, rle: [2], sample: 's' }]);
    expect(rec).toMatchObject({ task: '7', dilate: 2, modelVersion: 'v2', createdAt: 99, rawScore: 0.65 });
  });
});
