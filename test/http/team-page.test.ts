import { describe, expect, it } from 'vitest';
import request from 'supertest';
import sharp from 'sharp';
import { createApp } from '../../backend/http/app.js';
import { RecentFailures } from '../../backend/http/recent-failures.js';
import { iouPlot, renderTeamPage, type TeamSummary } from '../../backend/http/team-page.js';
import { taskLogFields, taskLogMessage } from '../../backend/http/task-log.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from './helpers.js';
import winston from 'winston';
import Transport from 'winston-transport';

class Capture extends Transport {
  lines: Array<Record<string, unknown>> = [];
  override log(info: Record<string, unknown>, next: () => void): void {
    this.lines.push(info);
    next();
  }
}

function makeApp(env: Record<string, string> = {}, extra: Partial<Parameters<typeof createApp>[0]> = {}) {
  const config = testConfig(env);
  const engine = new SquareFaceEngine();
  const capture = new Capture();
  const logger = winston.createLogger({ level: 'debug', transports: [capture] });
  const imageSource = createImageSource({ maxBytes: config.limits.maxImageBytes, timeoutMs: 2000, retries: 0, backoffMs: 1 });
  const app = createApp({ config, logger, metrics: createMetrics({ defaultMetrics: false }), engine, imageSource, ...extra });
  return { app, capture };
}

const summary: TeamSummary = {
  minCorrections: 20,
  projects: [
    {
      project: '7',
      modelVersion: 'faceseg-aaaa-bbbb-pcccc',
      corrections: 3,
      changed: 2,
      facesMissed: 1,
      facesFalse: 0,
      meanFaceIou: 0.84,
      iouSeries: [
        { at: 1_000, iou: 0.95 },
        { at: 2_000, iou: 0.6 },
        { at: 3_000, iou: 0.9 },
      ],
      calibration: { fittedAt: 2_500, corrections: 2, modelVersion: 'faceseg-aaaa-bbbb-pcccc', changes: [{ name: 'dilate', from: 0, to: 2.5 }], iouBefore: 0.8, iouAfter: 0.86 },
    },
  ],
};

describe('RecentFailures', () => {
  it('keeps the newest N, newest first, and counts all', () => {
    const r = new RecentFailures(3);
    for (let i = 1; i <= 5; i++) r.add({ at: i, taskId: String(i), reason: 'not_found', message: 'x'.repeat(1000) });
    expect(r.list().map((f) => f.taskId)).toEqual(['5', '4', '3']);
    expect(r.count).toBe(5);
    expect(r.list()[0].message.length).toBeLessThanOrEqual(300);
    expect(() => new RecentFailures(0)).toThrow();
  });
});

describe('task log line', () => {
  it('names the task, faces, score and rounded ms per stage', () => {
    const f = taskLogFields(12, { faces: [], timings: { keypoints: 40.4, segmenter: 100.6 } }, 0.41234, { fetch: 9.7, decode: 2.2 }, false);
    expect(f.ms).toEqual({ fetch: 10, decode: 2, keypoints: 40, segmenter: 101 });
    expect(f.totalMs).toBe(153);
    expect(taskLogMessage(f)).toBe('task 12: 0 faces, score 0.412, 153 ms (fetch 10, decode 2, keypoints 40, segmenter 101)');
  });
});

