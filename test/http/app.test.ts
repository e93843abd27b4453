import express from 'express';
import { healthRoutes } from '../../backend/http/routes/health.js';
import { teamPageRoute } from '../../backend/http/routes/ui.js';
import { RecentFailures } from '../../backend/http/recent-failures.js';
import { WorkQueue } from '../../backend/http/work-queue.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import request from 'supertest';
import sharp from 'sharp';
import { createApp } from '../../backend/http/app.js';
import { hintsFromContext } from '../../backend/model/interactive-hints.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { decodeRle, rleToMask } from '../../backend/labelstudio/brush-rle.js';
import type { WebhookEvent } from '../../backend/labelstudio/schemas.js';
import { BRUSH_BOX_KP_XML, BRUSH_XML, SquareFaceEngine, testConfig } from './helpers.js';

const IMG_HOST = 'http://images.test';
let png40x30: Buffer;
let png20x20: Buffer;

beforeAll(async () => {
  png40x30 = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 150, b: 120 } } }).png().toBuffer();
  png20x20 = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

function makeApp(env: Record<string, string> = {}, extra: { onWebhook?: (e: WebhookEvent) => Promise<void> } = {}) {
  const config = testConfig(env);
  const engine = new SquareFaceEngine();
  const metrics = createMetrics({ defaultMetrics: false });
  const imageSource = createImageSource({
    labelStudioUrl: config.labelStudioUrl,
    maxBytes: config.limits.maxImageBytes,
    timeoutMs: 2000,
    retries: 1,
    backoffMs: 1,
  });
  const app = createApp({ config, logger: silentLogger(), metrics, engine, imageSource, ...extra });
  return { app, engine, metrics, config };
}

const task = (id: number, image: string) => ({ id, data: { image } });

describe('health and setup', () => {
  it('GET / and /health answer UP with the model class and version', async () => {
    const { app } = makeApp();
    for (const path of ['/', '/health']) {
      const res = await request(app).get(path).expect(200);
      expect(res.body).toEqual({ status: 'UP', model_class: 'FaceSegBackend', model_version: 'test-square-v1' });
      expect(res.headers['x-request-id']).toBeTruthy();
    }
  });

  it('answers 503 DOWN when an engine worker pool has no worker left', async () => {
    const app = express();
    const engine = { modelVersion: 'pool-v1', workers: 2 };
    healthRoutes(app, engine);
    await request(app).get('/health').expect(200);
    engine.workers = 0;
    const res = await request(app).get('/health').expect(503);
    expect(res.body).toMatchObject({ status: 'DOWN', model_version: 'pool-v1', detail: expect.stringMatching(/no engine worker/) });
  });

  it('the team page says DOWN when /health does', async () => {
    const app = express();
    const engine = { modelVersion: 'pool-v1', executionProvider: 'cpu', workers: 1 };
    const queue = new WorkQueue({ concurrency: 1 });
    teamPageRoute(app, { engine, queue, tally: { ok: 0, failed: 0, failures: new RecentFailures(5) }, startedAt: Date.now() });
    expect((await request(app).get('/ui').expect(200)).text).toMatch(/Status <span class="up">UP</);
    engine.workers = 0;
    expect((await request(app).get('/ui').expect(200)).text).toMatch(/Status <span class="bad">DOWN</);
  });

  it('echoes a given X-Request-Id', async () => {
    const { app } = makeApp();
    const res = await request(app).get('/health').set('X-Request-Id', 'abc-123').expect(200);
    expect(res.headers['x-request-id']).toBe('abc-123');
  });

  it('POST /setup answers the model version for a good config', async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post('/setup')
      .send({ project: '3.1700000000', schema: BRUSH_XML, hostname: 'http://ls:8080', access_token: 'x' })
      .expect(200);
    expect(res.body).toEqual({ model_version: 'test-square-v1' });
  });

  it('POST /setup with a config lacking BrushLabels -> 400 with a helpful message', async () => {
    const { app } = makeApp();
    const xml = '<View><Image name="img" value="$image"/><RectangleLabels name="r" toName="img"><Label value="Face"/></RectangleLabels></View>';
    const res = await request(app).post('/setup').send({ project: '1.1', schema: xml }).expect(400);
    expect(res.body.error).toBe('invalid_label_config');
    expect(res.body.detail).toMatch(/no <BrushLabels>/);
    expect(res.body.detail).toContain('<BrushLabels name="face" toName="image">');
    // Label Studio shows users only the HTTP status line of a failed /setup
    const statusLine = (res as unknown as { res: { statusMessage: string } }).res.statusMessage;
    expect(statusLine).toMatch(/BrushLabels/);
    expect(statusLine).not.toMatch(/[\r\n]/);
  });

  it('GET /versions is a harmless 404 and /metrics serves Prometheus text', async () => {
    const { app } = makeApp();
    const v = await request(app).get('/versions').expect(404);
    expect(v.body.error).toBe('not_found');
    await request(app).get('/health').expect(200);
    const m = await request(app).get('/metrics').expect(200);
    expect(m.headers['content-type']).toMatch(/text\/plain/);
    expect(m.text).toMatch(/faceseg_http_requests_total\{method="GET",route="\/health",status="200"\} 1/);
  });
});

