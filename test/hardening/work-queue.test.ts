// The bounded work queue: unit behaviour, then through the app: 503 with
// Retry-After when full or when the wait would pass the caller's timeout,
// /health fast while the engine is saturated, an engine failure on one task.
import { describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { createApp } from '../../backend/http/app.js';
import { QueueFullError, WorkQueue } from '../../backend/http/work-queue.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import type { RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';
import { BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';
import { captureLogger, failures } from './capture.js';

/** A clock the test moves by hand. */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('runs one unit at a time by default, FIFO across requests', async () => {
    const q = new WorkQueue();
    const a = q.admit(2);
    const b = q.admit(1);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p1 = a.run(async () => {
      order.push('a1');
      await gate;
    });
    const p2 = a.run(async () => order.push('a2'));
    const p3 = b.run(async () => order.push('b1'));
    await tick();
    expect(order).toEqual(['a1']);
    expect(q.stats()).toMatchObject({ active: 1, waiting: 2, admitted: 2, outstandingTasks: 3 });
    release();
    await Promise.all([p1, p2, p3]);
    expect(order).toEqual(['a1', 'a2', 'b1']);
    a.release();
    b.release();
    expect(q.stats()).toMatchObject({ active: 0, waiting: 0, admitted: 0, outstandingTasks: 0 });
  });

  it('refuses past concurrency + maxQueue admitted requests, with a Retry-After', () => {
    const q = new WorkQueue({ maxQueue: 2, initialServiceMs: 10 });
    q.admit(1);
    q.admit(1);
    q.admit(1);
    let err: unknown;
    try {
      q.admit(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err).toMatchObject({ reason: 'queue_full', retryAfterS: 1 });
  });

  it('estimates the wait from recent service times and refuses work that would pass the timeout', async () => {
    const c = clock();
    const q = new WorkQueue({ callerTimeoutMs: 10_000, safety: 1, initialServiceMs: 100, now: c.now, maxQueue: 100 });
    // measure: units of 1 s each
    const t = q.admit(3);
    for (let i = 0; i < 3; i++) await t.run(async () => c.advance(1000));
    t.release();
    expect(q.serviceMs()).toBe(1000);
    // a lone request is always admitted, even if it alone needs more than the timeout
    const big = q.admit(20);
    // round robin: a 5-task request would finish after 5 + 5 = 10 units = 10 s: just fits
    const ok = q.admit(5);
    // one more task now: 1 + min(20,1) + min(5,1) = 3 s for itself, but the 5-task request would move to 11 s > 10 s
    expect(() => q.admit(1)).toThrow(/earlier one miss its deadline/);
    ok.release();
    // with the 5-task request gone, 9 tasks: 9 + 9 = 18 s > 10 s
    expect(() => q.admit(9)).toThrow(QueueFullError);
    try {
      q.admit(9);
    } catch (e) {
      expect(e).toMatchObject({ reason: 'would_time_out' });
      // about half of the 20 s of admitted work: 10 s
      expect((e as QueueFullError).retryAfterS).toBe(10);
      expect((e as Error).message).toMatch(/9 task\(s\) would finish in about 18 s, past the caller's timeout of 10 s/);
    }
    expect(q.admit(4)).toBeTruthy(); // 4 + 4 = 8 s
    big.release();
  });

  it('release() cancels queued turns of a request that went away', async () => {
    const q = new WorkQueue();
    const a = q.admit(1);
    const b = q.admit(1);
    let release!: () => void;
    const p1 = a.run(() => new Promise<void>((r) => (release = r)));
    const p2 = b.run(async () => 'never');
    b.release();
    await expect(p2).rejects.toThrow(/released/);
    release();
    await p1;
    expect(q.stats()).toMatchObject({ active: 0, waiting: 0, admitted: 1 });
  });

  it('a failing unit frees its slot', async () => {
    const q = new WorkQueue();
    const a = q.admit(2);
    await expect(a.run(async () => Promise.reject(new Error('onnx')))).rejects.toThrow('onnx');
    expect(await a.run(async () => 42)).toBe(42);
  });
});

/** An engine whose calls wait until the test lets them go. */
class GatedEngine extends SquareFaceEngine {
  private gates: Array<() => void> = [];
  started = 0;
  override async segment(image: RgbImage, options?: SegmentOptions): Promise<SegmentResult> {
    this.started++;
    await new Promise<void>((r) => this.gates.push(r));
    return super.segment(image, options);
  }
  openAll() {
    for (const g of this.gates.splice(0)) g();
  }
}

async function listen(app: http.RequestListener) {
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('queue through the app', () => {
  it('503 + Retry-After when full; /health answers fast meanwhile; admitted requests still finish', async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).png().toBuffer();
    const dataUri = `data:image/png;base64,${png.toString('base64')}`;
    const config = testConfig({ QUEUE_MAX_LENGTH: '2' });
    const engine = new GatedEngine();
    const imageSource = createImageSource({ maxBytes: 1e6, timeoutMs: 1000 });
    const metrics = createMetrics({ defaultMetrics: false });
    const app = createApp({ config, logger: silentLogger(), metrics, engine, imageSource });
    const { server, url } = await listen(app);
    const body = JSON.stringify({ tasks: [{ id: 1, data: { image: dataUri } }], label_config: BRUSH_XML });
    const predict = () => fetch(`${url}/predict`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    try {
      const admitted = [predict(), predict(), predict()]; // 1 running + 2 queued
      while (engine.started < 1) await tick();
      await new Promise((r) => setTimeout(r, 50));
      const refused = await predict();
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toMatchObject({ error: 'busy', reason: 'queue_full', detail: expect.stringMatching(/QUEUE_MAX_LENGTH=2/) });

      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const h = await fetch(`${url}/health`);
        expect(h.status).toBe(200);
        expect(performance.now() - t0).toBeLessThan(200);
      }
      const m = await (await fetch(`${url}/metrics`)).text();
      expect(m).toMatch(/faceseg_queue_admitted_requests 3/);
      expect(m).toMatch(/faceseg_queue_rejected_total\{reason="queue_full"\} 1/);

      const opener = setInterval(() => engine.openAll(), 5);
      const done = await Promise.all(admitted);
      clearInterval(opener);
      expect(done.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(engine.started).toBe(3);
      // and the queue is free again
      const again = predict();
      const o2 = setInterval(() => engine.openAll(), 5);
      expect((await again).status).toBe(200);
      clearInterval(o2);
    } finally {
      engine.openAll();
      server.closeAllConnections();
      server.close();
    }
  });

  it('a client that goes away frees its place: the rest of its tasks are not segmented', async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).png().toBuffer();
    const dataUri = `data:image/png;base64,${png.toString('base64')}`;
    const engine = new GatedEngine();
    const app = createApp({
      config: testConfig(),
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      engine,
      imageSource: createImageSource({ maxBytes: 1e6, timeoutMs: 1000 }),
    });
    const { server, url } = await listen(app);
    try {
      const ac = new AbortController();
      const tasks = Array.from({ length: 5 }, (_, i) => ({ id: i, data: { image: dataUri } }));
      const p = fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify({ tasks, label_config: BRUSH_XML }), signal: ac.signal }).catch(() => 'aborted');
      while (engine.started < 1) await tick();
      ac.abort();
      expect(await p).toBe('aborted');
      await new Promise((r) => setTimeout(r, 50));
      engine.openAll();
      await new Promise((r) => setTimeout(r, 100));
      engine.openAll();
      expect(engine.started).toBeLessThanOrEqual(2);
    } finally {
      engine.openAll();
      server.closeAllConnections();
      server.close();
    }
  });
});

