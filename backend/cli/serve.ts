// `faceseg serve`: config -> logger, metrics, models, engine -> HTTP server.
import { buildServerEngine, buildWebhookVerifier, loadConfig } from '../compose.js';
import { configWarnings, unreachableWarning, type Config } from '../config.js';
import { createApp } from '../http/app.js';
import { startServer } from '../http/server.js';
import { LabelStudioAuth } from '../labelstudio/api-client.js';
import { ModelVersionSync } from '../labelstudio/model-version-sync.js';
import { ProjectClient } from '../labelstudio/project-client.js';
import { openLearning } from '../learning/index.js';
import { configuredPrior, priorId } from '../learning/refiner-prior.js';
import { createLogger, type Logger } from '../logging.js';
import { imageSourceFromConfig } from '../media/image-source.js';
import { createMetrics } from '../metrics.js';

/** GET LABEL_STUDIO_URL/health once; any HTTP answer counts as reachable. */
async function checkLabelStudio(config: Config, logger: Logger): Promise<void> {
  if (!config.labelStudioUrl) return;
  try {
    await fetch(`${config.labelStudioUrl.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(3000), redirect: 'manual' });
  } catch (err) {
    const e = err as { cause?: { code?: string }; name?: string; message?: string };
    logger.warn(unreachableWarning(config, e.cause?.code ?? (e.name === 'TimeoutError' ? 'no answer in 3 s' : (e.message ?? 'error'))));
  }
}

/** Sets each project's model_version to our predictions' (see model-version-sync.ts); needs the API key. */
function versionSync(config: Config, logger: Logger): ModelVersionSync | undefined {
  if (!config.labelStudioUrl || !config.labelStudioApiKey) return undefined;
  const client = new ProjectClient({
    baseUrl: config.labelStudioUrl,
    auth: new LabelStudioAuth({ baseUrl: config.labelStudioUrl, apiKey: config.labelStudioApiKey }),
    retries: 1,
    timeoutMs: 30_000,
  });
  return new ModelVersionSync({ client, logger: logger.child({ component: 'version-sync' }) });
}

export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const metrics = createMetrics();
  for (const w of configWarnings(config)) logger.warn(w);
  const lsCheck = checkLabelStudio(config, logger);
  const t0 = performance.now();
  // models load once, before the port opens: /health and /setup never wait on them
  // read once: the engine workers and the learning service must use the same prior
  const prior = configuredPrior(config);
  const engine = await buildServerEngine({ config, logger, prior });
  for (const role of Object.keys(engine.models)) metrics.modelsLoaded.set({ kind: role }, 1);
  logger.info(`engine ready in ${Math.round(performance.now() - t0)} ms: model_version ${engine.modelVersion}, models ${JSON.stringify(engine.models)}, provider ${engine.executionProvider}`);
  if (config.beard === 'exclude') logger.info('BEARD=exclude: beard and stubble are left out of the masks (colour decides there as elsewhere)');
  if (config.alwaysTile) logger.info('ALWAYS_TILE: every photo of 1216 px or more is also searched on full-resolution tiles (slower; finds crowds behind people)');
  if (prior) {
    const limits = { minYaw: prior.minYaw, minFaceSize: prior.minFaceSize, maxGrow: prior.maxGrow, chinLimit: prior.chinLimit };
    logger.info(`refiner prior ${config.refinerPrior} (id ${priorId(prior)}, fitted on ${prior.examples} corrected faces, limits ${JSON.stringify(limits)}): the masks of every project without a refiner of its own`);
  }
  await lsCheck;
  const verifyWebhook = buildWebhookVerifier(config);
  const learning = await openLearning(config, logger, engine, undefined, { verifyWebhook, prior });
  const sync = versionSync(config, logger);
  const app = createApp({
    config,
    logger,
    metrics,
    engine,
    imageSource: imageSourceFromConfig(config),
    ...learning?.deps,
    verifyWebhook,
    ...(prior ? { refinerPrior: { id: priorId(prior), faces: prior.examples } } : {}),
    ...(sync ? { onPredictionsSent: (project: string, version: string, tasks: number) => sync.notify(Number(project), version, tasks) } : {}),
  });
  const running = await startServer(app, {
    host: config.host,
    port: config.port,
    logger,
    exitOnShutdown: true,
    shutdownGraceMs: config.shutdownGraceMs,
    onShutdown: async () => {
      await engine.close();
      await learning?.close();
    },
  });
  void running;
}