describe('request validation', () => {
  it('malformed JSON -> 400 {error, detail}', async () => {
    const { app } = makeApp();
    const res = await request(app).post('/predict').set('Content-Type', 'application/json').send('{"tasks": [').expect(400);
    expect(res.body.error).toBe('invalid_json');
    expect(typeof res.body.detail).toBe('string');
  });

  it('a body with more keys than MAX_JSON_KEYS -> 400 before parsing; a body under it is read', async () => {
    const { app } = makeApp({ MAX_JSON_KEYS: '1000' });
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;
    const res = await request(app).post('/predict').set('Content-Type', 'application/json').send(keys(1001)).expect(400);
    expect(res.body).toEqual({ error: 'invalid_request', detail: 'The request body has more than 1000 keys' });
    // under the bound the body reaches the schema (which wants tasks)
    const ok = await request(app).post('/predict').set('Content-Type', 'application/json').send(keys(999)).expect(400);
    expect(ok.body.detail).toMatch(/^tasks:/);
    // base64 image data has no ':' and does not count
    const big = await request(app).post('/setup').set('Content-Type', 'application/json').send({ project: '1', schema: BRUSH_XML, pad: 'A'.repeat(100_000) });
    expect(big.status).toBe(200);
  });

  it('wrong types -> 400 naming the field', async () => {
    const { app } = makeApp();
    const res = await request(app).post('/predict').send({ tasks: 'nope', label_config: BRUSH_XML }).expect(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.detail).toMatch(/^tasks:/);
    const res2 = await request(app).post('/predict').send({ tasks: [{ id: 1, data: 'x' }], label_config: BRUSH_XML }).expect(400);
    expect(res2.body.detail).toMatch(/tasks\.0\.data/);
    const res3 = await request(app).post('/setup').send({ project: 1 }).expect(400);
    expect(res3.body.detail).toMatch(/schema/);
  });

  it('oversize body -> 413 {error, detail}', async () => {
    const { app } = makeApp({ MAX_BODY_BYTES: '2kb' });
    const big = { tasks: [task(1, 'data:image/png;base64,' + 'A'.repeat(4000))], label_config: BRUSH_XML };
    const res = await request(app).post('/predict').send(big).expect(413);
    expect(res.body.error).toBe('payload_too_large');
    expect(res.body.detail).toMatch(/MAX_BODY_BYTES=2048/);
  });

  it('too many tasks -> 413 that names the limit', async () => {
    const { app } = makeApp({ MAX_TASKS_PER_REQUEST: '2' });
    const tasks = [1, 2, 3].map((i) => task(i, `${IMG_HOST}/${i}.png`));
    const res = await request(app).post('/predict').send({ tasks, label_config: BRUSH_XML }).expect(413);
    expect(res.body.detail).toMatch(/MAX_TASKS_PER_REQUEST=2/);
  });

  it('a label config without BrushLabels on /predict -> 400', async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post('/predict')
      .send({ tasks: [task(1, 'x')], label_config: '<View><Image name="i" value="$image"/></View>' })
      .expect(400);
    expect(res.body.error).toBe('invalid_label_config');
  });
});

