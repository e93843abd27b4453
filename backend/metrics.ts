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

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'faceseg_';
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });

  const httpRequests = new Counter({
    name: `${prefix}http_requests_total`,
    help: 'HTTP requests by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 100],
    registers: [registry],
  });
  const tasks = new Counter({
    name: `${prefix}tasks_total`,
    help: 'Tasks predicted, by outcome (ok, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const taskErrors = new Counter({
    name: `${prefix}task_errors_total`,
    help: 'Tasks that got an empty prediction because of an error, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const faces = new Counter({
    name: `${prefix}faces_total`,
    help: 'Faces returned in predictions',
    registers: [registry],
  });
  const stageSeconds = new Histogram({
    name: `${prefix}stage_duration_seconds`,
    help: 'Time per processing stage (fetch, decode, keypoints, detector, segmenter, paste, rle...)',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const modelsLoaded = new Gauge({
    name: `${prefix}models_loaded`,
    help: 'Models loaded in this process, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

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