/** Throws like onnxruntime does for one particular input (here: images 13 px wide). */
class FlakyEngine extends SquareFaceEngine {
  override async segment(image: RgbImage, options?: SegmentOptions): Promise<SegmentResult> {
    if (image.width === 13) throw new Error('Non-zero status code returned while running Conv node. Name:\'conv1\' Status Message: invalid dims');
    return super.segment(image, options);
  }
}

describe('engine failure on one input', () => {
  it('fails that task only; the engine keeps serving the others and later requests', async () => {
    const mk = async (w: number) =>
      `data:image/png;base64,${(await sharp({ create: { width: w, height: 20, channels: 3, background: '#777' } }).png().toBuffer()).toString('base64')}`;
    const good = await mk(20);
    const bad = await mk(13);
    const { logger, entries } = captureLogger();
    const app = createApp({ config: testConfig(), logger, metrics: createMetrics({ defaultMetrics: false }), engine: new FlakyEngine(), imageSource: createImageSource({ maxBytes: 1e6, timeoutMs: 1000 }) });
    const { server, url } = await listen(app);
    try {
      const tasks = [good, bad, good, bad, good].map((image, id) => ({ id, data: { image } }));
      const res = await fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify({ tasks, label_config: BRUSH_XML }) });
      expect(res.status).toBe(200);
      const { results } = (await res.json()) as { results: Array<{ result: unknown[] }> };
      expect(results.map((r) => r.result.length > 0)).toEqual([true, false, true, false, true]);
      expect([...failures(entries)]).toEqual([
        [1, 'engine'],
        [3, 'engine'],
      ]);
      const again = await fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify({ tasks: [tasks[0]], label_config: BRUSH_XML }) });
      expect(((await again.json()) as { results: Array<{ result: unknown[] }> }).results[0].result.length).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });
});
