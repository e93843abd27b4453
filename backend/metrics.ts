// Prometheus metrics on a registry of our own (not prom-client's global one),
// so that tests and several apps in one process do not collide.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly tasks: Counter<'outcome'>;
  readonly taskErrors: Counter<'reason'>;
  readonly faces: Counter<string>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly modelsLoaded: Gauge<'kind'>;
  /** Record per-stage timings in milliseconds (engine timings, fetch, decode, rle...). */
  observeTimings(timingsMs: Record<string, number>): void;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  prefix?: string;
  /** Process metrics (CPU, memory, event loop lag...). Default true. */
  defaultMetrics?: boolean;
}

/** Seconds buckets of HTTP requests (Label Studio's /predict timeout is 100 s). */
const HTTP_BUCKETS = [0.005, 0.02, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 100];
/** Seconds buckets of one processing stage. */
const STAGE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Declares metrics named `${prefix}${name}` on one registry. */
function declare(registry: Registry, prefix: string) {
  const base = <L extends string>(name: string, help: string, labelNames: readonly L[]) => ({
    name: `${prefix}${name}`,
    help,
    labelNames,
    registers: [registry],
  });
  return {
    counter: <L extends string>(name: string, help: string, labels: readonly L[] = []) => new Counter<L>(base(name, help, labels)),
    gauge: <L extends string>(name: string, help: string, labels: readonly L[] = []) => new Gauge<L>(base(name, help, labels)),
    histogram: <L extends string>(name: string, help: string, labels: readonly L[], buckets: number[]) =>
      new Histogram<L>({ ...base(name, help, labels), buckets }),
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'faceseg_';
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });
  const m = declare(registry, prefix);
  // declared in exposition order
  const httpRequests = m.counter('http_requests_total', 'HTTP requests by route and status code', ['method', 'route', 'status'] as const);
  const httpDuration = m.histogram('http_request_duration_seconds', 'HTTP request duration by route', ['method', 'route'] as const, HTTP_BUCKETS);
  const tasks = m.counter('tasks_total', 'Tasks predicted, by outcome (ok, error)', ['outcome'] as const);
  const taskErrors = m.counter('task_errors_total', 'Tasks that got an empty prediction because of an error, by reason', ['reason'] as const);
  const faces = m.counter('faces_total', 'Faces returned in predictions');
  const stageSeconds = m.histogram(
    'stage_duration_seconds',
    'Time per processing stage (fetch, decode, keypoints, detector, segmenter, paste, rle...)',
    ['stage'] as const,
    STAGE_BUCKETS,
  );
  const modelsLoaded = m.gauge('models_loaded', 'Models loaded in this process, by kind', ['kind'] as const);
  return {
    registry,
    httpRequests,
    httpDuration,
    tasks,
    taskErrors,
    faces,
    stageSeconds,
    modelsLoaded,
    observeTimings(timingsMs) {
      for (const [stage, ms] of Object.entries(timingsMs)) {
        if (Number.isFinite(ms) && ms >= 0) stageSeconds.observe({ stage }, ms / 1000);
      }
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
