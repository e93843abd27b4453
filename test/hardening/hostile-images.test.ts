// Hostile images and hostile image hosts, one task each, mixed with good tasks
// in the same /predict: every bad task gets its documented error (logged with
// its reason, an empty prediction in the answer) and every good one is predicted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import sharp from 'sharp';
import { createApp } from '../../backend/http/app.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource, ImageFetchError, type ImageSource } from '../../backend/media/image-source.js';
import { decodeImage, ImageDecodeError } from '../../backend/media/decode.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';
import { captureLogger, failures } from './capture.js';
import {
  blackPng,
  corrupted,
  hang,
  loopbackServer,
  noiseImage,
  redirectTo,
  serve,
  slowBody,
  truncated,
  ztxtBombPng,
  type Handler,
  type Loopback,
} from './fixtures.js';

const TIMEOUT_MS = 400;

/** path -> what must happen: 'ok' (predicted) or the error reason. */
const CASES: Record<string, string> = {};
const routes: Record<string, Handler> = {};
let host: Loopback;
let imageSource: ImageSource;

function add(path: string, handler: Handler, expected: string) {
  routes[path] = handler;
  CASES[path] = expected;
}

beforeAll(async () => {
  for (const fmt of ['jpeg', 'png', 'webp'] as const) {
    const good = await noiseImage(fmt);
    add(`/good.${fmt}`, serve(good, `image/${fmt}`), 'ok');
    add(`/truncated.${fmt}`, serve(truncated(good), `image/${fmt}`), 'decode_corrupt');
    add(`/corrupt.${fmt}`, serve(corrupted(good), `image/${fmt}`), 'decode_corrupt');
  }
  const one = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
  add('/1x1.png', serve(one, 'image/png'), 'ok');
  add('/20000x20000.png', serve(await blackPng(20000, 20000), 'image/png'), 'decode_too_many_pixels');
  add('/ztxt-bomb.png', serve(await ztxtBombPng(200_000_000), 'image/png'), 'ok');
  add('/empty.png', serve(Buffer.alloc(0), 'image/png'), 'decode_empty');
  add('/page.html', serve('<html><body>login</body></html>', 'text/html; charset=utf-8'), 'not_an_image');
  add('/data.json', serve('{"not":"an image"}', 'application/json'), 'decode_unsupported');
  add('/png-as-text', serve(one, 'text/plain'), 'ok'); // content sniffed, type ignored
  add('/png-as-octets', serve(await noiseImage('png'), 'application/octet-stream'), 'ok');
  add('/too-big.png', serve(Buffer.alloc(1_500_000, 1), 'image/png'), 'too_large');
  add('/slow.png', slowBody(50), 'timeout');
  add('/hang.png', hang, 'timeout');
  add('/gone.png', (_q, r) => r.socket?.destroy(), 'network');
  add('/to-metadata', redirectTo('http://169.254.169.254/latest/meta-data/iam/security-credentials/'), 'forbidden_host');
  add('/to-link-local-v6', redirectTo('http://[fe80::1]/x.png'), 'forbidden_host');
  add('/to-gce-metadata', redirectTo('http://metadata.google.internal/computeMetadata/v1/'), 'forbidden_host');
  add('/to-mapped-v6', redirectTo('http://[::ffff:169.254.169.254]/'), 'forbidden_host');
  add('/to-ecs-metadata', redirectTo('http://169.254.170.2/v2/credentials', 307), 'forbidden_host');
  add('/redirect-chain', redirectTo('/to-metadata', 301), 'forbidden_host');
  add('/redirect-ok', redirectTo('/good.png', 302), 'ok');
  host = await loopbackServer(routes);
  imageSource = createImageSource({ maxBytes: 1_000_000, timeoutMs: TIMEOUT_MS, retries: 0, backoffMs: 1 });
}, 60_000);

afterAll(() => host?.close());

