// The face engine: locate heads (keypoints + detector), then run every face
// crop of a batch through the face stages (face-stages.ts), paste masks back
// and score them. Each stage is its own module:
//   stage-locate -> [crop -> landmarks -> recentre -> retry -> region -> refine] -> stage-finish (paste, score)
import { createHash } from 'node:crypto';
import { DEFAULT_SETTINGS, type EngineSettings } from './engine-settings.js';
import { FACE_STAGES, runFaceStages } from './face-stages.js';
import type { EnginePorts } from './ports.js';
import { finishImage } from './stage-finish.js';
import type { CropJob } from './stage-landmarks.js';
import { locateHeads, type LocatedImage } from './stage-locate.js';
import type { EngineParams, FaceEngine, FaceRefiner, RgbImage, SegmentOptions, SegmentResult } from './types.js';

export { DEFAULT_SETTINGS, type EngineSettings } from './engine-settings.js';
export { MAX_SEARCHED_CLICKS } from './click-search.js';

/**
 * Bump whenever a change to the engine's code changes its masks or scores: it
 * is part of model_version, so Label Studio re-predicts, bulk runs do not
 * resume on stale predictions, and projects refit what they learned.
 */
export const ENGINE_CODE_VERSION = 15;

/** Every head candidate of the batch as a face job, in image order; a job knows when its image is a tone-mapped copy. */
export function cropJobsOf(located: readonly LocatedImage[]): CropJob[] {
  return located.flatMap((image) => image.candidates.map((candidate) => ({ view: image.view, candidate, settings: image.settings, toneMapped: image.view !== image.image })));
}

function hashSettings(settings: EngineSettings, prior?: string): string {
  return createHash('sha256').update(JSON.stringify({ code: ENGINE_CODE_VERSION, ...settings, ...(prior ? { prior } : {}) })).digest('hex').slice(0, 8);
}

/** The refiner a face gets when its project has none of its own, and its id (part of model_version). */
export interface RefinerPrior {
  refiner: FaceRefiner;
  id: string;
}

export class FaceSegEngine implements FaceEngine {
  readonly modelVersion: string;
  readonly executionProvider: string;
  readonly settings: EngineSettings;
  /** role -> model id, for logs and metrics. */
  readonly models: Record<string, string>;
  readonly prior?: RefinerPrior;

  constructor(
    private readonly ports: EnginePorts,
    opts: { fingerprint: string; provider: string; settings?: Partial<EngineSettings>; onClose?: () => Promise<void>; models?: Record<string, string>; prior?: RefinerPrior },
  ) {
    this.models = opts.models ?? {};
    this.settings = { ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) };
    this.executionProvider = opts.provider;
    this.prior = opts.prior;
    this.modelVersion = FaceSegEngine.versionFor(opts.fingerprint, this.settings, opts.prior?.id);
    this.onClose = opts.onClose;
  }

  private readonly onClose?: () => Promise<void>;

  static versionFor(fingerprint: string, settings: EngineSettings, prior?: string): string {
    return `faceseg-${fingerprint.slice(0, 8)}-${hashSettings(settings, prior)}`;
  }

  /** The version a project gets with its own calibrated parameters. */
  versionWith(params: Partial<EngineParams> | undefined): string {
    return FaceSegEngine.versionWithParams(this.modelVersion, this.settings, params);
  }

  /** versionWith for an engine known by its version and settings (the engine worker pool's). */
  static versionWithParams(modelVersion: string, settings: EngineSettings, params: Partial<EngineParams> | undefined): string {
    if (!params || Object.keys(params).length === 0) return modelVersion;
    return `${modelVersion}-p${hashSettings({ ...settings, ...params })}`;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }

  async segment(image: RgbImage, options: SegmentOptions = {}): Promise<SegmentResult> {
    const [result] = await this.segmentBatch([{ image, options }]);
    return result;
  }

  /**
   * Several images at once (e.g. the tasks of one request): heads are found
   * image by image, then the face crops of all images go through the face
   * models together, so each landmark pass (and the face parser) runs once for the whole batch.
   */
  async segmentBatch(items: readonly { image: RgbImage; options?: SegmentOptions }[]): Promise<SegmentResult[]> {
    const located: LocatedImage[] = [];
    for (const item of items) {
      // a project's own refiner replaces the prior
      const options = { ...item.options, refiner: item.options?.refiner ?? this.prior?.refiner };
      located.push(await locateHeads(this.ports, item.image, options, this.settings));
    }
    const jobs = cropJobsOf(located);
    const stages = await runFaceStages(this.ports, jobs);
    const out: SegmentResult[] = [];
    let first = 0;
    for (const image of located) {
      const count = image.candidates.length;
      const regions = stages.regions.slice(first, first + count);
      first += count;
      // the shared batch's time, split by each image's share of the crops
      for (const stage of FACE_STAGES) image.timings[stage] = jobs.length ? (stages.timings[stage] * count) / jobs.length : 0;
      out.push(await finishImage(image, regions));
    }
    return out;
  }
}