describe('POST /predict', () => {
  it('one prediction per task, in order; an unreachable image gets result [] without failing the batch', async () => {
    const { app, metrics } = makeApp();
    nock(IMG_HOST).get('/a.png').reply(200, png40x30, { 'Content-Type': 'image/png' });
    nock(IMG_HOST).get('/missing.png').reply(404, 'nope');
    nock(IMG_HOST).get('/b.png').reply(200, png20x20, { 'Content-Type': 'image/png' });
    const tasks = [
      task(11, `${IMG_HOST}/a.png`),
      task(12, `${IMG_HOST}/missing.png`),
      task(13, 'http://unreachable.test/c.png'),
      { id: 14, data: { text: 'no image here' } },
      task(15, `${IMG_HOST}/b.png`),
    ];
    const res = await request(app).post('/predict').send({ tasks, project: '1.1', label_config: BRUSH_XML, params: { context: null } }).expect(200);
    const results = res.body.results;
    expect(results).toHaveLength(5);
    // under a version of its own: Label Studio skips tasks holding the current version, so these are tried again next time
    for (const i of [1, 2, 3]) expect(results[i]).toEqual({ result: [], score: 0, model_version: 'test-square-v1-failed' });
    const [a, , , , b] = results;
    for (const [pred, W, H] of [[a, 40, 30], [b, 20, 20]] as const) {
      expect(pred.model_version).toBe('test-square-v1');
      expect(pred.score).toBe(0.9);
      expect(pred.result).toHaveLength(1);
      const r = pred.result[0];
      expect(r).toMatchObject({
        from_name: 'face',
        to_name: 'image',
        type: 'brushlabels',
        original_width: W,
        original_height: H,
        image_rotation: 0,
        value: { format: 'rle', brushlabels: ['Face'] },
        score: 0.9,
      });
      expect(decodeRle(r.value.rle).length).toBe(W * H * 4);
      const mask = rleToMask(r.value.rle, W, H);
      const side = Math.floor(Math.min(W, H) / 2);
      expect(mask.reduce((s, v) => s + (v === 255 ? 1 : 0), 0)).toBe(side * side);
    }
    const text = await metrics.render();
    expect(text).toMatch(/faceseg_task_errors_total\{reason="not_found"\} 1/);
    expect(text).toMatch(/faceseg_task_errors_total\{reason="missing_image_field"\} 1/);
    expect(text).toMatch(/faceseg_task_errors_total\{reason="network"\} 1/);
    expect(text).toMatch(/faceseg_stage_duration_seconds_count\{stage="segmenter"\} 2/);
  });

  it('adds face boxes and head keypoints when the config has them', async () => {
    const { app } = makeApp();
    const uri = `data:image/png;base64,${png40x30.toString('base64')}`;
    const res = await request(app).post('/predict').send({ tasks: [task(1, uri)], label_config: BRUSH_BOX_KP_XML }).expect(200);
    const result = res.body.results[0].result;
    const types = result.map((r: { type: string }) => r.type);
    expect(types).toEqual(['brushlabels', 'rectanglelabels', 'keypointlabels', 'keypointlabels']);
    const box = result[1];
    expect(box.from_name).toBe('face_box');
    expect(box.value).toEqual({ x: 30, y: 23.3333, width: 37.5, height: 50, rotation: 0, rectanglelabels: ['Face'] });
    const nose = result[2];
    expect(nose.from_name).toBe('head_keypoints');
    expect(nose.value).toEqual({ x: 48.75, y: 48.3333, width: 0.5, keypointlabels: ['nose'] });
    expect(new Set(result.map((r: { id: string }) => r.id)).size).toBe(result.length);
  });

  it('uses the label config from /setup when /predict has none', async () => {
    const { app } = makeApp();
    await request(app).post('/setup').send({ project: '7.123', schema: BRUSH_XML }).expect(200);
    const uri = `data:image/png;base64,${png20x20.toString('base64')}`;
    const res = await request(app).post('/predict').send({ tasks: [task(1, uri)], project: '7.123' }).expect(200);
    expect(res.body.results[0].result).toHaveLength(1);
    await request(app).post('/predict').send({ tasks: [task(1, uri)], project: '8.1' }).expect(400);
  });

  it('interactive mode: a keypoint click becomes a point hint in image pixels', async () => {
    const { app, engine } = makeApp();
    const uri = `data:image/png;base64,${png40x30.toString('base64')}`;
    const context = {
      result: [
        { type: 'keypointlabels', from_name: 'kp', to_name: 'image', is_positive: true, original_width: 40, original_height: 30, value: { x: 25, y: 50, width: 0.5, keypointlabels: ['Face'] } },
        { type: 'keypointlabels', value: { x: 75, y: 10 }, is_positive: false },
        { type: 'rectanglelabels', value: { x: 10, y: 20, width: 50, height: 40, rectanglelabels: ['Face'] } },
      ],
    };
    await request(app).post('/predict').send({ tasks: [task(1, uri)], label_config: BRUSH_XML, params: { login: null, password: null, context } }).expect(200);
    expect(engine.calls).toHaveLength(1);
    expect(engine.calls[0].options?.hints).toEqual([
      { kind: 'point', point: { x: 10, y: 15 }, positive: true },
      { kind: 'point', point: { x: 30, y: 3 }, positive: false },
      { kind: 'box', box: { x: 4, y: 6, width: 20, height: 12 } },
    ]);
  });

  it('an engine failure costs only that task', async () => {
    const { app, engine } = makeApp();
    engine.failWith = new Error('boom');
    const uri = `data:image/png;base64,${png20x20.toString('base64')}`;
    const res = await request(app).post('/predict').send({ tasks: [task(1, uri), task(2, uri)], label_config: BRUSH_XML }).expect(200);
    expect(res.body.results).toEqual([
      { result: [], score: 0, model_version: 'test-square-v1-failed' },
      { result: [], score: 0, model_version: 'test-square-v1-failed' },
    ]);
  });

  it('a corrupt image gets result [] too', async () => {
    const { app } = makeApp();
    const uri = `data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`;
    const res = await request(app).post('/predict').send({ tasks: [task(1, uri)], label_config: BRUSH_XML }).expect(200);
    expect(res.body.results).toEqual([{ result: [], score: 0, model_version: 'test-square-v1-failed' }]);
  });
});

