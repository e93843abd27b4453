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
import type { CalibrationRecord, CorrectionRecord, FaceCorrection, LearningStore, PredictedFace } from './store.js';

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
}

/** What /predict and /setup use for one project. */
export interface ProjectSettings {
  params: Partial<EngineParams>;
  modelVersion: string;
  /** Maps the engine's prediction score to the calibrated one. */
  score?: (raw: number) => number;
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
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown): string | undefined => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : isObj(v) ? idOf(v.id) : undefined);
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export class LearningService {
  private readonly store: LearningStore;
  private readonly log: Logger;
  private readonly configs: LabelConfigCache;
  private readonly now: () => number;
  private readonly cache = new Map<string, ProjectSettings | null>();

  constructor(private readonly opts: LearningOptions) {
    this.store = opts.store;
    this.log = opts.logger;
    this.configs = new LabelConfigCache({ faceLabel: opts.faceLabel });
    this.now = opts.now ?? Date.now;
  }

  /** The project's calibrated settings, or undefined for the defaults. */
  projectSettings(projectId: string | undefined): ProjectSettings | undefined {
    if (projectId === undefined) return undefined;
    let hit = this.cache.get(projectId);
    if (hit === undefined) {
      const cal = this.store.getCalibration(projectId);
      hit = cal ? this.settingsFrom(cal) : null;
      this.cache.set(projectId, hit);
    }
    return hit ?? undefined;
  }

  private settingsFrom(cal: CalibrationRecord): ProjectSettings | null {
    if (Object.keys(cal.params).length === 0 && !cal.scoreMap) return null;
    const map = cal.scoreMap;
    return { params: cal.params, modelVersion: cal.modelVersion, score: map ? (raw) => calibratedScore(map, raw) : undefined };
  }

  /** Keep what we predicted for a task (called by /predict, not for interactive calls). */
  recordPrediction(r: RecordInput): void {
    const faces: PredictedFace[] = [];
    for (const region of r.prediction.result) {
      if (region.type === 'brushlabels') faces.push({ score: region.score, rle: region.value.rle });
    }
    this.store.putPrediction({
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
        this.onAnnotation(body, projectId);
        return;
      case 'ANNOTATIONS_CREATED': {
        // bulk: annotation and task are lists
        const anns = Array.isArray(body.annotation) ? body.annotation : [];
        const tasks = Array.isArray(body.task) ? (body.task as unknown[]) : [];
        for (const a of anns) {
          const task = tasks.find((t) => isObj(t) && isObj(a) && idOf(t) === idOf(a.task));
          this.onAnnotation({ ...body, annotation: a, task }, projectId);
        }
        return;
      }
      case 'ANNOTATIONS_DELETED':
      case 'ANNOTATION_DELETED': {
        const list = Array.isArray(body.annotations) ? body.annotations : body.annotation !== undefined ? [body.annotation] : [];
        for (const a of list) {
          const id = idOf(a);
          if (id === undefined) continue;
          const project = this.store.deleteCorrection(id);
          if (project !== undefined) this.log.info('learning: correction removed', { project, annotation: id });
        }
        return;
      }
      case 'START_TRAINING':
        if (projectId !== undefined) this.calibrate(projectId, 'start_training');
        return;
      default:
        return;
    }
  }

  private onAnnotation(body: Json, projectId: string | undefined): void {
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
      this.store.deleteCorrection(annId);
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
    const earlier = this.store.getCorrection(annId);
    const pred = (earlier && this.store.getPrediction(projectId, taskId, earlier.modelVersion)) ?? this.store.getPrediction(projectId, taskId);
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
    this.store.putCorrection(record);
    this.log.info('learning: correction stored', {
      project: projectId,
      annotation: annId,
      matched: record.faces.length,
      missed: record.missed,
      false: record.falseFaceScores.length,
      iou: record.faces.map((f) => f.iou),
    });
    this.maybeCalibrate(projectId);
  }

  private compare(annId: string, projectId: string, taskId: string, pred: NonNullable<ReturnType<LearningStore['getPrediction']>>, gts: BitMask[]): CorrectionRecord {
    const decoded = pred.faces.map((f) => decodeBrush(f.rle, pred.width, pred.height));
    const kept = decoded.map((m, i) => ({ m, i })).filter((x): x is { m: BitMask; i: number } => x.m !== undefined);
    const { matches, falseFaces, missed } = matchFaces(
      kept.map((k) => k.m),
      gts,
    );
    const faces: FaceCorrection[] = matches.map((mt) => {
      const p = kept[mt.pred].m;
      const curve = iouCurve(p, gts[mt.gt], pred.dilate, pred.width, pred.height);
      const best = bestDilate(curve);
      return { score: pred.faces[kept[mt.pred].i].score, iou: r4(mt.iou), bestDilate: best.dilate, bestIou: r4(best.iou), curve };
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

  private maybeCalibrate(projectId: string): void {
    const min = this.opts.minCorrections;
    if (min <= 0) return;
    const n = this.store.countCorrections(projectId);
    const last = this.store.getCalibration(projectId)?.corrections ?? 0;
    if (n >= min && Math.abs(n - last) >= min) this.calibrate(projectId, 'corrections');
  }

  /** Fit the project's parameters and score map on its stored corrections. */
  calibrate(projectId: string, reason = 'manual'): CalibrationRecord {
    const t0 = performance.now();
    const cs = this.store.listCorrections(projectId);
    const defaults = this.opts.defaults;
    const fit = fitDilate(cs, defaults.dilate);
    const params: Partial<EngineParams> = fit.dilate !== defaults.dilate ? { dilate: fit.dilate } : {};
    const scoreMap = fitScoreMap(cs.map((c) => ({ score: c.score, changed: c.changed }))) ?? undefined;
    let modelVersion = Object.keys(params).length ? this.opts.versionWith(params) : this.opts.baseVersion;
    if (scoreMap) modelVersion += `-s${createHash('sha256').update(JSON.stringify(scoreMap)).digest('hex').slice(0, 6)}`;
    const rec: CalibrationRecord = {
      project: projectId,
      params,
      modelVersion,
      scoreMap,
      corrections: cs.length,
      fittedAt: this.now(),
      report: {
        reason,
        faces: fit.faces,
        defaultDilate: defaults.dilate,
        fittedDilate: fit.dilate,
        meanIouDefault: r4(fit.meanIouDefault),
        meanIouFitted: r4(fit.meanIouFitted),
        ms: Math.round(performance.now() - t0),
      },
    };
    this.store.putCalibration(rec);
    this.cache.delete(projectId);
    this.log.info('learning: project calibrated', { project: projectId, params, modelVersion, ...rec.report });
    return rec;
  }

  /** What GET /projects/:id/quality returns. */
  quality(projectId: string): Json {
    const cs = this.store.listCorrections(projectId);
    const cal = this.store.getCalibration(projectId);
    const settings = this.projectSettings(projectId);
    return {
      project: projectId,
      model_version: settings?.modelVersion ?? this.opts.baseVersion,
      params: { ...this.opts.defaults, ...(settings?.params ?? {}) },
      calibrated_params: settings?.params ?? {},
      figures: qualityFigures(cs),
      calibration: cal
        ? { fitted_at: new Date(cal.fittedAt).toISOString(), corrections: cal.corrections, model_version: cal.modelVersion, score_map: cal.scoreMap ?? null, ...cal.report }
        : null,
      min_corrections: this.opts.minCorrections,
    };
  }
}
