// Active learning: record what /predict returned, turn the labelers'
// annotations (webhooks) into corrections, fit per-project parameters and a
// score map, and serve them back to /predict, /setup and /quality.
//
// Why a record of our own predictions: the webhook's task carries no
// predictions (Label Studio serialises the Task model only), and re-running
// the engine would need the image again and could give another answer than
// the one the labeler corrected (new params, new models). The record is what
// the labeler saw, byte for byte.
import { createHash } from 'node:crypto';
import type { Logger } from '../logging.js';
import { LabelConfigCache, LabelConfigError } from '../labelstudio/label-config.js';
import type { Prediction } from '../labelstudio/results.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { EngineParams } from '../pipeline/types.js';
import { calibratedScore, CHANGED_IOU, fitDilate, fitScoreMap, qualityFigures } from './calibrate.js';
import { bestDilate, decodeBrush, groupRegions, iouCurve, matchFaces, type BitMask } from './masks.js';
import type { FaceRefiner } from '../pipeline/types.js';
import { asFaceRefiner, type FitOptions, type RefinerModel } from './refiner.js';
import { decodeSample, encodeTarget, targetInFrame } from './sample-codec.js';
import { trainInWorker, type TrainOutcome } from './train-runner.js';
import type { CalibrationRecord, CorrectionRecord, FaceCorrection, LearningStore, PredictedFace, PredictionRecord } from './store.js';
import { roundTo } from '../util/num.js';

export interface LearningOptions {
  store: LearningStore;
  logger: Logger;
  /** The engine's defaults (what a project without calibration gets). */
  defaults: EngineParams;
  /** The engine's model_version without per-project parameters. */
  baseVersion: string;
  /** model_version for a project's parameters (FaceSegEngine.versionWith). */
  versionWith: (params: Partial<EngineParams>) => string;
  /** Refit after this many new corrections in a project (0 = only on START_TRAINING). */
  minCorrections: number;
  /** FACE_LABEL, as for /predict. */
  faceLabel?: string;
  now?: () => number;
  /** How long a replica trusts its cached calibration before checking the store's stamp (LEARNING_REFRESH_MS). Default 5000. */
  refreshMs?: number;
  /** Refiner fit options (tests make them small). */
  fitOptions?: FitOptions;
}

/** What /predict and /setup use for one project. */
export interface ProjectSettings {
  params: Partial<EngineParams>;
  modelVersion: string;
  /** Maps the engine's prediction score to the calibrated one. */
  score?: (raw: number) => number;
  /** The project's mask refiner, learned from its corrections. */
  refiner?: FaceRefiner;
}

export interface RecordInput {
  projectId: string;
  taskId: string | number;
  prediction: Prediction;
  /** Prediction score before score calibration. */
  rawScore: number;
  /** Parameters the engine ran with (overrides only). */
  params: Partial<EngineParams>;
  width: number;
  height: number;
  /** Per face, in the order of the prediction's brush regions: the engine's face size and encoded FaceSample. */
  faces?: { faceSize?: number; sample?: string }[];
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown): string | undefined => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : isObj(v) ? idOf(v.id) : undefined);

/** A project's settings as last read, with the calibration's fittedAt they came from. */
interface CachedSettings {
  settings: ProjectSettings | null;
  stamp: number | undefined;
  checkedAt: number;
}

/** Projects whose settings are cached (the least recently read go first). */
const CACHE_PROJECTS = 1000;

export class LearningService {
  private readonly store: LearningStore;
  private readonly log: Logger;
  private readonly configs: LabelConfigCache;
  private readonly now: () => number;
  private readonly cache = new Map<string, CachedSettings>();
  private readonly loading = new Map<string, Promise<ProjectSettings | undefined>>();
  private readonly refreshMs: number;
  private readonly fits = new Map<string, { done: Promise<CalibrationRecord | undefined>; again?: string }>();
  private readonly staleSeen = new Set<string>();

  constructor(private readonly opts: LearningOptions) {
    this.store = opts.store;
    this.log = opts.logger;
    this.configs = new LabelConfigCache({ faceLabel: opts.faceLabel });
    this.now = opts.now ?? Date.now;
    this.refreshMs = opts.refreshMs ?? 5000;
  }

