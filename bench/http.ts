// HTTP benchmark: the real app (createApp + startServer) on a loopback port,
// in this process, around the same engine; clients POST /predict with the
// image inline as a data: URI, one task per request, as Label Studio sends
// one task per /predict when a labeler opens it. The engine is wrapped to
// count calls in flight, which tells whether concurrent requests queue in
// front of the engine or run on it at once (and fight over the cores).
import type { Config } from '../backend/config.js';
import { createApp } from '../backend/http/app.js';
import { startServer } from '../backend/http/server.js';
import { EXAMPLE_CONFIG } from '../backend/labelstudio/label-config.js';
import { createLogger } from '../backend/logging.js';
import { imageSourceFromConfig } from '../backend/media/image-source.js';
import { createMetrics } from '../backend/metrics.js';
import type { FaceEngine } from '../backend/pipeline/types.js';
import type { BenchImage } from './images.js';
import { mean, mib, Phase, promisePool, summarise, type LatencySummary } from './stats.js';

/** Counts engine.segment calls in flight (and the most at once). */
export class CountingEngine implements FaceEngine {
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly inner: FaceEngine) {}
  get modelVersion(): string {
    return this.inner.modelVersion;
  }
  get executionProvider(): string {
    return this.inner.executionProvider;
  }
  async segment(...args: Parameters<FaceEngine['segment']>): ReturnType<FaceEngine['segment']> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.inner.segment(...args);
    } finally {
      this.inFlight--;
    }
  }
  close(): Promise<void> {
    return Promise.resolve(); // the bench closes the real engine itself
  }
  resetMax(): void {
    this.maxInFlight = this.inFlight;
  }
}

export interface HttpRequestResult {
  id: string;
  group: string;
  ms: number;
  status: number;
  regions: number;
  error?: string;
}

export interface HttpPhaseResult {
  clients: number;
  requests: number;
  failed: number;
  firstError?: string;
  wallMs: number;
  cpuMs: number;
  /** CPU cores busy on average (process CPU time / wall time). */
  coresBusy: number;
  requestsPerSec: number;
  latency: LatencySummary;
  peakRssMiB: number;
  maxEngineInFlight: number;
  groups: { group: string; requests: number; latency: LatencySummary; imagesPerSec: number }[];
}

export interface HttpBench {
  url: string;
  run(images: readonly BenchImage[], clients: number): Promise<HttpPhaseResult>;
  close(): Promise<void>;
}

/** Start the app on 127.0.0.1:<free port> around `engine`, in this process. */
export async function startHttpBench(engine: FaceEngine, config: Config): Promise<HttpBench> {
  const counting = new CountingEngine(engine);
  const logger = createLogger({ logLevel: 'warn', logFormat: 'text' });
  const cfg: Config = { ...config, host: '127.0.0.1', port: 0 };
  const app = createApp({ config: cfg, logger, metrics: createMetrics(), engine: counting, imageSource: imageSourceFromConfig(cfg) });
  const server = await startServer(app, { host: '127.0.0.1', port: 0, handleSignals: false });
  return httpBench(`http://127.0.0.1:${server.port}`, { counting, close: () => server.close(5_000) });
}

/**
 * The same clients against a server in another process (bench/server-process.ts):
 * its engine calls in flight are not visible from here (-1), and peak RSS is
 * `peakRssMiB()` of that process, its high-water mark since it started.
 */
export function externalHttpBench(server: { url: string; peakRssMiB(): number | undefined; cpuMs(): number | undefined; close(): Promise<void> }): HttpBench {
  return httpBench(server.url, { peakRssMiB: () => server.peakRssMiB(), cpuMs: () => server.cpuMs(), close: () => server.close() });
}

function httpBench(
  url: string,
  opts: { counting?: CountingEngine; peakRssMiB?: () => number | undefined; cpuMs?: () => number | undefined; close: () => Promise<void> },
): HttpBench {
  const { counting } = opts;
  const bodies = new Map<string, string>();
  const bodyOf = (img: BenchImage, i: number): string => {
    let b = bodies.get(img.id);
    if (!b) {
      b = JSON.stringify({ tasks: [{ id: i + 1, data: { image: `data:image/jpeg;base64,${img.bytes.toString('base64')}` } }], label_config: EXAMPLE_CONFIG, project: '1' });
      bodies.set(img.id, b);
    }
    return b;
  };

  const post = async (img: BenchImage, i: number): Promise<HttpRequestResult> => {
    const body = bodyOf(img, i);
    const t0 = performance.now();
    try {
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { results?: { result?: unknown[] }[]; detail?: string };
      const ms = performance.now() - t0;
      const regions = json.results?.[0]?.result?.length ?? 0;
      return { id: img.id, group: img.group, ms, status: res.status, regions, error: res.ok ? undefined : json.detail };
    } catch (e) {
      return { id: img.id, group: img.group, ms: performance.now() - t0, status: 0, regions: 0, error: (e as Error).message };
    }
  };

  return {
    url,
    async run(images, clients) {
      // build bodies before timing
      images.forEach((img, i) => bodyOf(img, i));
      counting?.resetMax();
      const phase = new Phase();
      const cpu0 = opts.cpuMs?.();
      const results = await promisePool(images, clients, post);
      const p = phase.end();
      const cpu1 = opts.cpuMs?.();
      // the server's CPU time when it runs elsewhere, else this process's
      const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : opts.cpuMs ? Number.NaN : p.cpuMs;
      const ok = results.filter((r) => r.status === 200);
      const names = [...new Set(images.map((i) => i.group))];
      return {
        clients,
        requests: results.length,
        failed: results.length - ok.length,
        firstError: results.find((r) => r.error)?.error,
        wallMs: p.wallMs,
        cpuMs,
        coresBusy: cpuMs / p.wallMs,
        requestsPerSec: (1000 * ok.length) / p.wallMs,
        latency: summarise(ok.map((r) => r.ms)),
        peakRssMiB: opts.peakRssMiB ? (opts.peakRssMiB() ?? Number.NaN) : mib(p.peakRssBytes),
        maxEngineInFlight: counting ? counting.maxInFlight : -1,
        groups: names.map((group) => {
          const rs = ok.filter((r) => r.group === group);
          return { group, requests: rs.length, latency: summarise(rs.map((r) => r.ms)), imagesPerSec: 1000 / mean(rs.map((r) => r.ms)) };
        }),
      };
    },
    close: opts.close,
  };
}
