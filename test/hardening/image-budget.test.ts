// The memory budget for decoded images: across concurrent requests, the
// decoded pixels held at once stay within DECODED_IMAGE_BUDGET_BYTES (an image
// larger than the budget runs alone), nothing deadlocks, a client that leaves
// gives its share back, and peak RSS follows the budget.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ByteBudget } from '../../backend/http/byte-budget.js';
import { createApp } from '../../backend/http/app.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import type { ImageSource } from '../../backend/media/image-source.js';
import type { RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';

class Watched extends ByteBudget {
  peak = 0;
  override acquire(bytes: number, signal?: AbortSignal) {
    return super.acquire(bytes, signal).then((release) => {
      this.peak = Math.max(this.peak, this.inUse);
      return release;
    });
  }
}

class SlowEngine extends SquareFaceEngine {
  override async segment(image: RgbImage, options?: SegmentOptions): Promise<SegmentResult> {
    await new Promise((r) => setTimeout(r, 30));
    return super.segment(image, options);
  }
}

describe('ByteBudget', () => {
  it('first come, first served; a reservation larger than the budget runs alone; abort leaves the queue', async () => {
    const b = new ByteBudget(100);
    const r1 = await b.acquire(60);
    const order: string[] = [];
    const p2 = b.acquire(60).then((r) => (order.push('60'), r));
    const p3 = b.acquire(10).then((r) => (order.push('10'), r)); // fits, but waits its turn
    const ac = new AbortController();
    const p4 = b.acquire(500, ac.signal);
    expect(b.queued).toBe(3);
    ac.abort(new Error('gone'));
    await expect(p4).rejects.toThrow('gone');
    r1();
    r1(); // twice is once
    const [r2, r3] = await Promise.all([p2, p3]);
    expect(order).toEqual(['60', '10']);
    expect(b.inUse).toBe(70);
    r2();
    r3();
    const big = await b.acquire(500);
    expect(b.inUse).toBe(500);
    big();
    expect(b.inUse).toBe(0);
  });
});

describe('decoded images across concurrent requests', () => {
  let png: Buffer;
  const W = 1500;
  const H = 1000;
  const source: ImageSource = { fetch: async () => png };
  let server: http.Server;
  let url: string;
  const budget = new Watched(W * H * 3 * 2); // two images at once

  beforeAll(async () => {
    png = await sharp({ create: { width: W, height: H, channels: 3, background: '#a87' } }).png().toBuffer();
    const app = createApp({
      config: testConfig({ QUEUE_MAX_LENGTH: '100' }),
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      engine: new SlowEngine(),
      imageSource: source,
      imageBudget: budget,
    });
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const predict = (n: number, signal?: AbortSignal) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tasks: Array.from({ length: n }, (_, i) => ({ id: i, data: { image: `http://img/${i}.png` } })), label_config: BRUSH_XML }),
      signal,
    });

  it('6 requests x 4 tasks: every task predicted, never more than the budget held, all given back (< 20 s)', async () => {
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 6 }, () => predict(4).then((r) => r.json() as Promise<{ results: Array<{ result: unknown[] }> }>)));
    expect(performance.now() - t0).toBeLessThan(20_000);
    for (const a of answers) {
      expect(a.results).toHaveLength(4);
      for (const r of a.results) expect(r.result.length).toBeGreaterThan(0);
    }
    expect(budget.peak).toBeGreaterThan(0);
    expect(budget.peak).toBeLessThanOrEqual(budget.total);
    expect(budget.inUse).toBe(0);
  });

  it('a client that goes away gives its share back', async () => {
    const ac = new AbortController();
    const gone = predict(20, ac.signal).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    ac.abort();
    await gone;
    for (let i = 0; i < 100 && (budget.inUse > 0 || budget.queued > 0); i++) await new Promise((r) => setTimeout(r, 20));
    expect(budget.inUse).toBe(0);
    expect(budget.queued).toBe(0);
  });
});

describe('peak RSS follows the budget (child process, 4 x 5000x5000 at once)', () => {
  const run = (budget: string) =>
    new Promise<number>((resolve, reject) => {
      const script = new URL('./children/budget-rss.ts', import.meta.url).pathname;
      execFile(process.execPath, ['--expose-gc', '--import', 'tsx', script], { env: { ...process.env, BUDGET: budget }, timeout: 30_000 }, (err, out) =>
        err ? reject(err) : resolve(Number(out.trim())),
      );
    });

  it('one image at a time (80 MB budget) peaks well below four at once (1 GB budget)', async () => {
    const one = await run('80mb');
    const four = await run('1gb');
    // one 75 MB image peaks at about 2.4x its size while libvips decodes it
    expect(one, `budget 80 MB: +${Math.round(one / 1024 ** 2)} MB, no budget: +${Math.round(four / 1024 ** 2)} MB`).toBeLessThan(260 * 1024 ** 2);
    expect(one).toBeLessThan(four * 0.75);
  });
});

describe('one request whose images arrive out of order', () => {
  it('decodes in task order: a later task never holds the budget the first one waits for (no deadlock)', async () => {
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#a87' } }).png().toBuffer();
    // task 0's image arrives last; the budget holds one image
    const source: ImageSource = { fetch: async (ref) => (ref.endsWith('/0.png') && (await new Promise((r) => setTimeout(r, 100))), png) };
    const app = createApp({
      config: testConfig(),
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      engine: new SquareFaceEngine(),
      imageSource: source,
      imageBudget: new ByteBudget(100 * 100 * 3),
    });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`;
      const tasks = [0, 1, 2].map((i) => ({ id: i, data: { image: `http://img/${i}.png` } }));
      const res = await fetch(url, { method: 'POST', body: JSON.stringify({ tasks, label_config: BRUSH_XML }), signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { results: Array<{ result: unknown[] }> };
      expect(res.status).toBe(200);
      expect(body.results.map((r) => r.result.length > 0)).toEqual([true, true, true]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
