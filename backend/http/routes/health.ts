// GET /health (and GET / for Label Studio and scripts; browsers asking for
// HTML at / are sent to the team page).
import type { Express, Request, Response } from 'express';

export const MODEL_CLASS = 'FaceSegBackend';

export function healthRoutes(app: Express, engine: { readonly modelVersion: string }): void {
  const health = (_req: Request, res: Response) => {
    res.json({ status: 'UP', model_class: MODEL_CLASS, model_version: engine.modelVersion });
  };
  app.get('/', (req, res) => {
    if (req.accepts(['json', 'html']) === 'html') res.redirect(302, '/ui');
    else health(req, res);
  });
  app.get('/health', health);
}