  /**
   * The project's calibrated settings, or undefined for the defaults. Cached;
   * after refreshMs the calibration's stamp is checked again, so a refit by
   * another replica is used within seconds.
   */
  async projectSettings(projectId: string | undefined): Promise<ProjectSettings | undefined> {
    if (projectId === undefined) return undefined;
    const hit = this.cache.get(projectId);
    if (hit && this.now() - hit.checkedAt < this.refreshMs) return hit.settings ?? undefined;
    let loading = this.loading.get(projectId);
    if (!loading) {
      loading = this.reload(projectId, hit).finally(() => this.loading.delete(projectId));
      this.loading.set(projectId, loading);
    }
    return loading;
  }

  private async reload(projectId: string, hit: CachedSettings | undefined): Promise<ProjectSettings | undefined> {
    try {
      let stamp = await this.store.calibrationStamp(projectId);
      let settings = hit?.settings ?? null;
      if (!hit || stamp !== hit.stamp) {
        const cal = stamp === undefined ? undefined : await this.store.getCalibration(projectId);
        settings = cal ? this.settingsFrom(cal) : null;
        stamp = cal?.fittedAt;
      }
      this.cache.delete(projectId);
      this.cache.set(projectId, { settings, stamp, checkedAt: this.now() });
      if (this.cache.size > CACHE_PROJECTS) this.cache.delete(this.cache.keys().next().value!);
      return settings ?? undefined;
    } catch (err) {
      // the store is unreachable: keep predicting with what we had
      this.log.warn(`learning: reading the calibration failed, using the last one read: ${(err as Error).message}`, { project: projectId });
      return hit?.settings ?? undefined;
    }
  }

  private settingsFrom(cal: CalibrationRecord): ProjectSettings | null {
    if (cal.engineVersion !== this.opts.baseVersion) {
      // fitted for another engine: its parameters and refiner describe other masks; refit once
      if (!this.staleSeen.has(cal.project)) {
        this.staleSeen.add(cal.project);
        this.log.info('learning: calibration made for another engine version: defaults until refitted', { project: cal.project, fittedFor: cal.engineVersion });
        void this.scheduleFit(cal.project, 'engine_changed');
      }
      return null;
    }
    const refiner = parseRefiner(cal.refiner);
    if (Object.keys(cal.params).length === 0 && !cal.scoreMap && !refiner) return null;
    const map = cal.scoreMap;
    return {
      params: cal.params,
      modelVersion: cal.modelVersion,
      score: map ? (raw) => calibratedScore(map, raw) : undefined,
      ...(refiner ? { refiner: asFaceRefiner(refiner) } : {}),
    };
  }

  /** Keep what we predicted for a task (called by /predict, not for interactive calls). */
  async recordPrediction(r: RecordInput): Promise<void> {
    const faces: PredictedFace[] = [];
    for (const region of r.prediction.result) {
      if (region.type !== 'brushlabels') continue;
      const extra = r.faces?.[faces.length];
      faces.push({
        score: region.score,
        rle: region.value.rle,
        ...(extra?.faceSize !== undefined ? { faceSize: extra.faceSize } : {}),
        ...(extra?.sample !== undefined ? { sample: extra.sample } : {}),
      });
    }
    await this.store.putPrediction({
      project: r.projectId,
      task: String(r.taskId),
      modelVersion: r.prediction.model_version,
      dilate: r.params.dilate ?? this.opts.defaults.dilate,
      width: r.width,
      height: r.height,
      score: r.prediction.score,
      rawScore: r.rawScore,
      faces,
      createdAt: this.now(),
    });
  }

