// Rows <-> records, shared by the SQLite and the PostgreSQL store so both
// encode the JSON columns the same way.
import type { EngineParams } from '../pipeline/types.js';
import type { CalibrationRecord, CorrectionRecord, FaceCorrection, PredictedFace, PredictionRecord, ScoreMap } from './store.js';

const MAX_KEY = 256;

/** A record the store refuses (a bad key, a NUL): bad input, not worth a retry. */
export class BadRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRecordError';
  }
}

/** Keys are short strings without NUL (PostgreSQL TEXT cannot hold one): a clear error instead of a driver one. */
export function checkKey(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_KEY || v.includes('\0')) {
    const shown = typeof v === 'string' ? `${JSON.stringify(v.slice(0, 40))}${v.length > 40 ? '...' : ''} (${v.length} chars)` : typeof v;
    throw new BadRecordError(`learning store: ${name} must be 1-${MAX_KEY} characters without NUL, got ${shown}`);
  }
  return v;
}

/** Free text columns (JSON columns are escaped by JSON.stringify): no NUL, as PostgreSQL TEXT needs. */
export function noNul(name: string, v: string): string {
  if (typeof v !== 'string' || v.includes('\0')) throw new BadRecordError(`learning store: ${name} must be a string without NUL`);
  return v;
}

/** Faces as JSON with the RLE bytes in base64 (a third of the size of a number list). */
export function facesToJson(faces: readonly PredictedFace[]): string {
  return JSON.stringify(
    faces.map((f) => ({
      score: f.score,
      rle: Buffer.from(f.rle).toString('base64'),
      ...(f.faceSize !== undefined ? { faceSize: f.faceSize } : {}),
      ...(f.sample !== undefined ? { sample: f.sample } : {}),
    })),
  );
}

export function facesFromJson(s: string): PredictedFace[] {
  return (JSON.parse(s) as Array<{ score: number; rle: string; faceSize?: number; sample?: string }>).map((f) => ({
    score: f.score,
    rle: Array.from(Buffer.from(f.rle, 'base64')),
    ...(typeof f.faceSize === 'number' ? { faceSize: f.faceSize } : {}),
    ...(f.sample !== undefined ? { sample: f.sample } : {}),
  }));
}

export interface PredictionRow {
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

export interface CorrectionRow {
  annotation: string;
  project: string;
  task: string;
  model_version: string;
  score: number;
  faces: string;
  false_faces: string;
  missed: number;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  changed: number | boolean;
  received_at: number;
}

export interface CalibrationRow {
  project: string;
  params: string;
  model_version: string;
  engine_version: string;
  score_map: string | null;
  corrections: number;
  fitted_at: number;
  report: string;
  refiner: string | null;
}

export function predictionFromRow(row: PredictionRow): PredictionRecord {
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
    createdAt: Number(row.created_at),
  };
}

export function correctionFromRow(row: CorrectionRow): CorrectionRecord {
  return {
    annotation: row.annotation,
    project: row.project,
    task: row.task,
    modelVersion: row.model_version,
    score: row.score,
    faces: JSON.parse(row.faces) as FaceCorrection[],
    falseFaceScores: JSON.parse(row.false_faces) as number[],
    missed: row.missed,
    changed: row.changed === 1 || row.changed === true,
    receivedAt: Number(row.received_at),
  };
}

export function calibrationFromRow(row: CalibrationRow): CalibrationRecord {
  return {
    project: row.project,
    params: JSON.parse(row.params) as Partial<EngineParams>,
    modelVersion: row.model_version,
    engineVersion: row.engine_version,
    scoreMap: row.score_map ? (JSON.parse(row.score_map) as ScoreMap) : undefined,
    ...(row.refiner !== null ? { refiner: row.refiner } : {}),
    corrections: row.corrections,
    fittedAt: Number(row.fitted_at),
    report: JSON.parse(row.report) as Record<string, unknown>,
  };
}

/** Column values of a prediction, in the order of PREDICTION_COLUMNS. */
export const PREDICTION_COLUMNS = ['project', 'task', 'model_version', 'dilate', 'width', 'height', 'score', 'raw_score', 'faces', 'created_at'] as const;
export function predictionValues(r: PredictionRecord): unknown[] {
  return [
    checkKey('project', r.project),
    checkKey('task', r.task),
    checkKey('model_version', r.modelVersion),
    r.dilate,
    r.width,
    r.height,
    r.score,
    r.rawScore,
    facesToJson(r.faces),
    r.createdAt,
  ];
}

export const CORRECTION_COLUMNS = ['project', 'annotation', 'task', 'model_version', 'score', 'faces', 'false_faces', 'missed', 'changed', 'received_at'] as const;
export function correctionValues(r: CorrectionRecord, changed: (b: boolean) => unknown): unknown[] {
  return [
    checkKey('project', r.project),
    checkKey('annotation', r.annotation),
    checkKey('task', r.task),
    checkKey('model_version', r.modelVersion),
    r.score,
    JSON.stringify(r.faces),
    JSON.stringify(r.falseFaceScores),
    r.missed,
    changed(r.changed),
    r.receivedAt,
  ];
}

export const CALIBRATION_COLUMNS = ['project', 'params', 'model_version', 'engine_version', 'score_map', 'corrections', 'fitted_at', 'report', 'refiner'] as const;
export function calibrationValues(r: CalibrationRecord): unknown[] {
  return [
    checkKey('project', r.project),
    JSON.stringify(r.params),
    checkKey('model_version', r.modelVersion),
    noNul('engineVersion', r.engineVersion),
    r.scoreMap ? JSON.stringify(r.scoreMap) : null,
    r.corrections,
    r.fittedAt,
    JSON.stringify(r.report),
    r.refiner !== undefined ? noNul('refiner', r.refiner) : null,
  ];
}
