// GET /metrics: the Prometheus text exposition.
import type { Express } from 'express';
import type { Metrics } from '../../metrics.js';

export function metricsRoute(app: Express, metrics: Pick<Metrics, 'contentType' | 'render'>): void {
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  });
}
