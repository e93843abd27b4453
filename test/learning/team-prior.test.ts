// `faceseg prior`'s work: a refiner prior fitted on the corrections of a
// team's projects, kept only when it beats the bare engine on held-out ones.
import { describe, expect, it } from 'vitest';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';
import { DEFAULT_FIT, meanFrameIou } from '../../backend/learning/refiner.js';
import { encodeSample, encodeTarget } from '../../backend/learning/sample-codec.js';
import { openStore, type CorrectionRecord } from '../../backend/learning/store.js';
import { fitTeamPrior } from '../../backend/learning/team-prior.js';

const N = 48;
const fast = { ...DEFAULT_FIT, train: { ...DEFAULT_FIT.train, hidden: 12, epochs: 5 }, maxRows: 20_000 };

/** A labeler's correction of one synthetic face: the head (face + hair), or no sample at all (an old record). */
function correction(project: string, seed: number, withSample = true): CorrectionRecord {
  const f = syntheticFace(seed, N);
  const sample = withSample ? { sample: encodeSample(f.sample), target: encodeTarget(f.head) } : {};
  return {
    annotation: `a${seed}`,
    project,
    task: `t${seed}`,
    modelVersion: 'v1',
    score: 0.6,
    faces: [{ score: 0.8, iou: 0.6, bestDilate: 5, bestIou: 0.7, curve: { d0: 0, faceSize: 16, gtArea: 100, all: [1, 2, 3], gt: [0, 1, 3] }, ...sample }],
    falseFaceScores: [],
    missed: 0,
    changed: true,
    receivedAt: seed,
  };
}

describe('team prior', () => {
  it("learns the team's convention from several projects and beats the engine on faces it never saw", async () => {
    const store = await openStore(':memory:');
    for (let k = 0; k < 8; k++) await store.putCorrection(correction('1', k + 1));
    for (let k = 0; k < 8; k++) await store.putCorrection(correction('2', k + 20));
    await store.putCorrection(correction('3', 40, false));
    const fit = await fitTeamPrior(store, { fit: fast });
    expect(fit.projects).toEqual({ '1': 8, '2': 8, '3': 0 });
    expect(fit.report.accepted).toBe(true);
    expect(fit.model).not.toBeNull();
    const unseen = Array.from({ length: 6 }, (_, k) => syntheticFace(100 + k, N)).map((f, k) => ({ sample: f.sample, target: f.head, group: `u${k}` }));
    expect(meanFrameIou(fit.model, unseen)).toBeGreaterThan(meanFrameIou(null, unseen) + 0.1);
    await store.close();
  }, 60_000);

  it('fits on the newest faces only, whatever the store holds', async () => {
    const store = await openStore(':memory:');
    for (let k = 0; k < 6; k++) await store.putCorrection(correction('old', k + 1));
    for (let k = 0; k < 8; k++) await store.putCorrection(correction('new', k + 20));
    const fit = await fitTeamPrior(store, { fit: fast, maxFaces: 10 });
    // receivedAt is the seed: the 8 of 'new' (20..27) and the 2 newest of 'old' (5, 6)
    expect(fit.projects).toEqual({ old: 2, new: 8 });
    expect(fit.report.examples).toBe(10);
    await store.close();
  }, 60_000);

  it('writes nothing from too few corrections or from projects that are not there', async () => {
    const store = await openStore(':memory:');
    for (let k = 0; k < 3; k++) await store.putCorrection(correction('1', k + 1));
    const few = await fitTeamPrior(store, { fit: fast });
    expect(few.model).toBeNull();
    expect(few.report.reason).toMatch(/needed/);
    const none = await fitTeamPrior(store, { projects: ['99'], fit: fast });
    expect(none.projects).toEqual({ '99': 0 });
    expect(none.model).toBeNull();
    await store.close();
  }, 60_000);
});
