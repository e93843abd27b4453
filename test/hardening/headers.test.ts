// helmet's defaults are on every answer, errors and 503s included.
import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { createApp } from '../../backend/http/app.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { SquareFaceEngine, testConfig } from '../http/helpers.js';

describe('security headers', () => {
  const app = createApp({
    config: testConfig(),
    logger: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    engine: new SquareFaceEngine(),
    imageSource: createImageSource({ maxBytes: 1e6, timeoutMs: 1000 }),
  });
  it.each([
    ['get', '/health', 200],
    ['post', '/predict', 400],
    ['get', '/nope', 404],
  ] as const)('%s %s', async (method, path, status) => {
    const res = method === 'post' ? await request(app).post(path).send('{') : await request(app).get(path);
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['strict-transport-security']).toBeTruthy();
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
