// One batch of tasks (a /predict request): images are read a few tasks ahead,
// the model predicts the tasks in order, and a task that fails gets an empty
// prediction with a reason instead of failing the batch.
import type { FaceLabelConfig } from '../labelstudio/label-config.js';
import { emptyPrediction, failedVersion, type Prediction } from '../labelstudio/results.js';
import type { ContextRegion, Task } from '../labelstudio/schemas.js';
import type { InteractiveHint } from '../pipeline/types.js';
import type { PredictInput, PredictOutput } from './faceseg-model.js';
import { hintsFromContext } from './interactive-hints.js';
import { TaskError, taskErrorOf } from './task-error.js';
import type { TaskImage, TaskImageLoader } from './task-images.js';

export interface BatchInput {
  /** Label Studio project id ("12"), when known. */
  project?: string;
  tasks: readonly Task[];
  cfg: FaceLabelConfig;
  /** The labeler's interactive regions; null when the request is not interactive. */
  context: readonly ContextRegion[] | null;
  /** model_version of the empty predictions that failed tasks get. */
  modelVersion: string;
}

/** Told how each task went (the server's metrics, log lines and team page). */
export interface TaskReport {
  predicted(task: Task, out: PredictOutput, hints: readonly InteractiveHint[], ms: Record<string, number>): void;
  failed(task: Task, error: TaskError): void;
}

export interface BatchOptions {
  load: TaskImageLoader;
  /** How many tasks' images to read ahead of the one being predicted. */
  prefetch: number;
  /** Tasks predicted at once (engine workers); default 1. Results stay in task order. */
  parallel?: number;
  /**
   * Tasks taken beyond `parallel`, each waiting for its engine turn (in
   * `run`) with its image read; default 0. With engine worker threads, 1: a
   * finished engine call passes its turn straight to the waiting task while
   * the main thread builds the finished one's RLE, instead of the worker
   * idling until then. `run` still bounds the engine calls at once.
   */
  ahead?: number;
  /** Runs each engine call (the HTTP work queue's turn). */
  run: <T>(fn: () => Promise<T>) => Promise<T>;
  /** True once the caller went away: no further task is started. */
  gone: () => boolean;
  report: TaskReport;
}

/** Predictions in task order; or, when the caller went away, how many tasks were done. */
export type BatchOutcome = { results: Prediction[]; predicted: number; stoppedAt?: undefined } | { stoppedAt: number };

/** What the batch needs of the model (FaceSegModel). */
export interface Predictor {
  predict(input: PredictInput): Promise<PredictOutput>;
}

export async function predictTasks(model: Predictor, input: BatchInput, opts: BatchOptions): Promise<BatchOutcome> {
  const { tasks } = input;
  const lanes = Math.max(1, Math.min(Math.floor(opts.parallel ?? 1) + Math.max(0, Math.floor(opts.ahead ?? 0)), tasks.length));
  const pending: Array<Promise<TaskImage> | undefined> = [];
  const results: Prediction[] = new Array<Prediction>(tasks.length);
  let next = 0;
  let predicted = 0;
  let stoppedAt: number | undefined;
  // each lane takes the next task; images are requested in task order, `prefetch` beyond the last one taken
  const lane = async (): Promise<void> => {
    while (next < tasks.length && stoppedAt === undefined) {
      if (opts.gone()) {
        stoppedAt = next;
        return;
      }
      const i = next++;
      for (let j = i; j <= Math.min(tasks.length - 1, i + opts.prefetch); j++) pending[j] ??= opts.load(tasks[j], input.cfg);
      const loaded = await pending[i]!;
      pending[i] = undefined;
      const { prediction, ok } = await predictAt(model, input, i, loaded, opts);
      results[i] = prediction;
      if (ok) predicted++;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  if (stoppedAt !== undefined) {
    for (const p of pending) void p?.then((loaded) => loaded.release?.());
    return { stoppedAt };
  }
  return { results, predicted };
}

/** One task: its prediction, or an empty one with the failure reported. */
async function predictAt(model: Predictor, input: BatchInput, i: number, loaded: TaskImage, opts: BatchOptions): Promise<{ prediction: Prediction; ok: boolean }> {
  const task = input.tasks[i]!;
  try {
    const { out, hints } = await predictOne(model, input, task, loaded, opts.run);
    opts.report.predicted(task, out, hints, loaded.ms);
    return { prediction: out.prediction, ok: true };
  } catch (err) {
    // the caller went away: what fails now is the cancelled batch, not the task (no failure in metrics or on the team page)
    if (!opts.gone()) opts.report.failed(task, taskErrorOf(err, 'internal'));
    return { prediction: emptyPrediction(failedVersion(input.modelVersion)), ok: false };
  } finally {
    loaded.release?.();
  }
}

async function predictOne(model: Predictor, input: BatchInput, task: Task, loaded: TaskImage, run: BatchOptions['run']) {
  if (loaded.error) throw loaded.error;
  const image = loaded.image!;
  const hints = hintsFromContext(input.context, image.width, image.height);
  const out = await predictImage(model, { project: input.project, taskId: task.id, image, cfg: input.cfg, hints, run });
  return { out, hints };
}

/** model.predict, with a failure as TaskError('engine') (the HTTP batch and `faceseg predict` report it so). */
export async function predictImage(model: Predictor, input: PredictInput): Promise<PredictOutput> {
  try {
    return await model.predict(input);
  } catch (err) {
    throw new TaskError('engine', `Face engine failed: ${(err as Error).message ?? String(err)}`);
  }
}
