// `faceseg predict` against a Label Studio API double (nock): paging, retries,
// resume, per-task failures, batching, shards, Ctrl-C. The engine is a double
// that returns one square face, so these tests need no models.
import nock from 'nock';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatPredictSummary, parseShard, runPredict, type PredictOptions } from '../../backend/cli/predict.js';
import { rleToMask } from '../../backend/labelstudio/brush-rle.js';
import { taskModelVersions } from '../../backend/labelstudio/project-client.js';
import { BRUSH_XML, SquareFaceEngine } from '../http/helpers.js';

const LS = 'http://ls.test:8080';
const TOKEN = 'legacy-token-abc';
const PROJECT = 7;
const VERSION = 'test-square-v1';

let PNG: Buffer;
beforeAll(async () => {
  nock.disableNetConnect();
  PNG = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 120, b: 150 } } }).png().toBuffer();
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const task = (id: number, extra: Record<string, unknown> = {}) => ({ id, data: { image: `/data/upload/${PROJECT}/t${id}.png` }, ...extra });

function options(extra: Partial<PredictOptions> = {}): PredictOptions {
  return { url: LS, token: TOKEN, project: PROJECT, quiet: true, backoffMs: 1, pageSize: 2, concurrency: 2, batch: 10, ...extra };
}

/** Project endpoint + images for the given task ids. */
function projectAndImages(ids: number[]) {
  nock(LS).get(`/api/projects/${PROJECT}/`).matchHeader('authorization', `Token ${TOKEN}`).reply(200, { id: PROJECT, title: 'faces', label_config: BRUSH_XML });
  for (const id of ids) {
    nock(LS).get(`/data/upload/${PROJECT}/t${id}.png`).matchHeader('authorization', `Token ${TOKEN}`).reply(200, PNG, { 'Content-Type': 'image/png' });
  }
}

function page(n: number, query: Record<string, string> = { fields: 'all' }) {
  return nock(LS)
    .get('/api/tasks/')
    .matchHeader('authorization', `Token ${TOKEN}`)
    .query({ project: String(PROJECT), page: String(n), page_size: '2', ...query });
}

