// Replays a labeling session through the HTTP app: /predict, then the
// labelers' corrections as Label Studio webhooks (their masks are larger than
// ours: our predictions are too small), then calibration, held-out tasks,
// deletions, repeated events and a restart on the same SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../backend/util/random.js';
import { createApp } from '../../backend/http/app.js';
import { learningDeps, LearningService, openStore, WebhookInbox } from '../../backend/learning/index.js';
import { defaultParams } from '../../backend/learning/index.js';
import { calibratedScore } from '../../backend/learning/calibrate.js';
import { rleToMask } from '../../backend/labelstudio/brush-rle.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { BRUSH_XML, testConfig } from '../http/helpers.js';
import { brushItem, decodeScene, disc, DiscEngine, iou, sceneSource, type SceneSpec } from './helpers.js';

const PROJECT = 7;
const W = 160;
const H = 120;

const rng = seededRandom;

interface TaskCase {
  id: number;
  spec: SceneSpec;
  /** The labeler's radius = ours * k (k = 1: accepted as is). */
  k: number[];
  /** Extra face the labeler drew (we missed it). */
  extra?: { cx: number; cy: number; r: number };
  /** Index of one of our faces the labeler deleted. */
  drop?: number;
}

function makeCases(first: number, n: number, seed: number, opts: { accepted?: number } = {}): TaskCase[] {
  const rand = rng(seed);
  const out: TaskCase[] = [];
  for (let i = 0; i < n; i++) {
    const accepted = i < (opts.accepted ?? 0);
    const nFaces = 1 + (i % 2);
    const faces = [];
    const k: number[] = [];
    for (let f = 0; f < nFaces; f++) {
      const r = 11 + rand() * 8;
      const kf = accepted ? 1 : 1.15 + rand() * 0.2;
      k.push(kf);
      // the worse the correction, the lower our score (plus noise)
      const score = Math.min(0.99, Math.max(0.05, 0.95 - (kf - 1) * 2 + (rand() - 0.5) * 0.1));
      faces.push({ cx: 40 + f * 75 + rand() * 10, cy: 45 + rand() * 25, r, score: Math.round(score * 1000) / 1000 });
    }
    out.push({ id: first + i, spec: { w: W, h: H, faces }, k });
  }
  return out;
}

/** The labeler's final masks for a task (what Label Studio sends in annotation.result). */
function labelerMasks(c: TaskCase): Uint8Array[] {
  const masks = c.spec.faces.map((f, i) => (i === c.drop ? undefined : disc(W, H, f.cx, f.cy, f.r * c.k[i]))).filter((m): m is Uint8Array => !!m);
  if (c.extra) masks.push(disc(W, H, c.extra.cx, c.extra.cy, c.extra.r));
  return masks;
}

