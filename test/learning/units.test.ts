import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calibratedScore, fitDilate, fitScoreMap, pChange, spearman } from '../../backend/learning/calibrate.js';
import { bestDilate, FACE_SIZE_RATIO, fromFullMask, groupRegions, iouAt, iouCurve, maskIou, matchFaces } from '../../backend/learning/masks.js';
import { openStore, type CorrectionRecord } from '../../backend/learning/store.js';
import { disc, iou } from './helpers.js';

const W = 200;
const H = 150;
const m = (cx: number, cy: number, r: number) => fromFullMask(disc(W, H, cx, cy, r), W, H)!;

describe('masks', () => {
  it('IoU curve predicts the IoU of a grown or shrunk mask', () => {
    // engine semantics: dilate d grows the radius by d * faceSize / 100, faceSize = FACE_SIZE_RATIO * 2r at d = 0
    const r = 20;
    const size = FACE_SIZE_RATIO * 2 * r;
    const pred = m(100, 75, r);
    const gt = m(102, 74, 26);
    const curve = iouCurve(pred, gt, 0, W, H);
    expect(curve.faceSize).toBeCloseTo(size, 0);
    for (const d of [-10, 0, 5, 10, 15, 25]) {
      const grown = disc(W, H, 100, 75, r + (d * size) / 100);
      expect(iouAt(curve, d)).toBeCloseTo(iou(grown, disc(W, H, 102, 74, 26)), 1);
    }
    expect(iouAt(curve, 0)).toBeCloseTo(maskIou(pred, gt), 2);
    const best = bestDilate(curve);
    // radius 26 from 20 (and 2 px off centre): about 6 / size * 100 = 17
    expect(best.dilate).toBeGreaterThan(14);
    expect(best.dilate).toBeLessThan(21);
  });

  it('a curve made on a mask predicted with dilate d0 is read in absolute dilate', () => {
    const r0 = 20;
    const d0 = 10;
    const unit = (FACE_SIZE_RATIO * 2 * r0) / 100;
    const pred = m(100, 75, r0 + d0 * unit); // what the engine made with dilate 10
    const gt = m(100, 75, r0 + 15 * unit); // needs dilate 15 in absolute terms
    const best = bestDilate(iouCurve(pred, gt, d0, W, H));
    expect(best.dilate).toBeGreaterThanOrEqual(13.5);
    expect(best.dilate).toBeLessThanOrEqual(16.5);
  });

  it('big windows are subsampled and stay close', () => {
    const big = 2400;
    const p = fromFullMask(disc(big, big, 1200, 1200, 500), big, big)!;
    const g = fromFullMask(disc(big, big, 1200, 1200, 600), big, big)!;
    const c = iouCurve(p, g, 0, big, big);
    expect(iouAt(c, 100 / (2 * 500 * FACE_SIZE_RATIO) * 100)).toBeGreaterThan(0.97); // grow 100 px: 500 -> 600
    expect(iouAt(c, 0)).toBeCloseTo((500 / 600) ** 2, 2);
  });

  it('overlapping strokes are one face; matching finds missed and false faces', () => {
    const strokes = [m(50, 50, 15), m(60, 50, 15), m(150, 80, 12)];
    const gts = groupRegions(strokes);
    expect(gts).toHaveLength(2);
    const preds = [m(55, 50, 14), m(20, 130, 8)];
    const r = matchFaces(preds, gts);
    expect(r.matches).toHaveLength(1);
    expect(r.matches[0].pred).toBe(0);
    expect(r.falseFaces).toEqual([1]);
    expect(r.missed).toHaveLength(1);
  });
});

function correction(scores: number[], curves: ReturnType<typeof iouCurve>[]): CorrectionRecord {
  return {
    annotation: String(Math.random()),
    project: '1',
    task: '1',
    modelVersion: 'v',
    score: Math.min(...scores),
    faces: curves.map((c, i) => ({ score: scores[i], iou: iouAt(c, c.d0), bestDilate: 0, bestIou: 0, curve: c })),
    falseFaceScores: [],
    missed: 0,
    changed: true,
    receivedAt: 0,
  };
}