  async onWebhook(event: WebhookEvent): Promise<void> {
    const body = event.body as Json;
    const projectId = idOf(body.project);
    switch (event.action as string) {
      case 'ANNOTATION_CREATED':
      case 'ANNOTATION_UPDATED':
        await this.onAnnotation(body, projectId);
        return;
      case 'ANNOTATIONS_CREATED': {
        // bulk: annotation and task are lists
        const anns = Array.isArray(body.annotation) ? body.annotation : [];
        const tasks = Array.isArray(body.task) ? (body.task as unknown[]) : [];
        for (const a of anns) {
          const task = tasks.find((t) => isObj(t) && isObj(a) && idOf(t) === idOf(a.task));
          await this.onAnnotation({ ...body, annotation: a, task }, projectId);
        }
        return;
      }
      case 'ANNOTATIONS_DELETED':
      case 'ANNOTATION_DELETED': {
        const list = Array.isArray(body.annotations) ? body.annotations : body.annotation !== undefined ? [body.annotation] : [];
        if (projectId === undefined) {
          // deletes are scoped to the project they name
          if (list.length) this.log.warn('learning: delete webhook without project id: ignored');
          return;
        }
        for (const a of list) {
          const id = idOf(a);
          if (id === undefined) continue;
          if (await this.store.deleteCorrection(id, projectId)) this.log.info('learning: correction removed', { project: projectId, annotation: id });
        }
        return;
      }
      case 'START_TRAINING':
        // Label Studio waits at most 100 s; training runs on in the background
        if (projectId !== undefined) void this.scheduleFit(projectId, 'start_training');
        return;
      default:
        return;
    }
  }

  private async onAnnotation(body: Json, projectId: string | undefined): Promise<void> {
    const ann = isObj(body.annotation) ? body.annotation : undefined;
    const annId = idOf(ann?.id);
    const taskId = idOf(ann?.task) ?? idOf(body.task);
    const project = isObj(body.project) ? body.project : undefined;
    if (!ann || annId === undefined || taskId === undefined || projectId === undefined) {
      this.log.warn('learning: annotation webhook without annotation id, task id or project id: ignored');
      return;
    }
    if (ann.was_cancelled === true) {
      // a skipped task says nothing about our masks
      await this.store.deleteCorrection(annId, projectId);
      return;
    }
    const xml = typeof project?.label_config === 'string' ? project.label_config : undefined;
    if (!xml) {
      this.log.warn('learning: webhook without project.label_config: ignored', { annotation: annId });
      return;
    }
    let brush;
    try {
      brush = this.configs.get(xml).brush;
    } catch (err) {
      if (err instanceof LabelConfigError) {
        this.log.warn(`learning: label config unusable: ${err.message}`, { project: projectId });
        return;
      }
      throw err;
    }
    // an update compares with the prediction the annotation was first compared with, even if the
    // task was re-predicted since (a calibration bumps the version and Label Studio re-predicts)
    const earlier = await this.store.getCorrection(annId, projectId);
    const pred = (earlier && (await this.store.getPrediction(projectId, taskId, earlier.modelVersion))) ?? (await this.store.getPrediction(projectId, taskId));
    if (!pred) {
      this.log.info('learning: no prediction of ours recorded for this task: annotation not used', { project: projectId, task: taskId, annotation: annId });
      return;
    }
    const regions: BitMask[] = [];
    for (const item of Array.isArray(ann.result) ? ann.result : []) {
      if (!isObj(item) || item.type !== 'brushlabels' || item.from_name !== brush.fromName) continue;
      const v = isObj(item.value) ? item.value : {};
      const labels = Array.isArray(v.brushlabels) ? v.brushlabels : [];
      if (!labels.includes(brush.label) || v.format !== 'rle' || !Array.isArray(v.rle)) continue;
      const w = typeof item.original_width === 'number' ? item.original_width : pred.width;
      const h = typeof item.original_height === 'number' ? item.original_height : pred.height;
      if (w !== pred.width || h !== pred.height) {
        this.log.warn('learning: annotation image size differs from the predicted one: ignored', { annotation: annId, size: `${w}x${h}`, predicted: `${pred.width}x${pred.height}` });
        return;
      }
      try {
        const m = decodeBrush(v.rle as number[], w, h);
        if (m) regions.push(m);
      } catch (err) {
        this.log.warn(`learning: bad brush RLE in annotation ${annId}: ${(err as Error).message}`);
        return;
      }
    }
    const record = this.compare(annId, projectId, taskId, pred, groupRegions(regions));
    await this.store.putCorrection(record);
    this.log.info('learning: correction stored', {
      project: projectId,
      annotation: annId,
      matched: record.faces.length,
      missed: record.missed,
      false: record.falseFaceScores.length,
      iou: record.faces.map((f) => f.iou),
    });
    await this.maybeCalibrate(projectId);
  }