function webhook(c: TaskCase, annotationId: number, result: unknown[], action = 'ANNOTATION_CREATED') {
  return {
    action,
    project: { id: PROJECT, title: 'faces', label_config: BRUSH_XML },
    annotation: { id: annotationId, task: c.id, project: PROJECT, result, was_cancelled: false, ground_truth: false, completed_by: 1 },
    task: { id: c.id, data: { image: JSON.stringify(c.spec) }, project: PROJECT },
  };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-learning-'));
const dbFile = path.join(dir, 'learning.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function build(minCorrections: number, env: Record<string, string> = {}) {
  const store = await openStore(dbFile);
  const engine = new DiscEngine();
  const service = new LearningService({
    store,
    logger: silentLogger(),
    defaults: defaultParams(),
    baseVersion: engine.modelVersion,
    versionWith: (p) => engine.versionWith(p),
    minCorrections,
  });
  // the production path: /webhook commits to the inbox, the processor hands events to the service
  const inbox = new WebhookInbox({ store, handler: (e) => service.onWebhook(e), logger: silentLogger(), pollMs: 20 });
  inbox.start();
  const app = createApp({
    config: testConfig(env),
    logger: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    engine,
    imageSource: sceneSource,
    decode: decodeScene,
    ...learningDeps(service, inbox),
  });
  const close = async () => {
    await inbox.stop();
    await store.close();
  };
  return { store, engine, service, app, close };
}

async function predict(app: Awaited<ReturnType<typeof build>>['app'], cases: TaskCase[]) {
  const res = await request(app)
    .post('/predict')
    .send({ tasks: cases.map((c) => ({ id: c.id, data: { image: JSON.stringify(c.spec) } })), project: `${PROJECT}.1700000000`, label_config: BRUSH_XML })
    .expect(200);
  return res.body.results as Array<{ result: Array<{ type: string; value: { rle: number[] } }>; score: number; model_version: string }>;
}

/** Mean IoU of each predicted face with the labeler's face (held-out tasks: no deletions or extras). */
function meanIou(results: Awaited<ReturnType<typeof predict>>, cases: TaskCase[]): number {
  let sum = 0;
  let n = 0;
  results.forEach((r, t) => {
    const truth = labelerMasks(cases[t]);
    r.result.forEach((region, f) => {
      sum += iou(rleToMask(region.value.rle, W, H), truth[f]);
      n++;
    });
  });
  return sum / n;
}

const train = makeCases(1, 14, 11, { accepted: 4 });
train[5].extra = { cx: 140, cy: 20, r: 9 }; // a face we missed
train[7].drop = 1; // a face of ours that was not a face
const heldOut = makeCases(101, 8, 99);

describe('active learning replay', () => {
  const figures: { before?: number; after?: number; quality?: unknown; version?: string; versionBefore?: string } = {};

  it('records predictions, stores corrections, calibrates after enough of them', async () => {
    const { app, store, service, close } = await build(10);
    const baseline = await predict(app, heldOut);
    figures.before = meanIou(baseline, heldOut);
    figures.versionBefore = baseline[0].model_version;
    expect(figures.versionBefore).toBe('disc-v1');

    const preds = await predict(app, train);
    expect(preds.every((p) => p.model_version === 'disc-v1')).toBe(true);
    for (const [t, c] of train.entries()) {
      // accepted tasks: the labeler submits our regions untouched
      const result = c.k.every((k) => k === 1) && !c.extra && c.drop === undefined
        ? preds[t].result.map((r, i) => ({ ...r, id: `r${i}`, origin: 'prediction' }))
        : labelerMasks(c).map((m, i) => brushItem(m, W, H, `r${i}`));
      await request(app).post('/webhook').send(webhook(c, 1000 + c.id, result)).expect(201);
      await until(async () => (await store.countCorrections(String(PROJECT))) === t + 1, `correction ${t + 1}`);
    }
    const cs = (await store.listCorrections(String(PROJECT)));
    expect(cs).toHaveLength(14);
    expect(cs.find((c) => c.task === String(train[5].id))!.missed).toBe(1);
    expect(cs.find((c) => c.task === String(train[7].id))!.falseFaceScores).toHaveLength(1);
    expect(cs.filter((c) => !c.changed)).toHaveLength(4);
    for (const f of cs.flatMap((c) => c.faces.filter((x) => x.iou < 0.99))) {
      // our masks were too small: every corrected face wanted a positive dilate
      expect(f.bestDilate).toBeGreaterThan(4);
      expect(f.bestIou).toBeGreaterThan(f.iou);
    }

    // calibrated automatically at the 10th correction
    const cal = (await store.getCalibration(String(PROJECT)))!;
    expect(cal.corrections).toBe(10);
    expect(cal.params.dilate).toBeGreaterThan(4);
    expect(cal.report.meanIouFitted as number).toBeGreaterThanOrEqual(cal.report.meanIouDefault as number);

    // START_TRAINING refits on all 14
    await request(app).post('/webhook').send({ action: 'START_TRAINING', project: { id: PROJECT, label_config: BRUSH_XML } }).expect(201);
    await until(async () => (await store.getCalibration(String(PROJECT)))!.corrections === 14, 'refit');
    const refit = (await store.getCalibration(String(PROJECT)))!;
    expect(refit.report.reason).toBe('start_training');
    expect(refit.scoreMap).toBeDefined();

    const after = await predict(app, heldOut);
    figures.after = meanIou(after, heldOut);
    figures.version = after[0].model_version;
    expect(figures.version).not.toBe(figures.versionBefore);
    expect(figures.version).toBe(refit.modelVersion);
    expect(figures.after).toBeGreaterThan(figures.before + 0.05);
    // the prediction score is the calibrated one: 1 - P(labeler changes it), order kept
    heldOut.forEach((c, i) => expect(after[i].score).toBe(calibratedScore(refit.scoreMap!, Math.min(...c.spec.faces.map((f) => f.score)))));
    expect(after.map((a) => a.score)).not.toEqual(baseline.map((b) => b.score));
    const setup = await request(app).post('/setup').send({ project: `${PROJECT}.1700000000`, schema: BRUSH_XML }).expect(200);
    expect(setup.body.model_version).toBe(refit.modelVersion);
    // another project still gets the defaults
    const other = await request(app).post('/setup').send({ project: '8.1700000000', schema: BRUSH_XML }).expect(200);
    expect(other.body.model_version).toBe('disc-v1');

    const q = await request(app).get(`/projects/${PROJECT}/quality`).expect(200);
    expect(q.body.model_version).toBe(refit.modelVersion);
    expect(q.body.figures.corrections).toBe(14);
    expect(q.body.figures.facesMissed).toBe(1);
    expect(q.body.figures.facesFalse).toBe(1);
    expect(q.body.figures.spearmanFaceScoreIou).toBeGreaterThan(0.3);
    figures.quality = q.body;
    console.log(
      `held-out mean IoU ${figures.before.toFixed(4)} -> ${figures.after.toFixed(4)}; dilate ${refit.params.dilate}; ` +
        `fitted-on IoU ${refit.report.meanIouDefault} -> ${refit.report.meanIouFitted}; ` +
        `spearman face ${q.body.figures.spearmanFaceScoreIou}, task ${q.body.figures.spearmanTaskScoreIou}; version ${figures.versionBefore} -> ${figures.version}`,
    );
    await close();
    void service;
  });

  it('repeated events change nothing; deleted annotations are removed', async () => {
    const { app, store, close } = await build(0);
    const c = train[9];
    const before = (await store.listCorrections(String(PROJECT)));
    // Label Studio re-predicts the task with the calibrated version; the annotation's
    // updates must still be compared with the prediction the labeler corrected
    const repredicted = await predict(app, [c]);
    expect(repredicted[0].model_version).toBe(figures.version);
    expect((await store.getPrediction(String(PROJECT), String(c.id)))!.modelVersion).toBe(figures.version);
    for (let i = 0; i < 3; i++) {
      await request(app).post('/webhook').send(webhook(c, 1000 + c.id, labelerMasks(c).map((m, j) => brushItem(m, W, H, `r${j}`)), 'ANNOTATION_UPDATED')).expect(201);
    }
    await until(async () => (await store.countEvents()) === 0, 'inbox drained');
    const again = (await store.listCorrections(String(PROJECT)));
    expect(again).toHaveLength(before.length);
    const strip = (xs: typeof before) => xs.map(({ receivedAt: _r, ...x }) => x).sort((a, b) => a.annotation.localeCompare(b.annotation));
    expect(strip(again)).toEqual(strip(before));

    // what Label Studio sends on delete: ANNOTATIONS_DELETED with a list of ids
    await request(app)
      .post('/webhook')
      .send({ action: 'ANNOTATIONS_DELETED', project: { id: PROJECT, label_config: BRUSH_XML }, annotations: [{ id: 1000 + train[0].id }, { id: 1000 + train[1].id }] })
      .expect(201);
    await until(async () => (await store.countCorrections(String(PROJECT))) === 12, 'deletion');
    expect((await store.listCorrections(String(PROJECT))).map((x) => x.annotation)).not.toContain(String(1000 + train[0].id));
    // deleting again is harmless
    await request(app).post('/webhook').send({ action: 'ANNOTATIONS_DELETED', project: { id: PROJECT }, annotations: [{ id: 1000 + train[0].id }] }).expect(201);
    // a skipped task (was_cancelled) removes the annotation's correction too
    const skipped = webhook(train[2], 1000 + train[2].id, []);
    skipped.annotation.was_cancelled = true;
    await request(app).post('/webhook').send(skipped).expect(201);
    await until(async () => (await store.countCorrections(String(PROJECT))) === 11, 'skip');
    await close();
  });

  it('survives a restart: new store instance on the same file', async () => {
    const { app, store, close } = await build(10);
    const cal = (await store.getCalibration(String(PROJECT)))!;
    expect(cal.modelVersion).toBe(figures.version);
    const q = await request(app).get(`/projects/${PROJECT}/quality`).expect(200);
    expect(q.body.model_version).toBe(figures.version);
    expect(q.body.calibrated_params).toEqual((figures.quality as { calibrated_params: unknown }).calibrated_params);
    expect(q.body.figures.corrections).toBe(11);
    const after = await predict(app, heldOut);
    expect(after[0].model_version).toBe(figures.version);
    expect(meanIou(after, heldOut)).toBeCloseTo(figures.after!, 6);
    await close();
  });

  it('/projects/:id/quality sits behind basic auth; a project without corrections gets the defaults', async () => {
    const { app, store, close } = await build(10, { BASIC_AUTH_USER: 'u', BASIC_AUTH_PASS: 'p' });
    await request(app).get(`/projects/${PROJECT}/quality`).expect(401);
    const q = await request(app).get('/projects/42/quality').auth('u', 'p').expect(200);
    expect(q.body.model_version).toBe('disc-v1');
    expect(q.body.params).toEqual(defaultParams());
    expect(q.body.figures.corrections).toBe(0);
    expect(q.body.calibration).toBeNull();
    await request(app).get('/projects/..%2F/quality').auth('u', 'p').expect(400);
    // the webhook stays open without auth
    await request(app).post('/webhook').send({ action: 'START_TRAINING', project: { id: 42 } }).expect(201);
    await until(async () => (await store.getCalibration('42')) !== undefined, 'calibration of project 42');
    const cal = (await store.getCalibration('42'))!;
    expect(cal.params).toEqual({});
    expect(cal.modelVersion).toBe('disc-v1');
    await close();
  });
});
