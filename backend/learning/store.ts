// SQLite store of what active learning needs: what we predicted per task, the
// labelers' corrections per annotation, and each project's calibration.
// better-sqlite3 is synchronous; every write is one statement or one
// transaction, so a crash never leaves half a record.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EngineParams } from '../pipeline/types.js';
import type { IouCurve } from './masks.js';

/** One face we predicted: its score and the brush RLE the labeler saw. */
export interface PredictedFace {
  score: number;
  rle: number[];
}

export interface PredictionRecord {
  project: string;
  task: string;
  modelVersion: string;
  /** The dilate the masks were made with. */
  dilate: number;
  width: number;
  height: number;
  /** Prediction-level score as sent (after any score calibration). */
  score: number;
  /** Prediction-level score before score calibration. */
  rawScore: number;
  faces: PredictedFace[];
  createdAt: number;
}

export interface FaceCorrection {
  /** Our face score. */
  score: number;
  /** IoU of our mask with the labeler's. */
  iou: number;
  /** Dilate that would have maximised this face's IoU, and that IoU. */
  bestDilate: number;
  bestIou: number;
  curve: IouCurve;
}

export interface CorrectionRecord {
  annotation: string;
  project: string;
  task: string;
  /** model_version of the prediction the labeler corrected. */
  modelVersion: string;
  /** Prediction-level raw score of that prediction. */
  score: number;
  /** Matched faces. */
  faces: FaceCorrection[];
  /** Scores of the faces we predicted that the labeler removed. */
  falseFaceScores: number[];
  /** Faces the labeler drew that we did not predict. */
  missed: number;
  /** Did the labeler change anything (a mask, a removed or an added face)? */
  changed: boolean;
  receivedAt: number;
}

/** Piecewise-linear map from raw score to P(labeler changes the prediction). */
export interface ScoreMap {
  /** Increasing raw scores. */
  x: number[];
  /** P(change) at each x (non-increasing). */
  p: number[];
}