  private compare(annId: string, projectId: string, taskId: string, pred: PredictionRecord, gts: BitMask[]): CorrectionRecord {
    const decoded = pred.faces.map((f) => decodeBrush(f.rle, pred.width, pred.height));
    const kept = decoded.map((m, i) => ({ m, i })).filter((x): x is { m: BitMask; i: number } => x.m !== undefined);
    const { matches, falseFaces, missed } = matchFaces(
      kept.map((k) => k.m),
      gts,
    );
    const faces: FaceCorrection[] = matches.map((mt) => {
      const p = kept[mt.pred].m;
      const face = pred.faces[kept[mt.pred].i];
      // the engine's own face size when it was recorded; the estimate from the mask is ~30 % off on some photos
      const curve = iouCurve(p, gts[mt.gt], pred.dilate, pred.width, pred.height, face.faceSize);
      const best = bestDilate(curve);
      return { score: face.score, iou: roundTo(mt.iou, 4), bestDilate: best.dilate, bestIou: roundTo(best.iou, 4), curve, ...this.refinerPair(face.sample, gts[mt.gt]) };
    });
    return {
      annotation: annId,
      project: projectId,
      task: taskId,
      modelVersion: pred.modelVersion,
      score: pred.rawScore,
      faces,
      falseFaceScores: falseFaces.map((i) => pred.faces[kept[i].i].score),
      missed: missed.length,
      changed: falseFaces.length > 0 || missed.length > 0 || faces.some((f) => f.iou < CHANGED_IOU),
      receivedAt: this.now(),
    };
  }

  /** The refiner's input and target for one corrected face; nothing when the sample is missing or damaged. */
  private refinerPair(sample: string | undefined, gt: BitMask): { sample?: string; target?: string } {
    if (sample === undefined) return {};
    try {
      return { sample, target: encodeTarget(targetInFrame(decodeSample(sample), gt)) };
    } catch (err) {
      this.log.warn(`learning: unusable face sample in a prediction record: ${(err as Error).message}`);
      return {};
    }
  }

  private async maybeCalibrate(projectId: string): Promise<void> {
    const min = this.opts.minCorrections;
    if (min <= 0) return;
    const n = await this.store.countCorrections(projectId);
    const last = (await this.store.getCalibration(projectId))?.corrections ?? 0;
    if (n >= min && Math.abs(n - last) >= min) void this.scheduleFit(projectId, 'corrections');
  }

  /**
   * One fit at a time per project: a request while one runs makes it run once
   * more afterwards (with the corrections that arrived meanwhile).
   */
  scheduleFit(projectId: string, reason: string): Promise<CalibrationRecord | undefined> {
    const running = this.fits.get(projectId);
    if (running) {
      running.again = reason;
      return running.done;
    }
    const entry: { done: Promise<CalibrationRecord | undefined>; again?: string } = { done: Promise.resolve(undefined) };
    entry.done = (async () => {
      let rec: CalibrationRecord | undefined;
      let why: string | undefined = reason;
      while (why !== undefined) {
        entry.again = undefined;
        try {
          rec = await this.calibrate(projectId, why);
        } catch (err) {
          this.log.error(`learning: fitting project ${projectId} failed: ${(err as Error).message}`, { project: projectId, reason: why });
        }
        why = entry.again;
      }
      this.fits.delete(projectId);
      return rec;
    })();
    this.fits.set(projectId, entry);
    return entry.done;
  }

  /** Resolves when no fit of the project is running (tests, shutdown). */
  async idle(projectId: string): Promise<void> {
    await this.fits.get(projectId)?.done;
  }

