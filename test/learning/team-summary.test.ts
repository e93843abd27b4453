import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultParams } from '../../backend/learning/index.js';
import { openStore, type CorrectionRecord } from '../../backend/learning/store.js';
import { projectQuality } from '../../backend/learning/team-summary.js';

const correction = (annotation: string, project: string, ious: number[], receivedAt: number, missed = 0): CorrectionRecord => ({
  annotation,
  project,
  task: annotation,
  modelVersion: 'v',
  score: 0.5,
  faces: ious.map((iou) => ({ score: 0.8, iou, bestDilate: 0, bestIou: iou, curve: { dilates: [0], ious: [iou] } as never })),
  falseFaceScores: [],
  missed,
  changed: ious.some((i) => i < 0.99) || missed > 0,
  receivedAt,
});

describe('team summary', () => {
  it('IoU over time per correction, counts, and what the calibration changed', () => {
    const q = projectQuality(
      {
        project: '4',
        modelVersion: 'v-p',
        corrections: [correction('1', '4', [0.9], 10), correction('2', '4', [0.5], 20, 1)],
        calibration: { project: '4', params: { dilate: 3 }, modelVersion: 'v-p', engineVersion: 'v', corrections: 2, fittedAt: 25, report: { meanIouDefault: 0.7, meanIouFitted: 0.75 } },
      },
      defaultParams(),
    );
    expect(q.iouSeries).toEqual([{ at: 10, iou: 0.9 }, { at: 20, iou: 0.25 }]); // a missed face halves the task IoU
    expect(q.corrections).toBe(2);
    expect(q.facesMissed).toBe(1);
    expect(q.calibration?.changes).toEqual([{ name: 'dilate', from: defaultParams().dilate, to: 3 }]);
    expect(q.calibration?.iouAfter).toBe(0.75);
  });

  it('shows what the refiner fit did: held-out IoU of the masks in use and of the candidate, kept or not', () => {
    const q = projectQuality(
      {
        project: '5',
        modelVersion: 'v-r1',
        corrections: [correction('1', '5', [0.6], 10)],
        calibration: {
          project: '5',
          params: {},
          modelVersion: 'v-r1',
          engineVersion: 'v',
          corrections: 1,
          fittedAt: 25,
          report: { refiner: { accepted: true, heldOut: 4, iouCurrent: 0.55, iouCandidate: 0.93, reason: 'beat the current model' } },
        },
      },
      defaultParams(),
    );
    expect(q.calibration?.refiner).toEqual({ kept: true, heldOut: 4, iouBefore: 0.55, iouAfter: 0.93, reason: 'beat the current model' });
    const none = projectQuality({ project: '5', modelVersion: 'v', corrections: [], calibration: { project: '5', params: {}, modelVersion: 'v', engineVersion: 'v', corrections: 0, fittedAt: 1, report: { refiner: null } } }, defaultParams());
    expect(none.calibration?.refiner).toBeUndefined();
  });

  it('the store lists projects, most recently active first', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-team-'));
    const s = await openStore(path.join(dir, 'l.sqlite'));
    try {
      await s.putPrediction({ project: 'a', task: '1', modelVersion: 'v', dilate: 0, width: 1, height: 1, score: 1, rawScore: 1, faces: [], createdAt: 5 });
      await s.putCorrection(correction('9', 'b', [0.9], 50));
      await s.putCalibration({ project: 'c', params: {}, modelVersion: 'v', engineVersion: 'v', corrections: 0, fittedAt: 30, report: {} });
      expect((await s.listProjects()).sort()).toEqual(['a', 'b', 'c']);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
