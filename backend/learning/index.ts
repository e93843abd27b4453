// Wiring of active learning into the HTTP app: the store under MODEL_DIR and
// the service, as the optional createApp deps. A store that cannot be opened
// (read-only MODEL_DIR, ...) turns learning off with an error in the log; the
// backend keeps predicting with the defaults.
import type { Config } from '../config.js';
import type { AppDeps } from '../http/app.js';
import type { Logger } from '../logging.js';
import { DEFAULT_SETTINGS } from '../pipeline/engine.js';
import type { EngineParams } from '../pipeline/types.js';
import { LearningService } from './service.js';
import { LearningStore } from './store.js';
import { teamSummary } from './team-summary.js';

export { LearningService } from './service.js';
export { LearningStore } from './store.js';

export interface Learning {
  service: LearningService;
  deps: Pick<AppDeps, 'onWebhook' | 'projectSettings' | 'onPredicted' | 'projectQuality' | 'teamSummary'>;
  close(): void;
}

export function defaultParams(): EngineParams {
  const { boxScale, minRadius, keypointThreshold, detectorThreshold, maskThreshold, dilate } = DEFAULT_SETTINGS;
  return { boxScale, minRadius, keypointThreshold, detectorThreshold, maskThreshold, dilate };
}

/** The deps createApp needs for a service (tests build the service themselves); `team`: what the team page (GET /ui) needs beyond the service: the store to list projects. */
export function learningDeps(
  service: LearningService,
  team?: { store: LearningStore; baseVersion: string; defaults: EngineParams; minCorrections: number },
): Learning['deps'] {
  return {
    ...(team
      ? {
          teamSummary: async () =>
            teamSummary(
              team.store.listProjects(50).map((project) => ({
                project,
                corrections: team.store.listCorrections(project),
                calibration: team.store.getCalibration(project),
                modelVersion: service.projectSettings(project)?.modelVersion ?? team.baseVersion,
              })),
              team.defaults,
              team.minCorrections,
            ),
        }
      : {}),
    onWebhook: (e) => service.onWebhook(e),
    projectSettings: (id) => service.projectSettings(id),
    onPredicted: (p) => service.recordPrediction(p),
    projectQuality: (id) => service.quality(id),
  };
}

export function openLearning(
  config: Config,
  logger: Logger,
  engine: { modelVersion: string; versionWith(params: Partial<EngineParams>): string },
  defaults: EngineParams = defaultParams(),
): Learning | undefined {
  if (!config.learning.enabled) return undefined;
  let store: LearningStore;
  try {
    store = new LearningStore(config.learning.dbFile);
  } catch (err) {
    logger.error(
      `active learning is off: cannot open ${config.learning.dbFile} (${(err as Error).message}); set LEARNING_DB to a writable file or ACTIVE_LEARNING=false`,
    );
    return undefined;
  }
  const service = new LearningService({
    store,
    logger: logger.child({ component: 'learning' }),
    defaults,
    baseVersion: engine.modelVersion,
    versionWith: (p) => engine.versionWith(p),
    minCorrections: config.learning.minCorrections,
    faceLabel: config.faceLabel,
  });
  logger.info(`active learning: ${config.learning.dbFile}, calibration after ${config.learning.minCorrections || 'START_TRAINING only'} corrections`);
  return { service, deps: learningDeps(service, { store, baseVersion: engine.modelVersion, defaults, minCorrections: config.learning.minCorrections }), close: () => store.close() };
}
