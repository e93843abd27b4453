// GET /ui: the team page (health, queue, recent failures, and with active
// learning each project's figures from the corrections).
import type { Express } from 'express';
import type { FaceEngine } from '../../pipeline/types.js';
import type { TaskTally } from '../task-report.js';
import { renderTeamPage, type TeamSummary } from '../team-page.js';
import type { WorkQueue } from '../work-queue.js';
import { engineStatus, type EngineHealth } from './health.js';

export interface TeamPageDeps {
  engine: Pick<FaceEngine, 'modelVersion' | 'executionProvider'> & EngineHealth;
  queue: Pick<WorkQueue, 'stats'>;
  tally: TaskTally;
  startedAt: number;
  teamSummary?: () => Promise<TeamSummary>;
  prior?: { id: string; faces: number };
}

export function teamPageRoute(app: Express, deps: TeamPageDeps): void {
  app.get('/ui', async (req, res) => {
    let team: TeamSummary | undefined;
    let teamError: string | undefined;
    if (deps.teamSummary) {
      try {
        team = await deps.teamSummary();
      } catch (err) {
        teamError = (err as Error).message ?? String(err);
        req.log.warn('team page: learning figures failed', { error: teamError });
      }
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      renderTeamPage({
        status: engineStatus(deps.engine),
        modelVersion: deps.engine.modelVersion,
        provider: deps.engine.executionProvider,
        ...(deps.prior ? { prior: deps.prior } : {}),
        startedAt: deps.startedAt,
        now: Date.now(),
        queue: deps.queue.stats(),
        tasks: { ok: deps.tally.ok, failed: deps.tally.failed },
        failures: deps.tally.failures.list(),
        team,
        teamError,
      }),
    );
  });
}