  /**
   * Fit the project's parameters, score map and mask refiner on its stored
   * corrections. model_version changes only when the masks do (a dilate, a
   * new refiner kept); a refitted score map keeps it.
   */
  async calibrate(projectId: string, reason = 'manual'): Promise<CalibrationRecord> {
    const t0 = performance.now();
    const cs = await this.store.listCorrections(projectId);
    const defaults = this.opts.defaults;
    const fit = fitDilate(cs, defaults.dilate);
    let params: Partial<EngineParams> = fit.dilate !== defaults.dilate ? { dilate: fit.dilate } : {};
    const scoreMap = fitScoreMap(cs.map((c) => ({ score: c.score, changed: c.changed }))) ?? undefined;
    const previous = await this.store.getCalibration(projectId);
    const current = previous && previous.engineVersion === this.opts.baseVersion ? parseRefiner(previous.refiner) : null;
    const refit = await this.fitRefinerOf(projectId, cs, current);
    const refiner = refit?.model ?? current;
    // a refiner redraws the masks, so a dilate would no longer mean anything
    if (refiner) params = {};
    let modelVersion = Object.keys(params).length ? this.opts.versionWith(params) : this.opts.baseVersion;
    if (refiner) modelVersion += `-r${createHash('sha256').update(JSON.stringify(refiner.net)).digest('hex').slice(0, 8)}`;
    const rec: CalibrationRecord = {
      project: projectId,
      params,
      modelVersion,
      engineVersion: this.opts.baseVersion,
      scoreMap,
      ...(refiner ? { refiner: JSON.stringify(refiner) } : {}),
      corrections: cs.length,
      fittedAt: this.now(),
      report: {
        reason,
        faces: fit.faces,
        defaultDilate: defaults.dilate,
        fittedDilate: fit.dilate,
        meanIouDefault: roundTo(fit.meanIouDefault, 4),
        meanIouFitted: roundTo(fit.meanIouFitted, 4),
        refiner: refit ? { ...refit.report, peakRssMb: refit.peakRssMb } : ((previous?.report.refiner as Json | undefined) ?? null),
        ms: Math.round(performance.now() - t0),
      },
    };
    await this.store.putCalibration(rec);
    this.cache.delete(projectId);
    this.log.info('learning: project calibrated', { project: projectId, params, modelVersion, ...rec.report });
    return rec;
  }

  /** Train a refiner candidate on the corrected faces (worker thread); undefined when there is nothing to train on. */
  private async fitRefinerOf(projectId: string, cs: readonly CorrectionRecord[], current: RefinerModel | null): Promise<TrainOutcome | undefined> {
    const faces = cs.flatMap((c) => c.faces.filter((f) => f.sample && f.target).map((f) => ({ sample: f.sample!, target: f.target!, group: c.task })));
    if (faces.length === 0) return undefined;
    try {
      const out = await trainInWorker({ faces, current, ...(this.opts.fitOptions ? { options: this.opts.fitOptions } : {}) });
      this.log.info(`learning: refiner ${out.report.accepted ? 'kept' : 'not kept'}: ${out.report.reason}`, { project: projectId, ...out.report });
      return out;
    } catch (err) {
      // a failed fit keeps what the project had
      this.log.error(`learning: refiner training failed: ${(err as Error).message}`, { project: projectId });
      return undefined;
    }
  }

  /** What GET /projects/:id/quality returns. */
  async quality(projectId: string): Promise<Json> {
    const cs = await this.store.listCorrections(projectId);
    const cal = await this.store.getCalibration(projectId);
    const settings = await this.projectSettings(projectId);
    return {
      project: projectId,
      model_version: settings?.modelVersion ?? this.opts.baseVersion,
      params: { ...this.opts.defaults, ...(settings?.params ?? {}) },
      calibrated_params: settings?.params ?? {},
      figures: qualityFigures(cs),
      calibration: cal
        ? { fitted_at: new Date(cal.fittedAt).toISOString(), corrections: cal.corrections, model_version: cal.modelVersion, engine_version: cal.engineVersion, score_map: cal.scoreMap ?? null, ...cal.report }
        : null,
      refiner: cal?.refiner && cal.engineVersion === this.opts.baseVersion ? ((cal.report.refiner as Json | null) ?? { accepted: true }) : null,
      training: this.fits.has(projectId),
      min_corrections: this.opts.minCorrections,
    };
  }
}

/** A stored refiner, or null when there is none or it does not parse (then the engine's masks are used). */
function parseRefiner(text: string | undefined): RefinerModel | null {
  if (!text) return null;
  try {
    const m = JSON.parse(text) as RefinerModel;
    return m.kind === 'faceseg-refiner' && m.version === 1 ? m : null;
  } catch {
    return null;
  }
}
