// Small numeric and formatting helpers for the benchmark: percentiles, a peak
// RSS sampler, CPU use over a phase, and fixed-width tables.
import { clamp } from '../backend/util/num.js';

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[clamp(rank - 1, 0, s.length - 1)];
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

export interface LatencySummary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarise(ms: readonly number[]): LatencySummary {
  return {
    n: ms.length,
    mean: mean(ms),
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
    max: ms.length ? Math.max(...ms) : NaN,
  };
}

/**
 * Samples this process's RSS every `everyMs` while a phase runs. Node's
 * resourceUsage().maxRSS is the peak of the whole process life, so a phase's
 * own ceiling needs sampling.
 */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  peakBytes = 0;

  constructor(private readonly everyMs = 25) {}

  start(): this {
    this.peakBytes = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peakBytes = Math.max(this.peakBytes, process.memoryUsage.rss());
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.peakBytes = Math.max(this.peakBytes, process.memoryUsage.rss());
    return this.peakBytes;
  }
}

/** Measures wall time, this process's CPU time and peak RSS of one phase. */
export class Phase {
  private readonly t0 = performance.now();
  private readonly cpu0 = process.cpuUsage();
  private readonly rss = new RssSampler().start();

  end(): { wallMs: number; cpuMs: number; peakRssBytes: number } {
    const wallMs = performance.now() - this.t0;
    const c = process.cpuUsage(this.cpu0);
    return { wallMs, cpuMs: (c.user + c.system) / 1000, peakRssBytes: this.rss.stop() };
  }
}

/** Runs `worker` over `items` with at most `concurrency` in flight, in order of start. */
export async function promisePool<T, R>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await worker(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return out;
}

/** Deterministic PRNG: the same seed gives the same images on every machine. */
export { seededRandom as rng } from '../backend/util/random.js';

export const mib = (bytes: number): number => bytes / 1024 ** 2;

/** A number for a table cell: '-' for NaN/undefined. */
export function fmt(v: number | undefined | null, digits = 1): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v.toFixed(digits);
}

/** Fixed-width table: first column left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