describe('faceseg predict', () => {
  it('pages through the project, retries a 502, skips tasks holding our model_version, reports a 404 image and writes the rest in one bulk call', async () => {
    // 6 tasks on 3 pages; page 2 answers 502 once
    page(1).reply(200, {
      total: 6,
      total_annotations: 0,
      total_predictions: 2,
      tasks: [task(1), task(2, { predictions: [{ id: 11, model_version: VERSION, result: [] }] })],
    });
    page(2).reply(502, '<html>Bad Gateway</html>');
    page(2).reply(200, { total: 6, tasks: [task(3), task(4, { predictions_model_versions: 'other-v1, test-square-v1' })] });
    page(3).reply(200, { total: 6, tasks: [task(5, { predictions: [{ model_version: 'other-v1' }] }), task(6)] });
    projectAndImages([1, 5, 6]);
    nock(LS).get(`/data/upload/${PROJECT}/t3.png`).reply(404, { detail: 'Not found.' });

    const written: Array<Record<string, unknown>> = [];
    nock(LS)
      .post(`/api/projects/${PROJECT}/import/predictions`, (body) => {
        written.push(...(body as Array<Record<string, unknown>>));
        return true;
      })
      .matchHeader('authorization', `Token ${TOKEN}`)
      .reply(201, { created: 3 });

    const engine = new SquareFaceEngine();
    const s = await runPredict(engine, options());

    expect(s.seen).toBe(6);
    expect(s.skipped).toBe(2);
    expect(s.done).toBe(3);
    expect(s.withFaces).toBe(3);
    expect(s.failed).toEqual([expect.objectContaining({ task: 3, reason: 'not_found' })]);
    expect(s.failed[0].error).toContain('404');
    expect(s.interrupted).toBe(false);
    expect(s.fatal).toBeUndefined();
    expect(nock.isDone()).toBe(true);

    expect(written.map((p) => p.task).sort()).toEqual([1, 5, 6]);
    for (const p of written) {
      expect(p.model_version).toBe(VERSION);
      expect(p.score).toBe(0.9);
      const result = p.result as Array<{ from_name: string; to_name: string; type: string; original_width: number; original_height: number; value: { rle: number[]; brushlabels: string[] } }>;
      expect(result).toHaveLength(1);
      expect(result[0]).toMatchObject({ from_name: 'face', to_name: 'image', type: 'brushlabels', original_width: 40, original_height: 30 });
      expect(result[0].value.brushlabels).toEqual(['Face']);
      // the square face of the double: 15x15 in the middle of 40x30
      const mask = rleToMask(result[0].value.rle, 40, 30);
      expect(mask.reduce((a, v) => a + (v ? 1 : 0), 0)).toBe(15 * 15);
    }
    expect(engine.calls).toHaveLength(3);

    const text = formatPredictSummary(s);
    expect(text).toContain('written: 3');
    expect(text).toContain('skipped: 2');
    expect(text).toContain('not_found (1)');
    expect(text).toContain('task 3:');
  });

  it('afterwards points the project\'s model version (the connection title) at the written predictions, so the score column shows them', async () => {
    page(1, {}).reply(200, { total: 1, tasks: [task(1)] });
    projectAndImages([1]);
    nock(LS).post('/api/predictions/').reply(201, { id: 1 });
    nock(LS).get(`/api/projects/${PROJECT}/`).reply(200, { id: PROJECT, label_config: BRUSH_XML, model_version: 'faceseg' });
    nock(LS).get('/api/ml').query({ project: String(PROJECT) }).reply(200, [{ id: 4, title: 'faceseg', model_version: 'faceseg-aaaa-bbbb' }]);
    const patched: unknown[] = [];
    nock(LS).patch(`/api/projects/${PROJECT}/`, (b) => patched.push(b) > 0).reply(200, { id: PROJECT, model_version: VERSION });
    // the test engine's version does not start with faceseg-: Label Studio's title belongs to a faceseg connection
    const s = await runPredict(new SquareFaceEngine(), options({ tasks: 'all', setProjectVersion: true, setProjectVersionDelaysMs: [0] }));
    expect(s, JSON.stringify(s)).toMatchObject({ done: 1, projectModelVersion: 'set' });
    expect(patched).toEqual([{ model_version: VERSION }]);
    expect(nock.isDone()).toBe(true);
  });

  it('--tasks all predicts tasks that already hold our model_version, without fields=all', async () => {
    page(1, {}).reply(200, { total: 2, tasks: [task(1), task(2)] });
    projectAndImages([1, 2]);
    nock(LS).post(`/api/projects/${PROJECT}/import/predictions`).reply(201, { created: 2 });
    const s = await runPredict(new SquareFaceEngine(), options({ tasks: 'all' }));
    expect(s).toMatchObject({ done: 2, skipped: 0, failed: [] });
    expect(nock.isDone()).toBe(true);
  });

  it('accepts the plain-list answer of older servers and falls back to one POST per task without a bulk import', async () => {
    nock(LS).get('/api/tasks/').query(true).reply(200, [task(1), task(2), task(3)]);
    projectAndImages([1, 2, 3]);
    nock(LS).post(`/api/projects/${PROJECT}/import/predictions`).reply(404, { detail: 'Not found' });
    const posted: number[] = [];
    nock(LS)
      .post('/api/predictions/', (b) => {
        posted.push((b as { task: number }).task);
        return (b as { model_version: string }).model_version === VERSION;
      })
      .times(3)
      .reply(201, {});
    const s = await runPredict(new SquareFaceEngine(), options({ pageSize: 100 }));
    expect(s).toMatchObject({ seen: 3, done: 3, failed: [] });
    expect(posted.sort()).toEqual([1, 2, 3]);
    expect(nock.isDone()).toBe(true);
  });

  it('stops at the 404 a page past the end gets when the server gives no total, and splits a failing batch per task', async () => {
    page(1).reply(200, [task(1), task(2)]);
    page(2).reply(404, { detail: 'Invalid page.' });
    projectAndImages([1, 2]);
    nock(LS).post(`/api/projects/${PROJECT}/import/predictions`).reply(400, { validation_errors: ['Prediction 1: bad'] });
    nock(LS).post('/api/predictions/', (b) => (b as { task: number }).task === 1).reply(201, {});
    nock(LS).post('/api/predictions/', (b) => (b as { task: number }).task === 2).reply(400, { detail: 'bad result' });
    const s = await runPredict(new SquareFaceEngine(), options());
    expect(s.done).toBe(1);
    expect(s.failed).toEqual([expect.objectContaining({ task: 2, reason: 'write' })]);
    expect(s.failed[0].error).toContain('bad result');
    expect(nock.isDone()).toBe(true);
  });

  it('a write that keeps failing with 5xx marks its tasks failed after the retries', async () => {
    page(1).reply(200, { total: 2, tasks: [task(1), task(2)] });
    projectAndImages([1, 2]);
    const bulk = nock(LS).post(`/api/projects/${PROJECT}/import/predictions`).times(5).reply(503, 'busy');
    const s = await runPredict(new SquareFaceEngine(), options());
    expect(bulk.isDone()).toBe(true); // 1 + 4 retries
    expect(s.done).toBe(0);
    expect(s.failed.map((f) => f.task).sort()).toEqual([1, 2]);
    expect(s.failed[0]).toMatchObject({ reason: 'write' });
    expect(s.failed[0].error).toContain('503');
  });

  it('sends the Label Studio token with downloads from Label Studio only, never to another host', async () => {
    page(1).reply(200, { total: 2, tasks: [task(1), { id: 2, data: { image: 'http://cdn.test/pics/2.png' } }] });
    projectAndImages([1]);
    const cdn = nock('http://cdn.test', { badheaders: ['authorization'] }).get('/pics/2.png').reply(200, PNG, { 'Content-Type': 'image/png' });
    nock(LS).post(`/api/projects/${PROJECT}/import/predictions`).reply(201, { created: 2 });
    const s = await runPredict(new SquareFaceEngine(), options());
    expect(s).toMatchObject({ done: 2, failed: [] });
    expect(cdn.isDone()).toBe(true);
    expect(nock.isDone()).toBe(true);
  });

  it('refreshes a personal access token and sends it as Bearer to the API', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const pat = `${b64({ alg: 'HS256' })}.${b64({ token_type: 'refresh', exp: 4102444800 })}.c2ln`;
    const access = `${b64({ alg: 'HS256' })}.${b64({ token_type: 'access', exp: 4102444800 })}.c2ln`;
    nock(LS).post('/api/token/refresh/', { refresh: pat }).reply(200, { access });
    nock(LS).get(`/api/projects/${PROJECT}/`).matchHeader('authorization', `Bearer ${access}`).reply(200, { id: PROJECT, label_config: BRUSH_XML });
    nock(LS).get('/api/tasks/').query(true).matchHeader('authorization', `Bearer ${access}`).reply(200, { total: 1, tasks: [task(1)] });
    nock(LS).get(`/data/upload/${PROJECT}/t1.png`).matchHeader('authorization', `Bearer ${access}`).reply(200, PNG, { 'Content-Type': 'image/png' });
    nock(LS).post('/api/predictions/').matchHeader('authorization', `Bearer ${access}`).reply(201, {});
    const s = await runPredict(new SquareFaceEngine(), options({ token: pat }));
    expect(s).toMatchObject({ done: 1, failed: [] });
    expect(nock.isDone()).toBe(true);
  });

  it('--shard i/n takes only tasks with id % n == i', async () => {
    page(1).reply(200, { total: 4, tasks: [task(1), task(2)] });
    page(2).reply(200, { total: 4, tasks: [task(3), task(4)] });
    projectAndImages([1, 3]);
    nock(LS).post(`/api/projects/${PROJECT}/import/predictions`, (b) => (b as Array<{ task: number }>).map((p) => p.task).sort().join() === '1,3').reply(201, {});
    const s = await runPredict(new SquareFaceEngine(), options({ shard: parseShard('1/2') }));
    expect(s).toMatchObject({ done: 2, otherShards: 2, failed: [] });
    expect(nock.isDone()).toBe(true);
    expect(() => parseShard('2/2')).toThrow(/0 <= i < n/);
    expect(() => parseShard('x')).toThrow(/i\/n/);
  });

  it('Ctrl-C stops taking tasks, finishes and writes the ones in flight', async () => {
    page(1).reply(200, { total: 6, tasks: [task(1), task(2)] });
    const later = page(2).reply(200, { total: 6, tasks: [task(3), task(4)] });
    projectAndImages([1]);
    const posted: number[] = [];
    nock(LS)
      .post('/api/predictions/', (b) => {
        posted.push((b as { task: number }).task);
        return true;
      })
      .reply(201, {});
    const controller = new AbortController();
    const engine = new SquareFaceEngine();
    const segment = engine.segment.bind(engine);
    engine.segment = async (img, o) => {
      controller.abort(); // the user presses Ctrl-C while task 1 is being segmented
      return segment(img, o);
    };
    const s = await runPredict(engine, options({ concurrency: 1, signal: controller.signal }));
    expect(s.interrupted).toBe(true);
    expect(s.done).toBe(1);
    expect(posted).toEqual([1]);
    expect(later.isDone()).toBe(false);
    expect(formatPredictSummary(s)).toContain('interrupted');
  });

  it('an unknown project or a label config without BrushLabels is a setup error', async () => {
    nock(LS).get(`/api/projects/${PROJECT}/`).reply(404, { detail: 'Not found.' });
    await expect(runPredict(new SquareFaceEngine(), options())).rejects.toThrow(/Project 7 not found/);
    nock(LS).get(`/api/projects/${PROJECT}/`).reply(200, { id: PROJECT, label_config: '<View><Image name="image" value="$image"/></View>' });
    await expect(runPredict(new SquareFaceEngine(), options())).rejects.toMatchObject({ name: 'LabelConfigError' });
  });

  it('reads model versions from both task fields', () => {
    expect([...taskModelVersions({ id: 1, data: {}, predictions: [{ model_version: 'a' }, 3] })]).toEqual(['a']);
    expect([...taskModelVersions({ id: 1, data: {}, predictions_model_versions: 'a,b' })]).toEqual(['a', 'b']);
    expect([...taskModelVersions({ id: 1, data: {}, predictions_model_versions: ['x'] })]).toEqual(['x']);
    expect(taskModelVersions({ id: 1, data: {} }).size).toBe(0);
  });
});