describe('team page rendering', () => {
  it('plots IoU as inline SVG, marks fixes under 0.8 and the calibration', () => {
    const svg = iouPlot(summary.projects[0].iouSeries, 2);
    expect(svg.startsWith('<svg')).toBe(true);
    expect((svg.match(/<circle/g) ?? []).length).toBe(3);
    expect((svg.match(/#d9534f/g) ?? []).length).toBe(1); // the one IoU under 0.8
    expect(svg).toContain('calibrated');
    expect(iouPlot([])).toContain('no corrections yet');
  });

  it('escapes everything that comes from outside', () => {
    const html = renderTeamPage({
      status: 'UP', modelVersion: 'v<1>', provider: 'cpu', startedAt: 0, now: 60_000,
      queue: { active: 0, waiting: 0, admitted: 0, outstandingTasks: 0, estimatedWaitMs: 0 },
      tasks: { ok: 1, failed: 1 },
      failures: [{ at: 0, taskId: '<script>', reason: 'not_found', message: 'Image not found <img src=x onerror=alert(1)>' }],
      team: summary,
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x');
    expect(html).toContain('v&lt;1&gt;');
    expect(html).toContain('dilate');
  });

  it('names the refiner prior the server serves, and says nothing of one when there is none', () => {
    const base = {
      status: 'UP', modelVersion: 'v1', provider: 'cpu', startedAt: 0, now: 60_000,
      queue: { active: 0, waiting: 0, admitted: 0, outstandingTasks: 0, estimatedWaitMs: 0 },
      tasks: { ok: 0, failed: 0 }, failures: [],
    };
    const html = renderTeamPage({ ...base, prior: { id: 'ab12<cd', faces: 340 } });
    expect(html).toContain('refiner prior <code>ab12&lt;cd</code> (fitted on 340 corrected faces');
    expect(renderTeamPage(base)).not.toContain('refiner prior');
  });
});

describe('GET /ui and GET / for browsers', () => {
  it('serves the page behind basic auth, with no script and no external resource', async () => {
    const { app } = makeApp({ BASIC_AUTH_USER: 'u', BASIC_AUTH_PASS: 'p' }, { teamSummary: async () => summary, refinerPrior: { id: '0badc0de', faces: 12 } });
    await request(app).get('/ui').expect(401);
    const res = await request(app).get('/ui').auth('u', 'p').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'|default-src 'self'/);
    expect(res.text).toContain('Project 7');
    expect(res.text).toContain('refiner prior <code>0badc0de</code>');
    expect(res.text).toContain('<svg');
    expect(res.text).not.toMatch(/<script|src="http|href="http/);
  });

  it('redirects browsers from / to /ui, while Label Studio (Accept */*) still gets the JSON health body', async () => {
    const { app } = makeApp();
    const html = await request(app).get('/').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(302);
    expect(html.headers.location).toBe('/ui');
    const any = await request(app).get('/').set('Accept', '*/*').expect(200);
    expect(any.body.status).toBe('UP');
    const none = await request(app).get('/').expect(200);
    expect(none.body.status).toBe('UP');
  });

  it('shows a failed task with its reason, and says when learning figures fail', async () => {
    const { app } = makeApp({}, { teamSummary: async () => Promise.reject(new Error('store closed')) });
    const bad = `data:image/png;base64,${Buffer.from('not an image').toString('base64')}`;
    await request(app).post('/predict').send({ tasks: [{ id: 41, data: { image: bad } }], label_config: BRUSH_XML }).expect(200);
    const res = await request(app).get('/ui').expect(200);
    expect(res.text).toMatch(/<td>41<\/td><td><code>decode_/);
    expect(res.text).toContain('store closed');
  });
});

describe('per-task log line and model version sync hook', () => {
  it('logs one info line per task and tells the sync once per non-interactive request', async () => {
    const sent: Array<[string, string, number]> = [];
    const { app, capture } = makeApp({}, { onPredictionsSent: (p, v, n) => sent.push([p, v, n]) });
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 150, b: 120 } } }).png().toBuffer();
    const uri = `data:image/png;base64,${png.toString('base64')}`;
    await request(app).post('/predict').send({ project: '5.1700000', tasks: [{ id: 1, data: { image: uri } }, { id: 2, data: { image: uri } }], label_config: BRUSH_XML }).expect(200);
    const lines = capture.lines.filter((l) => l.level === 'info' && /^task \d/.test(String(l.message)));
    expect(lines.map((l) => l.taskId)).toEqual([1, 2]);
    expect(String(lines[0].message)).toMatch(/^task 1: 1 face, score 0\.9, \d+ ms \(fetch \d+, decode \d+, rle \d+, detector 1, segmenter 2\)$/);
    // with the task count, which sets how long the sync lets Label Studio store them first
    expect(sent).toEqual([['5', 'test-square-v1', 2]]);
    // a click (interactive) does not move the project's version
    await request(app).post('/predict').send({
      project: '5.1700000', tasks: [{ id: 1, data: { image: uri } }], label_config: BRUSH_XML,
      params: { context: { result: [{ type: 'keypointlabels', value: { x: 50, y: 50 }, is_positive: true }] } },
    }).expect(200);
    expect(sent.length).toBe(1);
  });
});

describe('a positive click with no face', () => {
  it('returns an empty prediction and says so in the log', async () => {
    const capture = new Capture();
    const config = testConfig();
    const engine = new SquareFaceEngine();
    engine.segment = async (image) => ({ width: image.width, height: image.height, faces: [], score: 0.2, timings: {} });
    const app = createApp({
      config, logger: winston.createLogger({ level: 'debug', transports: [capture] }), metrics: createMetrics({ defaultMetrics: false }), engine,
      imageSource: createImageSource({ maxBytes: config.limits.maxImageBytes, timeoutMs: 2000, retries: 0, backoffMs: 1 }),
    });
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toBuffer();
    const res = await request(app).post('/predict').send({
      tasks: [{ id: 3, data: { image: `data:image/png;base64,${png.toString('base64')}` } }], label_config: BRUSH_XML,
      params: { context: { result: [{ type: 'keypointlabels', value: { x: 50, y: 50 }, is_positive: true }] } },
    }).expect(200);
    expect(res.body.results[0].result).toEqual([]);
    expect(capture.lines.some((l) => /positive click found no face at 20,15/.test(String(l.message)))).toBe(true);
  });
});
