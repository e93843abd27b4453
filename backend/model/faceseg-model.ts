// The model as every way in sees it (the HTTP routes, `faceseg predict`):
// Label Studio's three verbs, setup / predict / fit, over the engine and the
// project's learned state. One place decides which refiner, parameters, score
// map and model_version a project's prediction gets, and records it so the
// labelers' corrections can be learned from, whichever way it was made.
// predictTasks runs a /predict batch (predict-tasks.ts).
import type { ProjectSettings, RecordInput } from '../learning/service.js';
import { encodeSample } from '../learning/sample-codec.js';
import type { FaceLabelConfig } from '../labelstudio/label-config.js';
import { buildPrediction, type Prediction } from '../labelstudio/results.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { Logger } from '../logging.js';
import type { FaceEngine, InteractiveHint, RgbImage, SegmentResult } from '../pipeline/types.js';
import { predictTasks, type BatchInput, type BatchOptions, type BatchOutcome } from './predict-tasks.js';

export interface PredictInput {
  /** Label Studio project id ("12"), when known. */
  project?: string;
  taskId?: string | number | null;
  image: RgbImage;
  cfg: FaceLabelConfig;
  /** Interactive clicks and boxes; such predictions are not recorded. */
  hints?: InteractiveHint[];
  /** Runs the engine call (the HTTP work queue wraps it); default: call it. */
  run?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface PredictOutput {
  prediction: Prediction;
  seg: SegmentResult;
  /** Score before the project's score map. */
  rawScore: number;
}

/** What the model needs of active learning (LearningService implements it). */
export interface LearningPort {
  projectSettings?(projectId: string): Promise<ProjectSettings | undefined>;
  recordPrediction?(r: RecordInput): Promise<void> | void;
  onWebhook?(event: WebhookEvent): Promise<void>;
}

export class FaceSegModel {
  constructor(
    readonly engine: FaceEngine,
    private readonly learning?: LearningPort,
    private readonly log?: Logger,
  ) {}

  private async settings(project: string | undefined): Promise<ProjectSettings | undefined> {
    if (!this.learning?.projectSettings || project === undefined) return undefined;
    try {
      return await this.learning.projectSettings(project);
    } catch (err) {
      // a store outage costs the project its learned settings, not its predictions
      this.log?.warn(`learning store unavailable, predicting with the defaults: ${(err as Error).message}`, { project });
      return undefined;
    }
  }

  /** model_version for a project (its learned masks), or the engine's. */
  async modelVersion(project?: string): Promise<string> {
    return (await this.settings(project))?.modelVersion ?? this.engine.modelVersion;
  }

  /** /setup: nothing to load (models are loaded once per process); answers the project's version. */
  async setup(project?: string): Promise<{ modelVersion: string }> {
    return { modelVersion: await this.modelVersion(project) };
  }

  async predict(input: PredictInput): Promise<PredictOutput> {
    const hints = input.hints ?? [];
    const settings = await this.settings(input.project);
    const record = this.learning?.recordPrediction !== undefined && input.project !== undefined && input.taskId != null && hints.length === 0;
    const run = input.run ?? (<T>(fn: () => Promise<T>) => fn());
    const seg = await run(() =>
      this.engine.segment(input.image, {
        ...(hints.length ? { hints } : {}),
        ...(settings ? { params: settings.params } : {}),
        ...(settings?.refiner ? { refiner: settings.refiner } : {}),
        ...(record ? { captureSamples: true } : {}),
        ...(input.cfg.keypoints ? { headKeypoints: true } : {}),
      }),
    );
    const t0 = performance.now();
    const prediction = buildPrediction(seg, input.cfg, settings?.modelVersion ?? this.engine.modelVersion);
    seg.timings.rle = performance.now() - t0;
    const rawScore = prediction.score;
    if (hints.length === 0 && settings?.score) prediction.score = settings.score(rawScore);
    if (record) {
      try {
        await this.learning!.recordPrediction!({
          projectId: input.project!,
          taskId: input.taskId!,
          prediction,
          rawScore,
          params: settings?.params ?? {},
          width: seg.width,
          height: seg.height,
          faces: seg.faces.map((f) => ({ faceSize: f.faceSize, sample: f.sample ? encodeSample(f.sample) : undefined })),
        });
      } catch (err) {
        this.log?.warn('recording the prediction failed', { taskId: input.taskId, error: (err as Error).message ?? String(err) });
      }
    }
    // samples are for the store, not for callers
    for (const f of seg.faces) delete f.sample;
    return { prediction, seg, rawScore };
  }

  /** A batch of tasks (a /predict request): images read ahead, one prediction per task, an empty one for a task that fails. */
  predictTasks(input: BatchInput, opts: BatchOptions): Promise<BatchOutcome> {
    return predictTasks(this, input, opts);
  }

  /** Whether fit() learns anything (active learning is on). */
  get learns(): boolean {
    return this.learning?.onWebhook !== undefined;
  }

  /** Webhook events (annotations, START_TRAINING). */
  async fit(event: WebhookEvent): Promise<void> {
    await this.learning?.onWebhook?.(event);
  }
}
