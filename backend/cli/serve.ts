// `faceseg serve`: config -> logger, metrics, models, engine -> HTTP server.
import { buildEngine, buildWebhookVerifier, loadConfig } from '../compose.js';
import { configWarnings } from '../config.js';
import { createApp } from '../http/app.js';
import { startServer } from '../http/server.js';
import { openLearning } from '../learning/index.js';
import { createLogger } from '../logging.js';
import { imageSourceFromConfig } from '../media/image-source.js';
import { createMetrics } from '../metrics.js';

export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const metrics = createMetrics();
  for (const w of configWarnings(config)) logger.warn(w);
  const t0 = performance.now();
  // models load once, before the port opens: /health and /setup never wait on them
  const engine = await buildEngine({ config, logger });
  for (const role of Object.keys(engine.models)) metrics.modelsLoaded.set({ kind: role }, 1);
  logger.info(`engine ready in ${Math.round(performance.now() - t0)} ms: model_version ${engine.modelVersion}, models ${JSON.stringify(engine.models)}, provider ${engine.executionProvider}`);
  const verifyWebhook = buildWebhookVerifier(config);
  const learning = await openLearning(config, logger, engine, undefined, { verifyWebhook });
  const app = createApp({
    config,
    logger,
    metrics,
    engine,
    imageSource: imageSourceFromConfig(config),
    ...learning?.deps,
    verifyWebhook,
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
