import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { classifyApiKey, jwtPayload, LabelStudioAuth, LabelStudioAuthError } from '../../backend/labelstudio/api-client.js';

const LS = 'http://ls.test:8080';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
export const jwt = (payload: object) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.c2lnbmF0dXJl`;

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('API key kinds', () => {
  it('tells legacy tokens, personal access tokens and access tokens apart', () => {
    expect(classifyApiKey(undefined)).toBe('none');
    expect(classifyApiKey('0123456789abcdef0123456789abcdef01234567')).toBe('legacy');
    expect(classifyApiKey(jwt({ token_type: 'refresh', exp: 2e9 }))).toBe('pat');
    expect(classifyApiKey(jwt({ token_type: 'access', exp: 2e9 }))).toBe('access');
    expect(classifyApiKey('a.b.c')).toBe('legacy'); // not JSON inside
    expect(jwtPayload(jwt({ a: 1 }))).toEqual({ a: 1 });
  });
});

describe('LabelStudioAuth', () => {
  it('legacy token -> "Token X", only for the Label Studio origin', async () => {
    const auth = new LabelStudioAuth({ baseUrl: LS, apiKey: 'legacy123' });
    expect(await auth.headersFor(`${LS}/data/upload/1/a.jpg`)).toEqual({ Authorization: 'Token legacy123' });
    expect(await auth.headersFor('http://ls.test:8081/data/upload/1/a.jpg')).toEqual({});
    expect(await auth.headersFor('https://ls.test:8080/x')).toEqual({});
    expect(await auth.headersFor('https://cdn.example.com/a.jpg')).toEqual({});
  });

  it('PAT -> refreshed once, Bearer access cached until ~30 s before exp, then refreshed again', async () => {
    let now = 1_000_000_000_000;
    const pat = jwt({ token_type: 'refresh', exp: now / 1000 + 86400 });
    const access1 = jwt({ token_type: 'access', exp: now / 1000 + 300 });
    const access2 = jwt({ token_type: 'access', exp: now / 1000 + 600 });
    const scope = nock(LS)
      .post('/api/token/refresh/', { refresh: pat })
      .reply(200, { access: access1 })
      .post('/api/token/refresh/', { refresh: pat })
      .reply(200, { access: access2 });
    const auth = new LabelStudioAuth({ baseUrl: LS, apiKey: pat, now: () => now });
    const [h1, h2] = await Promise.all([auth.headersFor(`${LS}/a`), auth.headersFor(`${LS}/b`)]);
    expect(h1).toEqual({ Authorization: `Bearer ${access1}` });
    expect(h2).toEqual(h1);
    now += 250_000; // 50 s before exp: still cached
    expect(await auth.authorization()).toBe(`Bearer ${access1}`);
    expect(scope.isDone()).toBe(false);
    now += 25_000; // 25 s before exp: inside the 30 s margin
    expect(await auth.authorization()).toBe(`Bearer ${access2}`);
    expect(scope.isDone()).toBe(true);
  });

  it('PAT never goes to third-party hosts, and is not refreshed for them', async () => {
    const auth = new LabelStudioAuth({ baseUrl: LS, apiKey: jwt({ token_type: 'refresh' }) });
    expect(await auth.headersFor('https://bucket.s3.amazonaws.com/a.jpg')).toEqual({});
  });

  it('a rejected PAT gives a clear error', async () => {
    nock(LS).post('/api/token/refresh/').reply(401, { detail: 'Token is invalid or expired' });
    const auth = new LabelStudioAuth({ baseUrl: LS, apiKey: jwt({ token_type: 'refresh' }) });
    await expect(auth.authorization()).rejects.toThrow(LabelStudioAuthError);
    nock(LS).post('/api/token/refresh/').reply(401, {});
    await expect(auth.authorization()).rejects.toThrow(/rejected the personal access token.*expired or revoked/);
  });

  it('a PAT without LABEL_STUDIO_URL cannot be exchanged', async () => {
    const auth = new LabelStudioAuth({ apiKey: jwt({ token_type: 'refresh' }) });
    await expect(auth.authorization()).rejects.toThrow(/set LABEL_STUDIO_URL/);
  });
});
