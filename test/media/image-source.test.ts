import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { Readable } from 'node:stream';
import nock from 'nock';
import { LabelStudioAuth } from '../../backend/labelstudio/api-client.js';
import {
  classifyImageRef,
  createImageSource,
  encodeFileUri,
  ImageFetchError,
  imageSourceFromConfig,
  type ImageSourceOptions,
} from '../../backend/media/image-source.js';
import { loadConfig } from '../../backend/config.js';

const LS = 'http://ls.test:8080';
const TOKEN = 'legacy-token-123';
const IMG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6]);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: object) => `${b64({ alg: 'HS256' })}.${b64(payload)}.c2ln`;

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
});

/** A local TCP server that resets every connection (real ECONNRESET / socket hang up). */
async function resettingServer(): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = net.createServer((sock) => {
    hits++;
    sock.resetAndDestroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

/** A port nothing listens on (real ECONNREFUSED). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

function source(opts: Partial<ImageSourceOptions> & { apiKey?: string } = {}) {
  const { apiKey = TOKEN, ...rest } = opts;
  const labelStudioUrl = 'labelStudioUrl' in opts ? opts.labelStudioUrl : LS;
  return createImageSource({
    labelStudioUrl,
    auth: new LabelStudioAuth({ baseUrl: labelStudioUrl, apiKey }),
    maxBytes: 1000,
    timeoutMs: 2000,
    retries: 2,
    backoffMs: 1,
    ...rest,
  });
}

async function fetchError(p: Promise<unknown>): Promise<ImageFetchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageFetchError);
    return err as ImageFetchError;
  }
  throw new Error('expected an ImageFetchError');
}

describe('classifyImageRef', () => {
  it('recognises every form', () => {
    expect(classifyImageRef('/data/upload/3/x.jpg', LS)).toEqual({ kind: 'label-studio', url: `${LS}/data/upload/3/x.jpg` });
    expect(classifyImageRef('data/upload/3/x.jpg', LS)).toEqual({ kind: 'label-studio', url: `${LS}/data/upload/3/x.jpg` });
    expect(classifyImageRef('/data/local-files/?d=dir/x.jpg', LS)).toEqual({ kind: 'local-files', url: `${LS}/data/local-files/?d=dir/x.jpg`, file: 'dir/x.jpg' });
    expect(classifyImageRef(`${LS}/data/local-files/?d=a%20b.jpg`, LS)).toMatchObject({ kind: 'local-files', file: 'a b.jpg' });
    expect(classifyImageRef('s3://bucket/a.jpg', LS)).toEqual({ kind: 'cloud', uri: 's3://bucket/a.jpg' });
    expect(classifyImageRef('gs://b/a.jpg').kind).toBe('cloud');
    expect(classifyImageRef('azure-blob://c/a.jpg').kind).toBe('cloud');
    expect(classifyImageRef('https://cdn.example.com/a.jpg', LS)).toEqual({ kind: 'http', url: 'https://cdn.example.com/a.jpg' });
    expect(classifyImageRef(`${LS}/data/upload/1/a.jpg`, LS)).toEqual({ kind: 'label-studio', url: `${LS}/data/upload/1/a.jpg` });
    expect(classifyImageRef('data:image/png;base64,AAAA').kind).toBe('data');
    expect(() => classifyImageRef('ftp://x/a.jpg', LS)).toThrow(/Unsupported image URL scheme/);
    // file: has the origin "null": the message names the URL as given
    expect(() => classifyImageRef('file:///etc/passwd', LS)).toThrow(/scheme in "file:\/\/\/etc\/passwd"/);
  });

  it('relative URL without LABEL_STUDIO_URL -> clear error', () => {
    try {
      classifyImageRef('/data/upload/3/x.jpg');
      throw new Error('no error');
    } catch (err) {
      expect((err as ImageFetchError).code).toBe('no_label_studio_url');
      expect((err as Error).message).toMatch(/LABEL_STUDIO_URL is not set.*http:\/\/label-studio:8080/);
    }
  });

  it('encodes cloud URIs as padded base64url (Label Studio decodes with urlsafe_b64decode)', () => {
    expect(encodeFileUri('s3://b/a.jpg')).toBe('czM6Ly9iL2EuanBn');
    expect(encodeFileUri('s3://bucket/?>?')).toBe('czM6Ly9idWNrZXQvPz4_');
    expect(encodeFileUri('gs://x')).toBe('Z3M6Ly94');
    expect(encodeFileUri('s3://ab')).toBe('czM6Ly9hYg==');
  });
});

describe('Label Studio uploads and auth', () => {
  it('legacy token: Authorization: Token X on /data/upload', async () => {
    nock(LS, { reqheaders: { authorization: `Token ${TOKEN}` } }).get('/data/upload/3/x.jpg').reply(200, IMG, { 'Content-Type': 'image/jpeg' });
    expect(await source().fetch('/data/upload/3/x.jpg')).toEqual(IMG);
  });

  it('PAT: refresh once, Bearer on downloads, re-refresh after a 401', async () => {
    const pat = jwt({ token_type: 'refresh' });
    const a1 = jwt({ token_type: 'access', exp: Date.now() / 1000 + 300 });
    const a2 = jwt({ token_type: 'access', exp: Date.now() / 1000 + 300 });
    nock(LS).post('/api/token/refresh/', { refresh: pat }).reply(200, { access: a1 });
    nock(LS, { reqheaders: { authorization: `Bearer ${a1}` } }).get('/data/upload/1/a.jpg').times(2).reply(200, IMG);
    const src = source({ apiKey: pat });
    expect(await src.fetch('/data/upload/1/a.jpg')).toEqual(IMG);
    expect(await src.fetch('/data/upload/1/a.jpg')).toEqual(IMG);
    // the access token gets revoked: the next download gets 401, refreshes and retries
    nock(LS, { reqheaders: { authorization: `Bearer ${a1}` } }).get('/data/upload/1/b.jpg').reply(401, { detail: 'expired' });
    nock(LS).post('/api/token/refresh/', { refresh: pat }).reply(200, { access: a2 });
    nock(LS, { reqheaders: { authorization: `Bearer ${a2}` } }).get('/data/upload/1/b.jpg').reply(200, IMG);
    expect(await src.fetch('/data/upload/1/b.jpg')).toEqual(IMG);
    expect(nock.isDone()).toBe(true);
  });

  it('never sends the header to third-party hosts', async () => {
    nock('https://cdn.example.com', { badheaders: ['authorization'] }).get('/a.jpg').reply(200, IMG);
    expect(await source().fetch('https://cdn.example.com/a.jpg')).toEqual(IMG);
  });

  it('401 / 403 / 404 from Label Studio give clear messages, without retrying', async () => {
    nock(LS).get('/data/upload/1/a.jpg').reply(401, { detail: 'Authentication credentials were not provided.' });
    const e401 = await fetchError(source().fetch('/data/upload/1/a.jpg'));
    expect(e401.code).toBe('unauthorized');
    expect(e401.message).toMatch(/401 Unauthorized.*LABEL_STUDIO_API_KEY/);
    nock(LS).get('/data/local-files/').query({ d: 'x.jpg' }).reply(403);
    const e403 = await fetchError(source().fetch('/data/local-files/?d=x.jpg'));
    expect(e403.code).toBe('forbidden');
    expect(e403.message).toMatch(/LOCAL_FILES_SERVING_ENABLED/);
    let hits = 0;
    nock(LS).get('/data/upload/1/gone.jpg').times(3).reply(() => {
      hits++;
      return [404, 'Not found'];
    });
    const e404 = await fetchError(source().fetch('/data/upload/1/gone.jpg'));
    expect(e404.code).toBe('not_found');
    expect(e404.status).toBe(404);
    expect(hits).toBe(1);
  });

  it('a redirect to the login page means the token is missing or wrong', async () => {
    nock(LS).get('/data/upload/1/a.jpg').reply(302, '', { Location: '/user/login/?next=/data/upload/1/a.jpg' });
    const e = await fetchError(source({ apiKey: undefined }).fetch('/data/upload/1/a.jpg'));
    expect(e.code).toBe('unauthorized');
    expect(e.message).toMatch(/login page/);
  });

  it('an HTML page instead of an image is an error', async () => {
    nock(LS).get('/data/upload/1/a.jpg').reply(200, '<html>login</html>', { 'Content-Type': 'text/html; charset=utf-8' });
    expect((await fetchError(source().fetch('/data/upload/1/a.jpg'))).code).toBe('not_an_image');
  });
});

describe('retries', () => {
  it('retries 5xx with backoff, then succeeds', async () => {
    const delays: number[] = [];
    nock(LS).get('/data/upload/1/a.jpg').reply(502).get('/data/upload/1/a.jpg').reply(503).get('/data/upload/1/a.jpg').reply(200, IMG);
    const src = source({ backoffMs: 10, sleep: async (ms) => void delays.push(ms) });
    expect(await src.fetch('/data/upload/1/a.jpg')).toEqual(IMG);
    expect(delays).toEqual([10, 20]);
  });

  it('retries network errors and gives up after the retries', async () => {
    const srv = await resettingServer();
    try {
      const e = await fetchError(source().fetch(`http://127.0.0.1:${srv.port}/a.jpg`));
      expect(e.code).toBe('network');
      expect(e.message).toMatch(/ECONNRESET/);
      expect(srv.hits()).toBe(3);
    } finally {
      await srv.close();
    }
  });

  it('starts no new attempt once the caller aborts during the backoff', async () => {
    const controller = new AbortController();
    let hits = 0;
    nock(LS).get('/data/upload/1/a.jpg').times(3).reply(() => {
      hits++;
      return [503, 'busy'];
    });
    const src = source({ sleep: async () => controller.abort() });
    const e = await fetchError(src.fetch('/data/upload/1/a.jpg', { signal: controller.signal }));
    expect(e.status).toBe(503);
    expect(hits).toBe(1);
  });

  it('gives up on persistent 5xx with the status in the message', async () => {
    nock(LS).get('/data/upload/1/a.jpg').times(3).reply(500, 'Internal Server Error');
    const e = await fetchError(source().fetch('/data/upload/1/a.jpg'));
    expect(e.code).toBe('http_error');
    expect(e.message).toMatch(/HTTP 500/);
    expect(nock.isDone()).toBe(true);
  });
});

describe('limits', () => {
  it('rejects a declared Content-Length over MAX_IMAGE_BYTES', async () => {
    nock('http://big.test').get('/a.jpg').reply(200, Buffer.alloc(2000), { 'Content-Length': '2000' });
    const e = await fetchError(source().fetch('http://big.test/a.jpg'));
    expect(e.code).toBe('too_large');
    expect(e.message).toMatch(/MAX_IMAGE_BYTES=1000/);
  });

  it('aborts a chunked download once it passes the limit', async () => {
    let pushed = 0;
    const body = new Readable({
      read() {
        if (pushed >= 100) return this.push(null);
        pushed++;
        this.push(Buffer.alloc(100));
      },
    });
    nock('http://big.test').get('/stream.jpg').reply(200, () => body);
    const e = await fetchError(source().fetch('http://big.test/stream.jpg'));
    expect(e.code).toBe('too_large');
    expect(e.message).toMatch(/MAX_IMAGE_BYTES=1000/);
  });

  it('times out slow downloads', async () => {
    nock('http://slow.test').get('/a.jpg').delay(500).reply(200, IMG);
    const e = await fetchError(source({ timeoutMs: 100 }).fetch('http://slow.test/a.jpg'));
    expect(e.code).toBe('timeout');
  });

  it('rejects big data: URIs', async () => {
    const uri = `data:image/png;base64,${Buffer.alloc(3000).toString('base64')}`;
    expect((await fetchError(source().fetch(uri))).code).toBe('too_large');
    expect(await source().fetch(`data:image/png;base64,${IMG.toString('base64')}`)).toEqual(IMG);
  });
});

describe('cloud storage', () => {
  it('presigns through Label Studio and follows the redirect without the auth header', async () => {
    const fileuri = encodeFileUri('s3://bucket/dir/a.jpg');
    nock(LS, { reqheaders: { authorization: `Token ${TOKEN}` } })
      .get('/tasks/42/presign/')
      .query({ fileuri })
      .reply(303, '', { Location: 'https://bucket.s3.amazonaws.com/dir/a.jpg?X-Amz-Signature=abc' });
    nock('https://bucket.s3.amazonaws.com', { badheaders: ['authorization'] })
      .get('/dir/a.jpg')
      .query({ 'X-Amz-Signature': 'abc' })
      .reply(200, IMG);
    expect(await source().fetch('s3://bucket/dir/a.jpg', { taskId: 42 })).toEqual(IMG);
    expect(nock.isDone()).toBe(true);
  });

  it('accepts bytes proxied by Label Studio (storage proxy mode)', async () => {
    nock(LS).get('/tasks/7/presign/').query(true).reply(200, IMG, { 'Content-Type': 'image/jpeg' });
    expect(await source().fetch('gs://b/a.jpg', { taskId: 7 })).toEqual(IMG);
  });

  it('needs a task id and LABEL_STUDIO_URL', async () => {
    expect((await fetchError(source().fetch('s3://b/a.jpg'))).code).toBe('no_task_id');
    expect((await fetchError(source({ labelStudioUrl: undefined }).fetch('s3://b/a.jpg', { taskId: 1 }))).code).toBe('no_label_studio_url');
  });
});

describe('local files', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'faceseg-root-'));
  mkdirSync(path.join(root, 'photos'));
  writeFileSync(path.join(root, 'photos', 'a b.jpg'), IMG);
  writeFileSync(path.join(path.dirname(root), 'faceseg-secret.txt'), 'secret');

  it('reads straight from LOCAL_FILES_DOCUMENT_ROOT', async () => {
    const src = source({ localFilesDocumentRoot: root });
    expect(await src.fetch('/data/local-files/?d=photos/a%20b.jpg')).toEqual(IMG);
    expect(await src.fetch(`${LS}/data/local-files/?d=photos%2Fa%20b.jpg`)).toEqual(IMG);
  });

  it('decodes the path once, as Label Studio does: "a%2520b.jpg" is the file a%20b.jpg, not a b.jpg', async () => {
    const other = Buffer.from('the file literally named a%20b.jpg');
    writeFileSync(path.join(root, 'photos', 'a%20b.jpg'), other);
    const src = source({ localFilesDocumentRoot: root });
    expect(await src.fetch('/data/local-files/?d=photos/a%2520b.jpg')).toEqual(other);
    expect(await src.fetch('/data/local-files/?d=photos/a%20b.jpg')).toEqual(IMG);
  });

  it('rejects path traversal', async () => {
    const src = source({ localFilesDocumentRoot: root });
    for (const d of ['../faceseg-secret.txt', 'photos/../../faceseg-secret.txt', '%2e%2e/faceseg-secret.txt', '..%2Ffaceseg-secret.txt']) {
      const e = await fetchError(src.fetch(`/data/local-files/?d=${d}`));
      expect(e.code).toBe('path_traversal');
    }
  });

  it('explains a missing file', async () => {
    const e = await fetchError(source({ localFilesDocumentRoot: root }).fetch('/data/local-files/?d=photos/none.jpg'));
    expect(e.code).toBe('not_found');
    expect(e.message).toMatch(/LOCAL_FILES_DOCUMENT_ROOT/);
  });

  it('downloads through Label Studio when no document root is set', async () => {
    nock(LS, { reqheaders: { authorization: `Token ${TOKEN}` } }).get('/data/local-files/').query({ d: 'photos/a.jpg' }).reply(200, IMG);
    expect(await source().fetch('/data/local-files/?d=photos/a.jpg')).toEqual(IMG);
  });
});

describe('localhost inside a container', () => {
  it('says to use the service or host name', async () => {
    const ls = `http://localhost:${await closedPort()}`;
    const src = source({ labelStudioUrl: ls, runningInDocker: true });
    const e = await fetchError(src.fetch('/data/upload/1/a.jpg'));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/looks like a container.*localhost.*service name.*host\.docker\.internal/);
  });

  it('outside a container the plain network error is reported', async () => {
    const ls = `http://127.0.0.1:${await closedPort()}`;
    const e = await fetchError(source({ labelStudioUrl: ls, runningInDocker: false }).fetch('/data/upload/1/a.jpg'));
    expect(e.message).not.toMatch(/container/);
    expect(e.message).toMatch(/ECONNREFUSED/);
  });
});

describe('imageSourceFromConfig', () => {
  it('wires URL, key and limits from the config', async () => {
    const config = loadConfig({ LABEL_STUDIO_URL: `${LS}/`, LABEL_STUDIO_API_KEY: TOKEN, MAX_IMAGE_BYTES: '5', RUNNING_IN_DOCKER: 'false' });
    nock(LS, { reqheaders: { authorization: `Token ${TOKEN}` } }).get('/data/upload/1/a.jpg').reply(200, IMG);
    const e = await fetchError(imageSourceFromConfig(config).fetch('/data/upload/1/a.jpg'));
    expect(e.code).toBe('too_large');
  });
});