export interface CalibrationRecord {
  project: string;
  /** Parameters that differ from the defaults; {} = defaults. */
  params: Partial<EngineParams>;
  modelVersion: string;
  scoreMap?: ScoreMap;
  /** Number of corrections the fit saw. */
  corrections: number;
  fittedAt: number;
  /** Figures of the fit (mean IoU before/after, ...), for /quality. */
  report: Record<string, unknown>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  project TEXT NOT NULL,
  task TEXT NOT NULL,
  model_version TEXT NOT NULL,
  dilate REAL NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  score REAL NOT NULL,
  raw_score REAL NOT NULL,
  faces TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (project, task, model_version)
);
CREATE TABLE IF NOT EXISTS corrections (
  annotation TEXT PRIMARY KEY,
  project TEXT NOT NULL,
  task TEXT NOT NULL,
  model_version TEXT NOT NULL,
  score REAL NOT NULL,
  faces TEXT NOT NULL,
  false_faces TEXT NOT NULL,
  missed INTEGER NOT NULL,
  changed INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_project ON corrections (project);
CREATE TABLE IF NOT EXISTS calibrations (
  project TEXT PRIMARY KEY,
  params TEXT NOT NULL,
  model_version TEXT NOT NULL,
  score_map TEXT,
  corrections INTEGER NOT NULL,
  fitted_at INTEGER NOT NULL,
  report TEXT NOT NULL
);
`;

interface PredictionRow {
  project: string;
  task: string;
  model_version: string;
  dilate: number;
  width: number;
  height: number;
  score: number;
  raw_score: number;
  faces: string;
  created_at: number;
}

interface CorrectionRow {
  annotation: string;
  project: string;
  task: string;
  model_version: string;
  score: number;
  faces: string;
  false_faces: string;
  missed: number;
  changed: number;
  received_at: number;
}

interface CalibrationRow {
  project: string;
  params: string;
  model_version: string;
  score_map: string | null;
  corrections: number;
  fitted_at: number;
  report: string;
}

/** Faces as JSON with the RLE bytes in base64 (a third of the size of a number list). */
function facesToJson(faces: readonly PredictedFace[]): string {
  return JSON.stringify(faces.map((f) => ({ score: f.score, rle: Buffer.from(f.rle).toString('base64') })));
}

function facesFromJson(s: string): PredictedFace[] {
  return (JSON.parse(s) as Array<{ score: number; rle: string }>).map((f) => ({ score: f.score, rle: Array.from(Buffer.from(f.rle, 'base64')) }));
}

function correctionFromRow(row: CorrectionRow): CorrectionRecord {
  return {
    annotation: row.annotation,
    project: row.project,
    task: row.task,
    modelVersion: row.model_version,
    score: row.score,
    faces: JSON.parse(row.faces) as FaceCorrection[],
    falseFaceScores: JSON.parse(row.false_faces) as number[],
    missed: row.missed,
    changed: row.changed === 1,
    receivedAt: row.received_at,
  };
}

/** Bump when the tables change (PRAGMA user_version); 1 = first release. */
const SCHEMA_VERSION = 1;

export class LearningStore {
  private readonly db: Database.Database;

  /** `file` = a path, or ':memory:' for tests. Creates the folder and the tables. */
  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    const found = this.db.pragma('user_version', { simple: true }) as number;
    if (found > SCHEMA_VERSION) throw new Error(`${file} was written by a newer version (schema ${found}, this one reads ${SCHEMA_VERSION})`);
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * One record per (project, task, model_version): a task re-predicted after a
   * calibration keeps the record its earlier annotation was corrected from.
   * Older versions beyond the last `keep` of a task are dropped.
   */
  putPrediction(r: PredictionRecord, keep = 3): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO predictions (project, task, model_version, dilate, width, height, score, raw_score, faces, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.project, r.task, r.modelVersion, r.dilate, r.width, r.height, r.score, r.rawScore, facesToJson(r.faces), r.createdAt);
    this.db
      .prepare(
        `DELETE FROM predictions WHERE project = ? AND task = ? AND model_version NOT IN
           (SELECT model_version FROM predictions WHERE project = ? AND task = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
      )
      .run(r.project, r.task, r.project, r.task, keep);
  }

  /** The record of that model_version, or the task's latest when modelVersion is not given. */
  getPrediction(project: string, task: string, modelVersion?: string): PredictionRecord | undefined {
    const row = (
      modelVersion !== undefined
        ? this.db.prepare('SELECT * FROM predictions WHERE project = ? AND task = ? AND model_version = ?').get(project, task, modelVersion)
        : this.db.prepare('SELECT * FROM predictions WHERE project = ? AND task = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(project, task)
    ) as PredictionRow | undefined;
    if (!row) return undefined;
    return {
      project: row.project,
      task: row.task,
      modelVersion: row.model_version,
      dilate: row.dilate,
      width: row.width,
      height: row.height,
      score: row.score,
      rawScore: row.raw_score,
      faces: facesFromJson(row.faces),
      createdAt: row.created_at,
    };
  }

  /** Insert or replace (keyed by annotation id): repeated webhooks change nothing. */
  putCorrection(r: CorrectionRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO corrections (annotation, project, task, model_version, score, faces, false_faces, missed, changed, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.annotation, r.project, r.task, r.modelVersion, r.score, JSON.stringify(r.faces), JSON.stringify(r.falseFaceScores), r.missed, r.changed ? 1 : 0, r.receivedAt);
  }

  /** Remove one annotation's correction; returns its project, or undefined when there was none. */
  deleteCorrection(annotation: string): string | undefined {
    const row = this.db.prepare('DELETE FROM corrections WHERE annotation = ? RETURNING project').get(annotation) as { project: string } | undefined;
    return row?.project;
  }

  listCorrections(project: string): CorrectionRecord[] {
    const rows = this.db.prepare('SELECT * FROM corrections WHERE project = ? ORDER BY received_at, annotation').all(project) as CorrectionRow[];
    return rows.map(correctionFromRow);
  }

  getCorrection(annotation: string): CorrectionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM corrections WHERE annotation = ?').get(annotation) as CorrectionRow | undefined;
    return row ? correctionFromRow(row) : undefined;
  }

  /** Projects with predictions, corrections or a calibration, most recently active first (for the team page). */
  listProjects(limit = 100): string[] {
    const rows = this.db
      .prepare(
        `SELECT project, MAX(t) AS t FROM (
           SELECT project, MAX(created_at) AS t FROM predictions GROUP BY project
           UNION ALL SELECT project, MAX(received_at) FROM corrections GROUP BY project
           UNION ALL SELECT project, fitted_at FROM calibrations
         ) GROUP BY project ORDER BY t DESC LIMIT ?`,
      )
      .all(limit) as Array<{ project: string }>;
    return rows.map((r) => r.project);
  }

  countCorrections(project: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM corrections WHERE project = ?').get(project) as { n: number }).n;
  }

  putCalibration(r: CalibrationRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO calibrations (project, params, model_version, score_map, corrections, fitted_at, report)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.project, JSON.stringify(r.params), r.modelVersion, r.scoreMap ? JSON.stringify(r.scoreMap) : null, r.corrections, r.fittedAt, JSON.stringify(r.report));
  }

  getCalibration(project: string): CalibrationRecord | undefined {
    const row = this.db.prepare('SELECT * FROM calibrations WHERE project = ?').get(project) as CalibrationRow | undefined;
    if (!row) return undefined;
    return {
      project: row.project,
      params: JSON.parse(row.params) as Partial<EngineParams>,
      modelVersion: row.model_version,
      scoreMap: row.score_map ? (JSON.parse(row.score_map) as ScoreMap) : undefined,
      corrections: row.corrections,
      fittedAt: row.fitted_at,
      report: JSON.parse(row.report) as Record<string, unknown>,
    };
  }

  deleteCalibration(project: string): void {
    this.db.prepare('DELETE FROM calibrations WHERE project = ?').run(project);
  }
}
