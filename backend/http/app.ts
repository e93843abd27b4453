// The express app of the Label Studio ML backend protocol: middleware (auth,
// request ids, body limits, error mapping) and the routes in ./routes. What a
// prediction does is the model object's (backend/model); the face engine and
// the image source are injected, so this folder knows no ONNX model.
import express from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { FaceEngine, RgbImage } from '../pipeline/types.js';
import type { WebhookVerifier } from '../labelstudio/webhook-verifier.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { ImageSource } from '../media/image-source.js';
import type { LearningHooks } from '../learning/app-hooks.js';
import { decodeImage, probeImage } from '../media/decode.js';
import { FaceSegModel } from '../model/faceseg-model.js';
import type { TaskImageReader } from '../model/task-images.js';
import { basicAuthButWebhook } from './auth.js';
import { ByteBudget } from './byte-budget.js';
import { errorHandler, notFound } from './errors.js';
import { keyCounter } from './json-keys.js';
import { ProjectLabelConfigs } from './project-configs.js';
import { RecentFailures } from './recent-failures.js';
import { requestLog } from './request-log.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { predictRoute } from './routes/predict.js';
import { qualityRoute } from './routes/quality.js';
import { setupRoute } from './routes/setup.js';
import { teamPageRoute } from './routes/ui.js';
import { webhookRoute } from './routes/webhook.js';
import type { TaskTally } from './task-report.js';
import { WorkQueue } from './work-queue.js';
import { EnginePool } from '../engine-pool.js';

export { MODEL_CLASS } from './routes/health.js';
export { reasonPhrase } from './errors.js';

/** The app's collaborators; active learning's optional hooks come from LearningHooks. */
export interface AppDeps extends LearningHooks {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  engine: FaceEngine;
  imageSource: ImageSource;
  /** Image decoder (defaults to sharp via decodeImage with config limits). */
  decode?: (bytes: Buffer) => Promise<RgbImage>;
  /** How many tasks' images to fetch and decode ahead of the one being segmented. Default 2. */
  prefetch?: number;
  /** The bounded queue in front of the engine (defaults to one built from config.queue). */
  queue?: WorkQueue;
  /** The model object (setup / predict / fit; its fit gets the webhooks); built from engine and the learning hooks when absent. */
  model?: FaceSegModel;
  /** Confirms annotation webhooks with Label Studio before the model's fit sees them (compose.ts buildWebhookVerifier). */
  verifyWebhook?: WebhookVerifier;
  /** Memory budget for decoded images across requests (defaults to one of DECODED_IMAGE_BUDGET_BYTES). */
  imageBudget?: ByteBudget;
  /** Told after a non-interactive /predict answered predictions of `modelVersion` for a project (model version sync). */
  onPredictionsSent?: (projectId: string, modelVersion: string, tasks: number) => void;
  /** The last task failures, shown on the team page (default: a ring of 50). */
  failures?: RecentFailures;
  /** The refiner prior served (REFINER_PRIOR), shown on the team page. */
  refinerPrior?: { id: string; faces: number };
}

export function createApp(deps: AppDeps): express.Express {
  const { config, logger, metrics, engine } = deps;
  const limits = config.limits;
  const model =
    deps.model ??
    new FaceSegModel(engine, { projectSettings: deps.projectSettings, recordPrediction: deps.onPredicted, onWebhook: deps.onWebhook }, logger);
  const queue = deps.queue ?? queueFromConfig(config, metrics);
  const configs = new ProjectLabelConfigs(config.faceLabel);
  const tally: TaskTally = { ok: 0, failed: 0, failures: deps.failures ?? new RecentFailures(50) };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(helmet());
  app.use(requestLog(logger, metrics));
  if (config.basicAuth) app.use(basicAuthButWebhook(config.basicAuth.user, config.basicAuth.pass));
  // before the JSON parser below: /webhook checks its secret before the body is read, and has its own body limit
  webhookRoute(app, { secret: config.webhook.secret, limits, model, inbox: deps.webhookInbox, verify: deps.verifyWebhook });
  // JSON bodies whatever the content type (Label Studio sends application/json)
  app.use(express.json({ limit: limits.maxBodyBytes, type: () => true, strict: true, verify: keyCounter(limits.maxJsonKeys, 'request body') }));

  healthRoutes(app, engine);
  teamPageRoute(app, { engine, queue, tally, startedAt: Date.now(), teamSummary: deps.teamSummary, ...(deps.refinerPrior ? { prior: deps.refinerPrior } : {}) });
  metricsRoute(app, metrics);
  setupRoute(app, model, configs);
  predictRoute(app, {
    limits,
    configs,
    model,
    queue,
    images: imageReader(deps),
    prefetch: Math.max(0, deps.prefetch ?? 2),
    // engine worker threads: one task more than the queue runs at once waits for its turn (the main-thread engine gains nothing)
    ahead: engine instanceof EnginePool ? 1 : 0,
    metrics,
    tally,
    onPredictionsSent: deps.onPredictionsSent,
  });
  if (deps.projectQuality) qualityRoute(app, deps.projectQuality);

  app.use(notFound);
  app.use(errorHandler(limits, logger));
  return app;
}

function queueFromConfig(config: Config, metrics: Metrics): WorkQueue {
  return new WorkQueue({
    concurrency: config.queue.engineConcurrency,
    maxQueue: config.queue.maxLength,
    callerTimeoutMs: config.queue.predictTimeoutMs,
    registry: metrics.registry,
  });
}

/** How /predict reads task images: the image source, the decoder, the shared memory budget, stage timings. */
function imageReader(deps: AppDeps): TaskImageReader {
  const limits = deps.config.limits;
  return {
    source: deps.imageSource,
    decode: deps.decode ?? ((bytes) => decodeImage(bytes, { maxPixels: limits.maxImagePixels, timeoutMs: limits.decodeTimeoutMs })),
    // decoded bytes an image will take, from its header; an injected decoder is not budgeted
    measure: deps.decode
      ? async () => 0
      : async (bytes) => {
          const p = await probeImage(bytes, { maxPixels: limits.maxImagePixels });
          return p.width * p.height * 3;
        },
    budget: deps.imageBudget ?? new ByteBudget(limits.decodedImageBudgetBytes),
    observe: (stage, ms) => deps.metrics.stageSeconds.observe({ stage }, ms / 1000),
  };
}
