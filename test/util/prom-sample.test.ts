import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../backend/metrics.js';
import { backendSpentSoFar, sampleValue } from '../e2e/lib/metrics.js';

describe('sampleValue (the e2e timing reads the backend /predict time from GET /metrics)', () => {
  it('finds the /predict duration sum in what the backend really exposes', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.httpDuration.observe({ method: 'POST', route: '/predict' }, 2.5);
    m.httpDuration.observe({ method: 'POST', route: '/predict' }, 1.25);
    m.httpDuration.observe({ method: 'GET', route: '/health' }, 9);
    const text = await m.render();
    const name = 'faceseg_http_request_duration_seconds_sum';
    expect(sampleValue(text, name, { method: 'POST', route: '/predict' })).toBe(3.75);
    expect(sampleValue(text, name, { route: '/health' })).toBe(9);
    expect(sampleValue(text, name, { route: '/setup' })).toBeUndefined();
    // a name that only starts like another is not it
    expect(sampleValue(text, 'faceseg_http_request_duration_seconds', { route: '/health' })).toBeUndefined();
    expect(sampleValue(text, 'faceseg_http_request_duration_seconds_count', { route: '/predict' })).toBe(2);
  });

  it('reads escaped label values and ignores comments and junk', () => {
    const text = ['# HELP x_sum a', 'x_sum{a="q\\"uote",b="2"} 7', 'x_sum{a="other"} NaN', 'garbage line'].join('\n');
    expect(sampleValue(text, 'x_sum', { a: 'q\\"uote' })).toBe(7);
    expect(sampleValue(text, 'x_sum', { a: 'other' })).toBeUndefined();
  });

  it('backendSpentSoFar reads the /predict time and the process CPU the backend exposes', async () => {
    const m = createMetrics();
    m.httpDuration.observe({ method: 'POST', route: '/predict' }, 4);
    // burn some CPU so the counter is clearly above zero
    const t0 = Date.now();
    while (Date.now() - t0 < 30);
    const server = http.createServer(async (_req, res) => res.end(await m.render()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const spent = await backendSpentSoFar(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(spent?.predictS).toBe(4);
      expect(spent?.cpuS).toBeGreaterThan(0.02);
      expect(await backendSpentSoFar('http://127.0.0.1:1')).toBeUndefined();
    } finally {
      server.close();
    }
  });
});