describe('calibration', () => {
  it('fitDilate never does worse than the default on its data, and keeps the default when nothing helps', () => {
    const exact = correction([0.9], [iouCurve(m(100, 75, 20), m(100, 75, 20), 0, W, H)]);
    const same = fitDilate([exact], 0);
    expect(same.dilate).toBe(0);
    expect(same.meanIouFitted).toBe(same.meanIouDefault);
    const small = correction([0.5], [iouCurve(m(100, 75, 20), m(100, 75, 25), 0, W, H)]);
    const fit = fitDilate([small, exact], 0);
    expect(fit.meanIouFitted).toBeGreaterThanOrEqual(fit.meanIouDefault);
    const fitSmall = fitDilate([small], 0);
    expect(fitSmall.dilate).toBeGreaterThan(9);
    expect(fitSmall.meanIouFitted).toBeGreaterThan(fitSmall.meanIouDefault + 0.1);
    expect(fitDilate([], 3)).toMatchObject({ dilate: 3, faces: 0 });
  });

  it('spearman', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(0.9487, 3);
    expect(spearman([1, 2], [1, 2])).toBeNull();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });

  it('isotonic score map: P(change) non-increasing in the score; calibrated scores keep the order', () => {
    const pairs = [];
    for (let i = 0; i < 40; i++) {
      const score = i / 40;
      pairs.push({ score, changed: (i * 7919) % 40 > i }); // mostly changed at low scores
    }
    const map = fitScoreMap(pairs)!;
    expect(map).not.toBeNull();
    for (let i = 1; i < map.p.length; i++) expect(map.p[i]).toBeLessThanOrEqual(map.p[i - 1]);
    for (let i = 1; i < map.x.length; i++) expect(map.x[i]).toBeGreaterThan(map.x[i - 1]);
    expect(pChange(map, 0)).toBeGreaterThan(pChange(map, 1));
    let last = -1;
    for (let s = 0; s <= 1; s += 0.05) {
      const c = calibratedScore(map, s);
      expect(c).toBeGreaterThanOrEqual(last);
      last = c;
    }
    expect(fitScoreMap(pairs.slice(0, 5))).toBeNull();
    expect(fitScoreMap(pairs.map((p) => ({ ...p, changed: true })))).toBeNull();
  });
});

describe('store', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips predictions, corrections and calibrations across instances', async () => {
    const file = path.join(dir, 'sub', 'l.sqlite');
    const a = await openStore(file);
    await a.putPrediction({ project: '1', task: '9', modelVersion: 'v', dilate: 2, width: 4, height: 3, score: 0.5, rawScore: 0.4, faces: [{ score: 0.7, rle: [0, 0, 0, 48, 57, 27, 255] }], createdAt: 5 });
    const c = correction([0.8], [iouCurve(m(100, 75, 20), m(100, 75, 22), 0, W, H)]);
    await a.putCorrection({ ...c, annotation: '77' });
    await a.putCorrection({ ...c, annotation: '77' });
    await a.putCalibration({ project: '1', params: { dilate: 4 }, modelVersion: 'v-p', engineVersion: 'v', corrections: 1, fittedAt: 1, report: { x: 1 } });
    await a.close();
    const b = await openStore(file);
    expect((await b.getPrediction('1', '9'))!.faces[0].rle).toEqual([0, 0, 0, 48, 57, 27, 255]);
    expect((await b.getPrediction('1', '9'))!.rawScore).toBe(0.4);
    expect(await b.listCorrections('1')).toHaveLength(1);
    expect((await b.listCorrections('1'))[0].faces[0].curve.all).toEqual(c.faces[0].curve.all);
    expect(await b.getCalibration('1')).toMatchObject({ params: { dilate: 4 }, modelVersion: 'v-p', scoreMap: undefined });
    expect((await b.getCorrection('77', '1'))!.faces).toHaveLength(1);
    // one record per model_version, the last 3 kept; no version given = the latest
    for (const v of ['v2', 'v3', 'v4']) await b.putPrediction({ ...(await b.getPrediction('1', '9'))!, modelVersion: v, createdAt: Number(v.slice(1)) * 10 });
    expect((await b.getPrediction('1', '9'))!.modelVersion).toBe('v4');
    expect((await b.getPrediction('1', '9', 'v2'))!.modelVersion).toBe('v2');
    expect(await b.getPrediction('1', '9', 'v')).toBeUndefined();
    expect(await b.deleteCorrection('77', '1')).toBe(true);
    expect(await b.deleteCorrection('77', '1')).toBe(false);
    await b.close();
  });
});
