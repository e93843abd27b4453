// GET /projects/:id/quality: a project's learning figures (active learning on).
import type { Express } from 'express';
import { HttpError } from '../errors.js';

export function qualityRoute(app: Express, quality: (projectId: string) => unknown): void {
  app.get('/projects/:id/quality', async (req, res) => {
    const id = String(req.params.id);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(400, 'invalid_request', 'project id must be a Label Studio project id');
    res.json(await quality(id));
  });
}
