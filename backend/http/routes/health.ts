// GET /health (and GET / for Label Studio and scripts; browsers asking for
// HTML at / are sent to the team page).
import type { Express, Request, Response } from 'express';

export const MODEL_CLASS = 'FaceSegBackend';

/** `workers`: an engine worker pool's running workers. */
export interface EngineHealth {
  readonly modelVersion: string;
  readonly workers?: number;
}

/** DOWN when an engine worker pool has no worker left: nothing can be predicted. */
export function engineStatus(engine: EngineHealth): 'UP' | 'DOWN' {
  return engine.workers === 0 ? 'DOWN' : 'UP';
}

export function healthRoutes(app: Express, engine: EngineHealth): void {
  const health = (_req: Request, res: Response) => {
    const body = { model_class: MODEL_CLASS, model_version: engine.modelVersion };
    if (engineStatus(engine) === 'DOWN') res.status(503).json({ status: 'DOWN', ...body, detail: 'no engine worker is running (see the log for why they stopped)' });
    else res.json({ status: 'UP', ...body });
  };
  app.get('/', (req, res) => {
    if (req.accepts(['json', 'html']) === 'html') res.redirect(302, '/ui');
    else health(req, res);
  });
  app.get('/health', health);
}
