// Loopback load test (npm run load): the real server and engine in this
// process, the bundled photo served by a loopback static server. First the
// capacity, measured with autocannon on one connection (sequential requests,
// one task each); then FACTOR x capacity for DURATION seconds as an open loop:
// requests arrive at a fixed rate whatever the answers (autocannon is a closed
// loop, one request per connection at a time, and caps its connections at its
// rate: against a server that makes callers wait it would slow down with it
// and never overload it). Prints throughput, latency
// percentiles (200s and 503s apart), the 503 count, errors other than 503
// (must be zero: exit code 1 otherwise), /health latency under load (every probe
// within 1 s, else exit code 1), and RSS
// over the run (must level off).
//
//   npm run load -- [--duration 60] [--factor 2] [--predict-timeout 100000]
//                   [--capacity-requests 8] [--queue 32] [--image test/fixtures/astronaut.png]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildServerEngine } from '../backend/compose.js';
import { loadConfig } from '../backend/config.js';
import { createApp } from '../backend/http/app.js';
import { startServer } from '../backend/http/server.js';
import { createLogger } from '../backend/logging.js';
import { imageSourceFromConfig } from '../backend/media/image-source.js';
import { createMetrics } from '../backend/metrics.js';
import { roundTo } from '../backend/util/num.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    factor: { type: 'string', default: '2' },
    'predict-timeout': { type: 'string', default: '100000' },
    'capacity-requests': { type: 'string', default: '8' },
    queue: { type: 'string', default: '32' },
    image: { type: 'string', default: path.join(root, 'test/fixtures/astronaut.png') },
    json: { type: 'string' },
  },
});
const duration = Number(opt.duration);
const factor = Number(opt.factor);
const predictTimeoutMs = Number(opt['predict-timeout']);
const capacityRequests = Number(opt['capacity-requests']);
if (!(duration > 0 && duration <= 3600 && factor > 0 && factor <= 20 && predictTimeoutMs >= 1000 && capacityRequests >= 2)) {
  process.stderr.write('load: bad arguments (duration 1..3600 s, factor 0..20, predict-timeout >= 1000 ms, capacity-requests >= 2)\n');
  process.exit(2);
}

