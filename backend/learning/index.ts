// Wiring of active learning into the HTTP app: the store (SQLite under
// MODEL_DIR, or PostgreSQL), the service and the webhook inbox, as the
// optional createApp deps. A store that cannot be opened (read-only MODEL_DIR,
// a database that stays down, ...) turns learning off with an error in the
// log; the backend keeps predicting with the defaults.
import type { Config } from '../config.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { WebhookVerifier } from '../labelstudio/webhook-verifier.js';
import type { Logger } from '../logging.js';
import { DEFAULT_SETTINGS } from '../pipeline/engine.js';
import type { EngineParams } from '../pipeline/types.js';
import type { LearningHooks } from './app-hooks.js';
import { WebhookInbox } from './inbox.js';
import { priorOr } from './refiner-prior.js';
import type { RefinerModel } from './refiner.js';
import { LearningService } from './service.js';
import { openStore, redactDbUrl, type LearningStore } from './store.js';
import { teamSummary } from './team-summary.js';
import { singleFlight } from '../util/single-flight.js';

export { WebhookInbox } from './inbox.js';
export { LearningService } from './service.js';
export { openStore, type LearningStore } from './store.js';

export interface Learning {
  service: LearningService;
  store: LearningStore;
  inbox: WebhookInbox;
  deps: LearningHooks;
  /** Stops the inbox (unprocessed events stay stored) and closes the store. */
  close(): Promise<void>;
}

export function defaultParams(): EngineParams {
  const { boxScale, minRadius, keypointThreshold, detectorThreshold, maskThreshold, dilate } = DEFAULT_SETTINGS;
  return { boxScale, minRadius, keypointThreshold, detectorThreshold, maskThreshold, dilate };
}

/**
 * The deps createApp needs for a service (tests build the service themselves); with an inbox, /webhook
 * commits before 201; `team`: what the team page (GET /ui) needs beyond the service: the store to list projects.
 */
export function learningDeps(
  service: LearningService,
  inbox?: WebhookInbox,
  team?: { store: LearningStore; baseVersion: string; defaults: EngineParams; minCorrections: number },
): Learning['deps'] {
  return {
    ...(team
      ? {
          // single-flight with a 5 s reuse: each view reads every correction of up to 50 projects
          teamSummary: singleFlight(async () => {
            const projects = (await team.store.listProjects()).slice(0, 50);
            const records = [];
            for (const project of projects) {
              records.push({
                project,
                corrections: await team.store.listCorrections(project),
                calibration: await team.store.getCalibration(project),
                modelVersion: (await service.projectSettings(project))?.modelVersion ?? team.baseVersion,
              });
            }
            return teamSummary(records, team.defaults, team.minCorrections);
          }, { ttlMs: 5000 }),
        }
      : {}),
    onWebhook: (e) => service.onWebhook(e),
    ...(inbox ? { webhookInbox: inbox } : {}),
    projectSettings: (id) => service.projectSettings(id),
    onPredicted: (p) => service.recordPrediction(p),
    projectQuality: (id) => service.quality(id),
  };
}

export async function openLearning(
  config: Config,
  logger: Logger,
  engine: { modelVersion: string; versionWith(params: Partial<EngineParams>): string },
  defaults: EngineParams = defaultParams(),
  opts: { processWebhooks?: boolean; verifyWebhook?: WebhookVerifier; prior?: RefinerModel | null } = {},
): Promise<Learning | undefined> {
  const c = config.learning;
  if (!c.enabled) return undefined;
  const where = redactDbUrl(c.db);
  let store: LearningStore;
  try {
    store = await openStore(c.db, { maxProjects: c.maxProjects, maxCorrectionsPerProject: c.maxCorrections, maxPredictionsPerProject: c.maxPredictions });
  } catch (err) {
    // the driver's message may quote the URL: never log the password
    const why = String((err as Error).message).split(c.db).join(where);
    logger.error(`active learning is off: cannot open ${where} (${why}); set LEARNING_DB to a writable file or a reachable postgres:// URL, or ACTIVE_LEARNING=false`);
    return undefined;
  }
  const log = logger.child({ component: 'learning' });
  const service = new LearningService({
    store,
    logger: log,
    defaults,
    baseVersion: engine.modelVersion,
    versionWith: (p) => engine.versionWith(p),
    minCorrections: c.minCorrections,
    faceLabel: config.faceLabel,
    refreshMs: c.refreshMs,
    prior: priorOr(opts.prior, config),
  });
  // events are confirmed with Label Studio as they leave the inbox, just before they are learned from
  const verify = opts.verifyWebhook;
  const handler = async (e: WebhookEvent): Promise<void> => {
    if (!verify) return service.onWebhook(e);
    const out = await verify(e);
    for (const d of out.dropped) log.warn('webhook annotation dropped', { action: e.action, project: e.projectId, annotation: d.id, reason: d.reason, detail: d.detail });
    if (out.event) await service.onWebhook(out.event);
  };
  const inbox = new WebhookInbox({ store, handler, logger: log });
  // the server drains the inbox; a bulk command only reads and records
  if (opts.processWebhooks !== false) {
    const waiting = await store.countEvents().catch(() => 0);
    if (waiting) logger.info(`active learning: ${waiting} webhook events from before the last stop are processed now`);
    inbox.start();
  }
  logger.info(`active learning: ${store.kind} ${where}, calibration after ${c.minCorrections || 'START_TRAINING only'} corrections`);
  return {
    service,
    store,
    inbox,
    deps: learningDeps(service, inbox, { store, baseVersion: engine.modelVersion, defaults, minCorrections: c.minCorrections }),
    close: async () => {
      await inbox.stop();
      await store.close();
    },
  };
}
