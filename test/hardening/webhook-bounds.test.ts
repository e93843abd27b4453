// Bounds on the webhook path and on per-project state: events handled in the
// background are capped (503 + Retry-After above), the secret is checked
// before the body is read, and /setup keeps label configs for at most 1000
// projects.
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../backend/http/app.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';

function app(env: Record<string, string> = {}, onWebhook?: () => Promise<void>) {
  return createApp({
    config: testConfig(env),
    logger: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    engine: new SquareFaceEngine(),
    imageSource: createImageSource({ maxBytes: 1e6, timeoutMs: 500 }),
    onWebhook,
  });
}

describe('webhook bounds', () => {
  it('at most 16 events in the background: the 17th gets 503 + Retry-After', async () => {
    const a = app({}, () => new Promise<void>(() => {})); // a handler that never finishes
    const event = { action: 'START_TRAINING', project: { id: 1 } };
    for (let i = 0; i < 16; i++) await request(a).post('/webhook').send(event).expect(201);
    const res = await request(a).post('/webhook').send(event).expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.reason).toBe('webhooks_in_flight');
  });

  it('the secret is checked before the body: a wrong secret with a 10 MB body is a quick 401', async () => {
    const a = app({ WEBHOOK_SECRET: 'a-long-enough-secret-123' }, async () => {});
    const t0 = performance.now();
    const res = await request(a).post('/webhook').set('X-Webhook-Secret', 'wrong').set('Content-Type', 'application/json').send('x'.repeat(10 * 1024 ** 2));
    expect(res.status).toBe(401);
    expect(performance.now() - t0).toBeLessThan(2000);
    await request(a).post('/webhook').set('X-Webhook-Secret', 'a-long-enough-secret-123').send({ action: 'START_TRAINING', project: { id: 1 } }).expect(201);
  });

  it('/setup keeps label configs for the 1000 most recent projects', async () => {
    const a = app();
    for (let p = 0; p <= 1000; p++) await request(a).post('/setup').send({ project: `${p}.1`, schema: BRUSH_XML }).expect(200);
    const tasks = [{ id: 1, data: { image: 'data:,' } }];
    const old = await request(a).post('/predict').send({ tasks, project: '0.1' });
    expect(old.status).toBe(400);
    expect(old.body.detail).toMatch(/\/setup was not called/);
    await request(a).post('/predict').send({ tasks, project: '1000.1' }).expect(200);
  });
});