describe('hintsFromContext', () => {
  it('ignores regions without coordinates and defaults is_positive to true', () => {
    expect(hintsFromContext([{ type: 'brushlabels' }, { type: 'keypointlabels', value: { x: 50, y: 50 } }], 100, 80)).toEqual([
      { kind: 'point', point: { x: 50, y: 40 }, positive: true },
    ]);
    expect(hintsFromContext(null, 1, 1)).toEqual([]);
  });
});

describe('basic auth', () => {
  const env = { BASIC_AUTH_USER: 'ls', BASIC_AUTH_PASS: 's3cret' };
  it('accepts the right credentials', async () => {
    const { app } = makeApp(env);
    await request(app).get('/health').auth('ls', 's3cret').expect(200);
    await request(app).post('/setup').auth('ls', 's3cret').send({ schema: BRUSH_XML }).expect(200);
  });
  it('rejects wrong or missing credentials with 401 and a hint', async () => {
    const { app } = makeApp(env);
    const wrong = await request(app).get('/health').auth('ls', 'nope').expect(401);
    expect(wrong.body.error).toBe('unauthorized');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
    const missing = await request(app).post('/predict').send({ tasks: [] }).expect(401);
    expect(missing.body.detail).toMatch(/Basic auth required/);
    await request(app).get('/metrics').expect(401);
  });
  it('leaves /webhook open (Label Studio sends webhooks without basic auth)', async () => {
    const { app } = makeApp(env);
    const res = await request(app).post('/webhook').send({ action: 'ANNOTATION_CREATED', project: { id: 1 } }).expect(201);
    expect(res.body.status).toBe('ok');
    await request(app).post('/webhook/').send({ action: 'ANNOTATION_CREATED', project: { id: 1 } }).expect(201);
  });
});

describe('POST /webhook', () => {
  it('handled actions -> 201 and the handler runs; others -> 200 Unknown event', async () => {
    const events: WebhookEvent[] = [];
    const { app } = makeApp({}, { onWebhook: async (e) => void events.push(e) });
    for (const action of ['ANNOTATION_CREATED', 'ANNOTATION_UPDATED', 'ANNOTATION_DELETED', 'START_TRAINING']) {
      const res = await request(app).post('/webhook').send({ action, project: { id: 5, label_config: BRUSH_XML }, annotation: { id: 9 } }).expect(201);
      expect(res.body.status).toBe('ok');
    }
    const other = await request(app).post('/webhook').send({ action: 'PROJECT_UPDATED', project: { id: 5 } }).expect(200);
    expect(other.body).toEqual({ status: 'Unknown event' });
    await new Promise((r) => setTimeout(r, 10));
    expect(events.map((e) => e.action)).toEqual(['ANNOTATION_CREATED', 'ANNOTATION_UPDATED', 'ANNOTATION_DELETED', 'START_TRAINING']);
    expect(events[0].projectId).toBe(5);
  });
  it('a failing handler does not fail the webhook', async () => {
    const { app } = makeApp({}, { onWebhook: async () => { throw new Error('train failed'); } });
    await request(app).post('/webhook').send({ action: 'START_TRAINING', project: { id: 1 } }).expect(201);
  });
  it('a body without action -> 400', async () => {
    const { app } = makeApp();
    await request(app).post('/webhook').send({ project: { id: 1 } }).expect(400);
  });
});
