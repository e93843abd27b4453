// The Label Studio REST caller's retry policy: network errors, 429 and 5xx
// retry with doubling +/-25% waits; other 4xx do not; a personal access token
// that gets 401 is refreshed once per call without using up an attempt.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import nock from 'nock';
import { LabelStudioAuth } from '../../backend/labelstudio/api-client.js';
import { LabelStudioApiError, LabelStudioRest, type RestCallOptions } from '../../backend/labelstudio/rest-call.js';

const LS = 'http://ls.test:8080';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: object) => `${b64({ alg: 'HS256' })}.${b64(payload)}.c2ln`;

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

function rest(extra: Partial<RestCallOptions> & { apiKey?: string } = {}) {
  const { apiKey = 'legacy', ...rest } = extra;
  const retries: Array<{ attempt: number; delayMs: number; status?: number }> = [];
  const slept: number[] = [];
  const client = new LabelStudioRest({
    baseUrl: rest.baseUrl ?? LS,
    auth: new LabelStudioAuth({ baseUrl: rest.baseUrl ?? LS, apiKey }),
    backoffMs: 100,
    sleep: async (ms) => void slept.push(ms),
    onRetry: ({ attempt, delayMs, error }) => retries.push({ attempt, delayMs, status: error.status }),
    ...rest,
  });
  return { client, retries, slept };
}

describe('LabelStudioRest retries', () => {
  it('retries 429 and 5xx with doubling waits within +/-25%, then returns the answer', async () => {
    nock(LS).get('/api/projects/1/').reply(429).get('/api/projects/1/').reply(503).get('/api/projects/1/').reply(200, { id: 1 });
    const r = rest();
    const res = await r.client.call<{ id: number }>('GET', '/api/projects/1/', 'reading project 1');
    expect(res.data).toEqual({ id: 1 });
    expect(r.retries.map((x) => [x.attempt, x.status])).toEqual([
      [1, 429],
      [2, 503],
    ]);
    expect(r.slept).toEqual(r.retries.map((x) => x.delayMs));
    expect(r.slept[0]).toBeGreaterThanOrEqual(75);
    expect(r.slept[0]).toBeLessThanOrEqual(125);
    expect(r.slept[1]).toBeGreaterThanOrEqual(150);
    expect(r.slept[1]).toBeLessThanOrEqual(250);
  });

  it('does not retry 400, 403 or 404', async () => {
    for (const status of [400, 403, 404]) {
      nock(LS).get('/api/tasks/7/').times(2).reply(status, { detail: 'no' });
      const r = rest();
      const err = await r.client.call('GET', '/api/tasks/7/', 'reading task 7').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelStudioApiError);
      expect((err as LabelStudioApiError).status).toBe(status);
      expect(r.retries).toEqual([]);
      expect(nock.pendingMocks()).toHaveLength(1); // the second reply was never asked for
      nock.cleanAll();
    }
  });

  it('gives up after `retries` extra attempts on a port that refuses connections', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${port}`;
    const r = rest({ baseUrl: url, retries: 2 });
    const err = (await r.client.call('GET', '/api/projects/1/', 'reading project 1').catch((e: unknown) => e)) as LabelStudioApiError;
    expect(err.message).toMatch(/cannot reach Label Studio.*ECONNREFUSED/);
    expect(err.retryable).toBe(true);
    expect(r.retries.map((x) => x.attempt)).toEqual([1, 2]);
  });

  it('refreshes a personal access token after a 401 once, without using up an attempt', async () => {
    const pat = jwt({ token_type: 'refresh' });
    const a1 = jwt({ token_type: 'access', exp: Date.now() / 1000 + 300 });
    const a2 = jwt({ token_type: 'access', exp: Date.now() / 1000 + 300 });
    nock(LS).post('/api/token/refresh/').reply(200, { access: a1 });
    nock(LS, { reqheaders: { authorization: `Bearer ${a1}` } }).get('/api/projects/1/').reply(401, { detail: 'expired' });
    nock(LS).post('/api/token/refresh/').reply(200, { access: a2 });
    nock(LS, { reqheaders: { authorization: `Bearer ${a2}` } }).get('/api/projects/1/').reply(200, { id: 1 });
    const r = rest({ apiKey: pat, retries: 0 });
    expect((await r.client.call('GET', '/api/projects/1/', 'reading project 1')).data).toEqual({ id: 1 });
    expect(nock.isDone()).toBe(true);
  });

  it('a second 401 in the same call is final', async () => {
    const pat = jwt({ token_type: 'refresh' });
    const access = jwt({ token_type: 'access', exp: Date.now() / 1000 + 300 });
    nock(LS).post('/api/token/refresh/').times(2).reply(200, { access });
    nock(LS).get('/api/projects/1/').times(2).reply(401, { detail: 'no' });
    const r = rest({ apiKey: pat, retries: 3 });
    const err = (await r.client.call('GET', '/api/projects/1/', 'reading project 1').catch((e: unknown) => e)) as LabelStudioApiError;
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/LABEL_STUDIO_API_KEY/);
    expect(r.retries).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });
});

describe('LabelStudioRest answer size', () => {
  it('refuses an endless answer once it passes maxResponseBytes, without a retry', async () => {
    const { createServer } = await import('node:http');
    let sent = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const base = `http://127.0.0.1:${port}`;
      const r = rest({ baseUrl: base, maxResponseBytes: 1024 * 1024 });
      const err = await r.client.call('GET', '/api/tasks/?project=1', 'listing tasks').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelStudioApiError);
      expect((err as LabelStudioApiError).message).toMatch(/larger than 1 MiB; refused/);
      expect((err as LabelStudioApiError).retryable).toBe(false);
      expect(r.retries).toEqual([]);
      // it stopped reading: far less than an endless stream went out
      expect(sent).toBeLessThan(64 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