const mb = (n: number) => Math.round(n / 1024 ** 2);
function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v);
  return { n: s.length, p50: r(pct(s, 50)), p90: r(pct(s, 90)), p99: r(pct(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

// the image, from a loopback static server (the fetch path Label Studio uses)
const image = readFileSync(opt.image);
const files = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': image.length });
  res.end(image);
});
await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
const imageUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/photo.png`;

const config = loadConfig({
  ...process.env,
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  PREDICT_TIMEOUT_MS: String(predictTimeoutMs),
  QUEUE_MAX_LENGTH: opt.queue,
});
const logger = createLogger(config);
const t0 = performance.now();
// the engine as the server runs it: worker threads (ENGINE_WORKERS), else the main thread
const engine = await buildServerEngine({ config, logger });
process.stdout.write(`engine ${engine.modelVersion} (${engine.executionProvider}) ready in ${Math.round(performance.now() - t0)} ms\n`);
const app = createApp({ config, logger, metrics: createMetrics(), engine, imageSource: imageSourceFromConfig(config) });
const server = await startServer(app, { host: '127.0.0.1', port: 0, handleSignals: false });
const base = `http://127.0.0.1:${server.port}`;

const labelConfig = readFileSync(path.join(root, 'label-config/brush.xml'), 'utf8');
const body = JSON.stringify({ tasks: [{ id: 1, data: { image: imageUrl } }], label_config: labelConfig, project: '1.1' });
const headers = { 'Content-Type': 'application/json' };

async function predictOnce(): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${base}/predict`, { method: 'POST', body, headers });
  const out = (await res.json()) as { results?: Array<{ result: unknown[] }> };
  if (res.status !== 200 || !out.results?.[0]?.result.length) throw new Error(`capacity run: HTTP ${res.status}, ${JSON.stringify(out).slice(0, 200)}`);
  return performance.now() - t;
}

// capacity: warm up, then sequential requests on one connection, times the engine calls that run at once
await predictOnce();
await predictOnce();
const seq: number[] = [];
const capResult = await new Promise<autocannon.Result>((resolve, reject) => {
  const sequential = autocannon({ url: `${base}/predict`, method: 'POST', headers, body, connections: 1, amount: capacityRequests, timeout: 120 }, (err, r) =>
    err ? reject(err) : resolve(r),
  );
  sequential.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
    if (status === 200) seq.push(ms);
  });
});
if (capResult.errors || capResult.non2xx || seq.length !== capacityRequests) throw new Error('capacity run failed');
const meanMs = seq.reduce((a, b) => a + b, 0) / seq.length;
const capacity = (1000 / meanMs) * config.queue.engineConcurrency;
const rate = Math.max(1, Math.round(capacity * factor * 100) / 100);
const rssAfterWarmup = process.memoryUsage().rss;
process.stdout.write(
  `capacity: ${capacity.toFixed(2)} req/s (mean ${Math.round(meanMs)} ms over ${seq.length} sequential requests, one task each)\n` +
    `load: ${rate} req/s (${factor}x) for ${duration} s, PREDICT_TIMEOUT_MS=${predictTimeoutMs}, QUEUE_MAX_LENGTH=${opt.queue}\n`,
);

// /health under load, and RSS over time
const healthMs: number[] = [];
let healthFailures = 0;
const healthTimer = setInterval(() => {
  const t = performance.now();
  fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) })
    .then((r) => {
      if (r.status !== 200) healthFailures++;
      return r.arrayBuffer();
    })
    .then(() => healthMs.push(performance.now() - t))
    .catch(() => healthFailures++);
}, 250);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const rss: number[] = [];
let peakRss = 0;
const rssTimer = setInterval(() => {
  const v = process.memoryUsage().rss;
  rss.push(v);
  peakRss = Math.max(peakRss, v);
}, 1000);

// open loop: one request every 1/rate s, each on its own (keep-alive) connection
const byStatus = new Map<number, number[]>();
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const requestTimeoutMs = predictTimeoutMs + 30_000;
let sent = 0;
let answered = 0;
let socketErrors = 0;
let timeouts = 0;
const outstanding = new Set<Promise<void>>();
function fire(): void {
  sent++;
  const t = performance.now();
  const p = new Promise<void>((resolve) => {
    const req = http.request(`${base}/predict`, { method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        answered++;
        const list = byStatus.get(res.statusCode ?? 0) ?? [];
        list.push(performance.now() - t);
        byStatus.set(res.statusCode ?? 0, list);
        resolve();
      });
      res.on('error', () => {
        socketErrors++;
        resolve();
      });
    });
    req.setTimeout(requestTimeoutMs, () => {
      timeouts++;
      req.destroy(new Error('timeout'));
    });
    req.on('error', () => {
      socketErrors++;
      resolve();
    });
    req.end(body);
  });
  outstanding.add(p);
  void p.then(() => outstanding.delete(p));
}
const total = Math.floor(rate * duration); // bounded in count...
const loadStart = performance.now();
for (let k = 0; k < total; k++) {
  const due = loadStart + (k * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (performance.now() - loadStart > duration * 1000 + 1000) break; // ...and in time
  fire();
}
const loadSeconds = (performance.now() - loadStart) / 1000;
process.stdout.write(`sent ${sent} requests in ${loadSeconds.toFixed(1)} s; waiting for ${outstanding.size} in flight\n`);
await Promise.all([...outstanding]);
const allSeconds = (performance.now() - loadStart) / 1000;
loopDelay.disable();
agent.destroy();
clearInterval(healthTimer);
clearInterval(rssTimer);

const ok = byStatus.get(200) ?? [];
const busy = byStatus.get(503) ?? [];
const other = [...byStatus].filter(([s]) => s !== 200 && s !== 503);
const nonBusyErrors = other.reduce((n, [, l]) => n + l.length, 0) + socketErrors + timeouts;
const q = (i: number) => rss[Math.min(rss.length - 1, Math.floor((i * rss.length) / 4))] ?? NaN;
const report = {
  engine: engine.modelVersion,
  provider: engine.executionProvider,
  capacityReqPerS: roundTo(capacity, 2),
  sequentialMs: summary(seq),
  offeredReqPerS: rate,
  durationS: duration,
  predictTimeoutMs,
  queueMaxLength: Number(opt.queue),
  sent,
  answered,
  throughput: {
    okPerS: Math.round((ok.length / allSeconds) * 100) / 100,
    allPerS: Math.round((answered / allSeconds) * 100) / 100,
    seconds: Math.round(allSeconds * 10) / 10,
  },
  eventLoopDelayMs: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
  latencyMs: { ok: summary(ok), busy503: summary(busy) },
  count503: busy.length,
  otherStatuses: Object.fromEntries(other.map(([s, l]) => [s, l.length])),
  socketErrors,
  timeouts,
  nonBusyErrors,
  healthMs: summary(healthMs),
  healthFailures,
  rssMb: { afterWarmup: mb(rssAfterWarmup), q1: mb(q(1)), q2: mb(q(2)), q3: mb(q(3)), end: mb(process.memoryUsage().rss), peak: mb(peakRss) },
};

const L = (s: string) => process.stdout.write(`${s}\n`);
L('');
L(`throughput     ${report.throughput.okPerS} predictions/s (200), ${report.throughput.allPerS} answers/s in all, over ${report.throughput.seconds} s until the last answer; ${report.sent} sent, ${report.answered} answered`);
L(`latency 200    p50 ${report.latencyMs.ok.p50} ms, p90 ${report.latencyMs.ok.p90} ms, p99 ${report.latencyMs.ok.p99} ms, max ${report.latencyMs.ok.max} ms (n=${ok.length})`);
L(`latency 503    p50 ${report.latencyMs.busy503.p50} ms, p99 ${report.latencyMs.busy503.p99} ms (n=${busy.length})`);
L(`503 busy       ${busy.length}`);
L(`other errors   ${nonBusyErrors} (statuses ${JSON.stringify(report.otherStatuses)}, socket errors ${socketErrors}, timeouts ${timeouts})`);
L(`/health        p50 ${report.healthMs.p50} ms, p99 ${report.healthMs.p99} ms, max ${report.healthMs.max} ms (n=${healthMs.length}, failures ${healthFailures})`);
L(`event loop     delay p50 ${report.eventLoopDelayMs.p50} ms, p99 ${report.eventLoopDelayMs.p99} ms, max ${report.eventLoopDelayMs.max} ms (the engine runs ${config.engineWorkers > 0 ? 'in worker threads' : 'on this loop'})`);
L(`RSS MiB        after warm-up ${report.rssMb.afterWarmup}, 25% ${report.rssMb.q1}, 50% ${report.rssMb.q2}, 75% ${report.rssMb.q3}, end ${report.rssMb.end}, peak ${report.rssMb.peak}`);
if (opt.json) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(opt.json, JSON.stringify(report, null, 2));
}

await server.close(5000);
await new Promise<void>((r) => files.close(() => r()));
await engine.close();
// /health must answer within 1 s all the way (its probes time out at 1 s and count as failures)
if (healthFailures > 0) L(`FAIL: ${healthFailures} /health probe(s) took 1 s or more, or failed`);
process.exit(nonBusyErrors === 0 && healthFailures === 0 ? 0 : 1);
