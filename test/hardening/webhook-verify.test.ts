// Webhook verification against a stand-in Label Studio API: forged
// annotations (unknown id, another task, another project) are dropped; a real
// one is learned from with the result Label Studio holds, not the body's;
// deletes keep only annotations Label Studio no longer has, and name their project.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../backend/http/app.js';
import { LabelStudioAuth } from '../../backend/labelstudio/api-client.js';
import { ProjectClient } from '../../backend/labelstudio/project-client.js';
import type { WebhookEvent } from '../../backend/labelstudio/schemas.js';
import { createWebhookVerifier, lsId } from '../../backend/labelstudio/webhook-verifier.js';
import { buildWebhookVerifier } from '../../backend/compose.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';

const TRUE_RESULT = [{ type: 'brushlabels', from_name: 'face', value: { format: 'rle', rle: [1, 2, 3] } }];
// annotation id -> {task, project}; task id -> project
const annotations: Record<number, { task: number; project?: number }> = { 11: { task: 1, project: 7 }, 12: { task: 2 }, 13: { task: 3, project: 8 } };
const tasks: Record<number, number> = { 1: 7, 2: 7, 3: 8 };
let ls: http.Server;
let lsUrl: string;
const calls: string[] = [];

beforeAll(async () => {
  ls = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let m = /^\/api\/annotations\/(\d+)\/$/.exec(req.url ?? '');
    if (m) {
      const a = annotations[Number(m[1])];
      return a ? send(200, { id: Number(m[1]), task: a.task, ...(a.project ? { project: a.project } : {}), result: TRUE_RESULT }) : send(404, { detail: 'Not found.' });
    }
    m = /^\/api\/tasks\/(\d+)\/$/.exec(req.url ?? '');
    if (m) return tasks[Number(m[1])] ? send(200, { id: Number(m[1]), data: {}, project: tasks[Number(m[1])] }) : send(404, {});
    m = /^\/api\/projects\/(\d+)\/$/.exec(req.url ?? '');
    if (m) return send(200, { id: Number(m[1]), label_config: BRUSH_XML });
    send(404, {});
  });
  await new Promise<void>((r) => ls.listen(0, '127.0.0.1', r));
  lsUrl = `http://127.0.0.1:${(ls.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => ls.close(() => r())));

function verifier() {
  const client = new ProjectClient({ baseUrl: lsUrl, auth: new LabelStudioAuth({ baseUrl: lsUrl, apiKey: 'legacy-token' }), retries: 0, timeoutMs: 2000 });
  return createWebhookVerifier({ client });
}

const created = (annId: unknown, taskId: unknown, project: unknown = 7): WebhookEvent => ({
  action: 'ANNOTATION_CREATED',
  projectId: project as number,
  body: { action: 'ANNOTATION_CREATED', project: { id: project as number, label_config: '<View/>' }, task: { id: taskId as number }, annotation: { id: annId, result: ['forged'] } },
});

describe('webhook verifier', () => {
  it('ids must be plain positive integers before they go into an API path', () => {
    expect(lsId(12)).toBe(12);
    expect(lsId('12.1700000000')).toBe(12);
    for (const bad of ['../1', '1/..', '0', -1, 1.5e300, '1 OR 1', null, {}]) expect(lsId(bad)).toBeUndefined();
  });

  it('a real annotation is learned from with the result and label config Label Studio holds', async () => {
    const out = await verifier()(created(11, 1));
    expect(out.dropped).toEqual([]);
    const body = out.event!.body as Record<string, any>;
    expect(body.annotation.result).toEqual(TRUE_RESULT);
    expect(body.project.label_config).toBe(BRUSH_XML);
    expect(calls.some((c) => c.includes('/api/annotations/11/') && c.endsWith('Token legacy-token'))).toBe(true);
  });

  it('the owning project comes from the task when the annotation does not say', async () => {
    expect((await verifier()(created(12, 2))).event).toBeDefined();
    expect((await verifier()(created(12, 2, 8))).dropped[0].reason).toBe('other_project');
  });

  it.each([
    ['an unknown annotation', created(99, 1), 'not_found'],
    ['an annotation of another task', created(11, 2), 'other_task'],
    ['an annotation of another project', created(13, 3, 7), 'other_project'],
    ['a made-up id', created('1/../../admin', 1), 'bad_id'],
    ['no project', created(11, 1, null), 'no_project'],
  ])('%s is dropped', async (_name, event, reason) => {
    const out = await verifier()(event);
    expect(out.event).toBeUndefined();
    expect(out.dropped[0].reason).toBe(reason);
  });

  it('deletes keep only annotations Label Studio no longer has, with their project', async () => {
    const out = await verifier()({
      action: 'ANNOTATIONS_DELETED',
      projectId: 7,
      body: { action: 'ANNOTATIONS_DELETED', project: { id: 7 }, annotations: [{ id: 11 }, { id: 55 }, { id: 'x' }] } as WebhookEvent['body'],
    });
    expect((out.event!.body as Record<string, any>).annotations).toEqual([{ id: 55 }]);
    expect(out.event!.projectId).toBe(7);
    expect(out.dropped.map((d) => d.reason).sort()).toEqual(['bad_id', 'still_exists']);
  });

  it('bulk events are capped', async () => {
    const client = { findAnnotation: async (id: number) => ({ id, task: 1, project: 7 }), findTask: async () => undefined, getProject: async () => ({ id: 7, label_config: BRUSH_XML }) };
    const v = createWebhookVerifier({ client, maxAnnotations: 3 });
    const anns = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, task: 1 }));
    const out = await v({ action: 'ANNOTATIONS_CREATED', projectId: 7, body: { action: 'ANNOTATIONS_CREATED', project: { id: 7 }, annotation: anns, task: anns.map(() => ({ id: 1 })) } });
    expect((out.event!.body.annotation as unknown[]).length).toBe(3);
    expect(out.dropped.filter((d) => d.reason === 'too_many')).toHaveLength(7);
  });

  it('Label Studio unreachable: dropped as label_studio_error (never learned unchecked)', async () => {
    const client = new ProjectClient({ baseUrl: 'http://127.0.0.1:1', auth: new LabelStudioAuth({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' }), retries: 0, timeoutMs: 500 });
    const out = await createWebhookVerifier({ client })(created(11, 1));
    expect(out.event).toBeUndefined();
    expect(out.dropped[0].reason).toBe('label_studio_error');
  });

  it('the app hands only verified events to the handler; compose builds the verifier from config', async () => {
    const seen: WebhookEvent[] = [];
    const config = testConfig({ LABEL_STUDIO_URL: lsUrl, LABEL_STUDIO_API_KEY: 'legacy-token' });
    expect(config.webhook.verify).toBe(true);
    const app = createApp({
      config,
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      engine: new SquareFaceEngine(),
      imageSource: createImageSource({ maxBytes: 1e6, timeoutMs: 500 }),
      onWebhook: async (e) => void seen.push(e),
      verifyWebhook: buildWebhookVerifier(config),
    });
    await request(app).post('/webhook').send(created(99, 1).body).expect(201);
    await request(app).post('/webhook').send(created(11, 1).body).expect(201);
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(1);
    expect((seen[0].body.annotation as Record<string, unknown>).id).toBe(11);
    expect(buildWebhookVerifier(testConfig())).toBeUndefined();
  });
});
