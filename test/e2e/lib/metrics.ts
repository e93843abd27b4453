// Reads one sample out of the backend's GET /metrics (Prometheus text format),
// so the e2e timing can say how much of a Label Studio action the backend spent.

/** The value of `name` whose labels include every pair of `labels`; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const p of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(p[1], p[2]);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) {
      const v = Number(m[3]);
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

/** What the backend has spent so far: seconds answering POST /predict (its request-duration histogram's sum) and CPU seconds, all threads. */
export interface BackendSpent {
  predictS: number;
  /** Undefined when its /metrics has no process CPU counter. */
  cpuS?: number;
}

/** The backend's BackendSpent from its GET /metrics; undefined when that does not answer. */
export async function backendSpentSoFar(backendUrl: string, headers: Record<string, string> = {}): Promise<BackendSpent | undefined> {
  try {
    const r = await fetch(`${backendUrl.replace(/\/+$/, '')}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!r.ok) return undefined;
    const text = await r.text();
    return {
      predictS: sampleValue(text, 'faceseg_http_request_duration_seconds_sum', { method: 'POST', route: '/predict' }) ?? 0,
      // prom-client's process.cpuUsage(): every thread of the process, engine workers included
      cpuS: sampleValue(text, 'faceseg_process_cpu_seconds_total'),
    };
  } catch {
    return undefined;
  }
}
