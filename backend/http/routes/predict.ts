// POST /predict: Label Studio's tasks in, one prediction per task out. The
// route checks the request, admits it to the work queue (503 when it would
// finish past the caller's timeout) and hands the batch to the model object.
import type { Express, Request } from 'express';
import type { Limits } from '../../config.js';
import { describeZodError, PredictRequest } from '../../labelstudio/schemas.js';
import type { Metrics } from '../../metrics.js';
import type { FaceSegModel } from '../../model/faceseg-model.js';
import type { BatchInput } from '../../model/predict-tasks.js';
import { batchImageLoader, type TaskImageReader } from '../../model/task-images.js';
import { HttpError } from '../errors.js';
import { projectKey, type ProjectLabelConfigs } from '../project-configs.js';
import { taskReport, type TaskTally } from '../task-report.js';
import type { WorkQueue } from '../work-queue.js';

export interface PredictDeps {
  limits: Pick<Limits, 'maxTasksPerRequest' | 'maxContextRegions'>;
  configs: ProjectLabelConfigs;
  model: Pick<FaceSegModel, 'modelVersion' | 'predictTasks'>;
  queue: Pick<WorkQueue, 'admit' | 'concurrency'>;
  images: TaskImageReader;
  prefetch: number;
  /** Tasks taken beyond the queue's concurrency, waiting for a turn (BatchOptions.ahead). */
  ahead?: number;
  metrics: Metrics;
  tally: TaskTally;
  /** After a non-interactive answer: the project, its predictions' version and how many tasks the answer held. */
  onPredictionsSent?: (projectId: string, modelVersion: string, tasks: number) => void;
}

export function predictRoute(app: Express, deps: PredictDeps): void {
  app.post('/predict', async (req, res) => {
    const input = await batchInput(req.body, deps);
    const log = req.log;
    // admission: 503 + Retry-After when this work would finish past the caller's timeout
    const ticket = deps.queue.admit(input.tasks.length);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client went away'));
      ticket.release();
    });
    const outcome = await deps.model.predictTasks(input, {
      load: batchImageLoader(deps.images, abort.signal),
      prefetch: deps.prefetch,
      // as many tasks at once as the queue runs engine calls: a 100-task Retrieve Predictions keeps every engine worker busy
      parallel: deps.queue.concurrency,
      // one more task waiting for a turn, its image read: a worker that finishes starts on it while the main thread builds the RLE
      ahead: deps.ahead ?? 0,
      run: (fn) => ticket.run(fn),
      gone: () => abort.signal.aborted,
      report: taskReport(deps.metrics, deps.tally, { log, project: input.project, interactive: input.context !== null }),
    });
    if (outcome.stoppedAt !== undefined) {
      log.warn('client went away: stopping', { done: outcome.stoppedAt, tasks: input.tasks.length });
      return;
    }
    ticket.release();
    res.json({ results: outcome.results });
    if (input.context === null && outcome.predicted > 0) announce(deps, req, input);
  });
}

/** The checked request: its tasks, label config, interactive context and the project's model_version. */
async function batchInput(raw: unknown, deps: PredictDeps): Promise<BatchInput> {
  const parsed = PredictRequest.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
  const body = parsed.data;
  const { limits } = deps;
  if (body.tasks.length > limits.maxTasksPerRequest) {
    throw new HttpError(
      413,
      'too_many_tasks',
      `This request holds ${body.tasks.length} tasks; the limit is MAX_TASKS_PER_REQUEST=${limits.maxTasksPerRequest}. ` +
        'Select fewer tasks, or write predictions for a whole project with the bulk command (faceseg predict-project)',
    );
  }
  const project = projectKey(body.project);
  const cfg = deps.configs.resolve(project, body.label_config);
  const context = body.params?.context?.result ?? null;
  // each interactive region can add engine work (a click outside the found heads adds three crops)
  if (context && context.length > limits.maxContextRegions) {
    throw new HttpError(
      400,
      'too_many_regions',
      `The interactive context holds ${context.length} regions; the limit is MAX_CONTEXT_REGIONS=${limits.maxContextRegions}: remove some clicks`,
    );
  }
  return { project, tasks: body.tasks, cfg, context, modelVersion: await deps.model.modelVersion(project) };
}

/** Tells the model version sync which version a project's predictions now carry. */
function announce(deps: PredictDeps, req: Request, input: BatchInput): void {
  if (input.project === undefined || !/^\d+$/.test(input.project) || !deps.onPredictionsSent) return;
  try {
    deps.onPredictionsSent(input.project, input.modelVersion, input.tasks.length);
  } catch (err) {
    req.log.warn('model version sync failed', { error: (err as Error).message ?? String(err) });
  }
}