async function reasonOf(path: string): Promise<string> {
  try {
    const bytes = await imageSource.fetch(`${host.url}${path}`);
    await decodeImage(bytes, { maxPixels: 100_000_000 });
    return 'ok';
  } catch (err) {
    if (err instanceof ImageFetchError) return err.code;
    if (err instanceof ImageDecodeError) return `decode_${err.code}`;
    throw err;
  }
}

describe('hostile images and hosts, one at a time', () => {
  it('each gives its documented error (or is predicted)', async () => {
    const got: Record<string, string> = {};
    for (const path of Object.keys(CASES)) got[path] = await reasonOf(path);
    expect(got).toEqual(CASES);
  });

  it('messages say what happened', async () => {
    await expect(imageSource.fetch(`${host.url}/to-metadata`)).rejects.toThrow(
      /Refused to download http:\/\/169\.254\.169\.254\/latest\/meta-data\/iam\/security-credentials\/ \(redirected from http:\/\/127\.0\.0\.1:\d+\/to-metadata\): Image host 169\.254\.169\.254 is a cloud metadata address \(set ALLOW_LINK_LOCAL=true to allow\)/,
    );
    await expect(imageSource.fetch(`${host.url}/hang.png`)).rejects.toThrow(/timed out after 400 ms/);
    const bytes = await imageSource.fetch(`${host.url}/20000x20000.png`);
    expect(bytes.length).toBeLessThan(1_000_000); // small on the wire...
    await expect(decodeImage(bytes, { maxPixels: 100_000_000 })).rejects.toThrow(/more pixels than MAX_IMAGE_PIXELS=100000000/);
  });

  it('the pixel limit rejects 20000x20000 from the header, before decoding', async () => {
    const png = await blackPng(20000, 20000);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    await expect(decodeImage(png, { maxPixels: 100_000_000 })).rejects.toMatchObject({ code: 'too_many_pixels' });
    expect(performance.now() - t0).toBeLessThan(500); // decoding 400 MP would take seconds
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 ** 2); // and 400+ MB
  });

  it('a zTXt decompression bomb (200 MB of text in 200 kB) decodes without inflating it', async () => {
    const png = await ztxtBombPng(200_000_000);
    expect(png.length).toBeLessThan(400_000);
    const rss0 = process.memoryUsage().rss;
    const img = await decodeImage(png, { maxPixels: 100_000_000 });
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 ** 2);
  });
});

describe('hostile tasks mixed with good ones in one /predict', () => {
  it('bad tasks fail alone; good tasks in the same request are predicted', async () => {
    const config = testConfig({ DOWNLOAD_TIMEOUT_MS: String(TIMEOUT_MS) });
    const { logger, entries } = captureLogger();
    const engine = new SquareFaceEngine();
    const app = createApp({ config, logger, metrics: createMetrics({ defaultMetrics: false }), engine, imageSource });
    const paths = Object.keys(CASES);
    // good, bad, good, bad...: every bad task has a good neighbour on both sides
    const tasks: Array<{ id: number; data: { image: string } }> = [];
    const expected: string[] = [];
    let id = 1;
    for (const p of paths) {
      tasks.push({ id: id++, data: { image: `${host.url}/good.png` } });
      expected.push('ok');
      tasks.push({ id: id++, data: { image: `${host.url}${p}` } });
      expected.push(CASES[p]);
    }
    tasks.push({ id: id++, data: { image: `${host.url}/good.jpeg` } });
    expected.push('ok');

    const res = await request(app).post('/predict').send({ tasks, label_config: BRUSH_XML, project: '1.1' }).expect(200);
    expect(res.body.results).toHaveLength(tasks.length);
    const failed = failures(entries);
    const got = tasks.map((t, i) => {
      const r = res.body.results[i];
      if (failed.has(t.id)) {
        expect(r.result).toEqual([]);
        return failed.get(t.id);
      }
      expect(r.result.length).toBeGreaterThan(0);
      return 'ok';
    });
    expect(got).toEqual(expected);
  }, 60_000);
});
