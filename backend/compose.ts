// The composition root: the one place that turns configuration into a running
// engine and server. Nothing else reads the environment.
import { loadConfig, type Config } from './config.js';
import { EnginePool } from './engine-pool.js';
import { loadModelSet } from './models/index.js';
import { DEFAULT_SETTINGS, FaceSegEngine, type EngineSettings } from './pipeline/engine.js';
import type { Logger } from 'winston';
import { resolveProvider } from './models/sessions.js';
import { LabelStudioAuth } from './labelstudio/api-client.js';
import { ProjectClient } from './labelstudio/project-client.js';
import { createWebhookVerifier, type WebhookVerifier } from './labelstudio/webhook-verifier.js';
import { asFaceRefiner, type RefinerModel } from './learning/refiner.js';
import { priorId, priorOr } from './learning/refiner-prior.js';

export interface EngineBuildOptions {
  config: Config;
  logger?: Logger;
  settings?: Partial<EngineSettings>;
  /** The refiner prior already read (null: none); undefined reads REFINER_PRIOR. Read once, so every worker and the learning service use the same one. */
  prior?: RefinerModel | null;
}

export async function buildEngine(opts: EngineBuildOptions): Promise<FaceSegEngine> {
  const { config, logger } = opts;
  // a bad prior file fails before the models load (tens of seconds on a GPU)
  const prior = priorOr(opts.prior, opts.config);
  const models = await loadModelSet({
    manifestPath: config.modelsManifest,
    ...(config.faceParser ? { overrides: { 'face-segmenter': config.faceParser } } : {}),
    provider: resolveProvider(config.executionProvider, logger),
    threads: config.ortThreads || undefined,
    logger,
  });
  return new FaceSegEngine(
    { keypoints: models.keypoints, faceDetector: models.faceDetector, faceLandmarks: models.faceLandmarks, faceSegmenter: models.faceSegmenter },
    { fingerprint: models.fingerprint, provider: models.provider, settings: { ...DEFAULT_SETTINGS, ...settingsOf(config), ...(opts.settings ?? {}) }, onClose: () => models.close(),
      models: Object.fromEntries(Object.entries(models.entries).map(([role, e]) => [role, e?.id ?? ''])),
      ...(prior ? { prior: { refiner: asFaceRefiner(prior), id: priorId(prior) } } : {}),
    },
  );
}

/** The engine settings the environment changes from their defaults (ALWAYS_TILE, BEARD); model_version follows them. */
function settingsOf(config: Config): Partial<EngineSettings> {
  return { ...(config.alwaysTile ? { alwaysTile: true } : {}), ...(config.beard !== 'include' ? { beard: config.beard } : {}) };
}

/**
 * The engine as the server runs it: `workers` engine worker threads (default
 * ENGINE_WORKERS), or the engine on the main thread when that is 0.
 */
export async function buildServerEngine(opts: EngineBuildOptions & { workers?: number }): Promise<FaceSegEngine | EnginePool> {
  const workers = opts.workers ?? opts.config.engineWorkers;
  const prior = priorOr(opts.prior, opts.config);
  return workers > 0 ? EnginePool.start({ ...opts, prior, workers }) : buildEngine({ ...opts, prior });
}

/** The webhook verifier (annotations confirmed with Label Studio's API), when WEBHOOK_VERIFY is on. */
export function buildWebhookVerifier(config: Config): WebhookVerifier | undefined {
  if (!config.webhook.verify) return undefined;
  if (!config.labelStudioUrl || !config.labelStudioApiKey) {
    // verification asked for but impossible: drop every annotation event rather than learn from unchecked ones
    return async (event) =>
      event.action === 'START_TRAINING'
        ? { event, dropped: [] }
        : { dropped: [{ id: undefined, reason: 'label_studio_error', detail: 'WEBHOOK_VERIFY needs LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY' }] };
  }
  const auth = new LabelStudioAuth({ baseUrl: config.labelStudioUrl, apiKey: config.labelStudioApiKey });
  const client = new ProjectClient({ baseUrl: config.labelStudioUrl, auth, retries: 2, backoffMs: 300, timeoutMs: 10_000 });
  return createWebhookVerifier({ client });
}

export { loadConfig };
