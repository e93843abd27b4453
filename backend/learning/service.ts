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
import { LabelConfigCache, LabelConfigError, type LabelChoice } from '../labelstudio/label-config.js';
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { EngineParams } from '../pipeline/types.js';
import type { FaceRefiner } from '../pipeline/types.js';
import { roundTo } from '../util/num.js';
import { calibratedScore, fitDilate, fitScoreMap, qualityFigures } from './calibrate.js';
import { brushRegions, compareCorrection, idOf, isObj, predictionRecord, type Json, type RecordInput } from './records.js';
import { groupRegions } from './masks.js';
import { asFaceRefiner, parseRefiner, type FitOptions, type RefinerModel } from './refiner.js';
import { SettingsCache } from './settings-cache.js';
import { trainInWorker, type TrainOutcome } from './train-runner.js';
import type { CalibrationRecord, CorrectionRecord, LearningStore, PredictionRecord } from './store.js';

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
  /** The engine's refiner prior: what a project without a refiner of its own gets, so its first refiner must beat it. */
  prior?: RefinerModel | null;
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

export type { RecordInput } from './records.js';

export class LearningService {
  /** Was this calibration fitted on the engine in use? (one made for another engine version is not applied) */
  private isCurrent(cal: CalibrationRecord): boolean {
    return cal.engineVersion === this.opts.baseVersion;
  }

  private readonly store: LearningStore;
  private readonly log: Logger;
  private readonly configs: LabelConfigCache;
  private readonly now: () => number;
  private readonly settings: SettingsCache<ProjectSettings>;
  private readonly fits = new Map<string, { done: Promise<CalibrationRecord | undefined>; again?: string }>();
  private readonly staleSeen = new Set<string>();

  constructor(private readonly opts: LearningOptions) {
    this.store = opts.store;
    this.log = opts.logger;
    this.configs = new LabelConfigCache({ faceLabel: opts.faceLabel });
    this.now = opts.now ?? Date.now;
    const settingsOf = (cal: CalibrationRecord): ProjectSettings | null => this.settingsFrom(cal);
    this.settings = new SettingsCache({ store: this.store, log: this.log, now: this.now, refreshMs: opts.refreshMs ?? 5000, settingsOf });
  }

  /**
   * The project's calibrated settings, or undefined for the defaults. Cached;
   * after refreshMs the calibration's stamp is checked again, so a refit by
   * another replica is used within seconds.
   */
  async projectSettings(projectId: string | undefined): Promise<ProjectSettings | undefined> {
    if (projectId === undefined) return undefined;
    return this.settings.get(projectId);
  }

  private settingsFrom(cal: CalibrationRecord): ProjectSettings | null {
    if (!this.isCurrent(cal)) {
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
    await this.store.putPrediction(predictionRecord(r, this.opts.defaults.dilate, this.now()));
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
    if (!ann || annId === undefined || taskId === undefined || projectId === undefined) {
      this.log.warn('learning: annotation webhook without annotation id, task id or project id: ignored');
      return;
    }
    if (ann.was_cancelled === true) {
      // a skipped task says nothing about our masks
      await this.store.deleteCorrection(annId, projectId);
      return;
    }
    const brush = this.brushOf(body, projectId, annId);
    if (!brush) return;
    const pred = await this.predictionFor(annId, projectId, taskId);
    if (!pred) return;
    const regions = brushRegions(ann, annId, brush, pred);
    if (!Array.isArray(regions)) {
      if (regions.fields) this.log.warn(regions.problem, regions.fields);
      else this.log.warn(regions.problem);
      return;
    }
    const warn = (message: string): void => void this.log.warn(message);
    const record = compareCorrection({ annotation: annId, project: projectId, task: taskId, pred, truths: groupRegions(regions), receivedAt: this.now(), warn });
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

  /** The brush and label of the project's label config, as sent with the webhook; undefined (logged) when missing or unusable. */
  private brushOf(body: Json, projectId: string, annId: string): LabelChoice | undefined {
    const project = isObj(body.project) ? body.project : undefined;
    const xml = typeof project?.label_config === 'string' ? project.label_config : undefined;
    if (!xml) {
      this.log.warn('learning: webhook without project.label_config: ignored', { annotation: annId });
      return undefined;
    }
    try {
      return this.configs.get(xml).brush;
    } catch (err) {
      if (!(err instanceof LabelConfigError)) throw err;
      this.log.warn(`learning: label config unusable: ${err.message}`, { project: projectId });
      return undefined;
    }
  }

  /**
   * The prediction an annotation corrects. An update compares with the
   * prediction the annotation was first compared with, even if the task was
   * re-predicted since (a calibration bumps the version and Label Studio re-predicts).
   */
  private async predictionFor(annId: string, projectId: string, taskId: string): Promise<PredictionRecord | undefined> {
    const earlier = await this.store.getCorrection(annId, projectId);
    const pred = (earlier && (await this.store.getPrediction(projectId, taskId, earlier.modelVersion))) ?? (await this.store.getPrediction(projectId, taskId));
    if (!pred) this.log.info('learning: no prediction of ours recorded for this task: annotation not used', { project: projectId, task: taskId, annotation: annId });
    return pred ?? undefined;
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
    const current = previous && this.isCurrent(previous) ? parseRefiner(previous.refiner) : null;
    const refit = await this.fitRefinerOf(projectId, cs, current ?? this.opts.prior ?? null);
    const refiner = refit?.report.accepted ? refit.model : current;
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
    this.settings.forget(projectId);
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
      refiner: cal?.refiner && this.isCurrent(cal) ? ((cal.report.refiner as Json | null) ?? { accepted: true }) : null,
      training: this.fits.has(projectId),
      min_corrections: this.opts.minCorrections,
    };
  }
}
