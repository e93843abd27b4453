// The store of what active learning needs: what we predicted per task, the
// labelers' corrections per annotation, each project's calibration (and
// refiner), and the inbox of acknowledged webhooks not yet processed.
//
// Two implementations with the same behaviour: SQLite (store-sqlite.ts, the
// embedded default, one machine) and PostgreSQL (store-postgres.ts, for
// replicas on several machines), chosen by the form of LEARNING_DB. Every
// write is one transaction, so a crash never leaves half a record; caps keep
// what anonymous webhooks can add bounded, the oldest dropped first.
import type { EngineParams } from '../pipeline/types.js';
import type { IouCurve } from './masks.js';

export { BadRecordError } from './store-codec.js';

/** One face we predicted: its score and the brush RLE the labeler saw. */
export interface PredictedFace {
  score: number;
  rle: number[];
  /** The engine's face size in pixels (the unit of dilate), when recorded. */
  faceSize?: number;
  /** Opaque per-face data for the refiner (base64, up to ~60 kB). */
  sample?: string;
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
  /** Opaque refiner input for this face (base64, up to ~60 kB). */
  sample?: string;
  /** Opaque refiner target: the labeler's mask in the face's frame (base64, up to ~60 kB). */
  target?: string;
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
  /** The engine version this was fitted for ('' = unknown, from before it was recorded): another one means stale. */
  engineVersion: string;
  scoreMap?: ScoreMap;
  /** Opaque serialized per-project refiner (JSON/base64, up to a few hundred kB). */
  refiner?: string;
  /** Number of corrections the fit saw. */
  corrections: number;
  fittedAt: number;
  /** Figures of the fit (mean IoU before/after, ...), for /quality. */
  report: Record<string, unknown>;
}

/** One acknowledged webhook waiting in the inbox. */
export interface InboxEvent {
  id: number;
  /** The event as given to putEvent (JSON text). */
  event: string;
  /** How many times it was taken, this time included. */
  attempts: number;
  receivedAt: number;
}

export interface StoreOptions {
  /** Projects with stored data; past it the least recently written project is dropped whole. Default 1000. */
  maxProjects?: number;
  /** Corrections kept per project, the oldest dropped first. Default 2000. */
  maxCorrectionsPerProject?: number;
  /** Prediction records kept per project, the oldest dropped first. Default 20000. */
  maxPredictionsPerProject?: number;
  /**
   * Trim a project's predictions to the cap on every Nth insert by this store
   * object (the trim walks the project's index), so a project holds at most
   * cap + N - 1 per replica. Default 50; 1 = exact.
   */
  predictionTrimEvery?: number;
  /** Unprocessed inbox events; putEvent throws InboxFullError past it. Default 10000. */
  maxInboxEvents?: number;
  /** Bytes of unprocessed inbox events; putEvent throws InboxFullError past it. Default 256 MiB. */
  maxInboxBytes?: number;
  /** How long takeEvents claims events for this store object (touchEvents renews). Default 30 s. */
  inboxLeaseMs?: number;
  /** Clock for project recency and inbox leases (tests). */
  now?: () => number;
  /** PostgreSQL: how long to keep retrying the first connection. Default 30 s. */
  connectTimeoutMs?: number;
}

export type ResolvedStoreOptions = Required<Omit<StoreOptions, 'now'>> & { now: () => number };

export const STORE_DEFAULTS: Omit<ResolvedStoreOptions, 'now'> = {
  maxProjects: 1000,
  maxCorrectionsPerProject: 2000,
  maxPredictionsPerProject: 20000,
  predictionTrimEvery: 50,
  maxInboxEvents: 10000,
  maxInboxBytes: 256 * 1024 ** 2,
  inboxLeaseMs: 30_000,
  connectTimeoutMs: 30_000,
};

/** Counts inserts per project; says when the Nth since the last trim (or the first) comes. */
export class TrimSchedule {
  private readonly since = new Map<string, number>();
  constructor(private readonly every: number) {}
  due(project: string): boolean {
    const n = this.since.get(project);
    if (n !== undefined && n + 1 < this.every) {
      this.since.set(project, n + 1);
      return false;
    }
    // bounded: forgetting a project only means an early trim
    if (this.since.size >= 10_000) this.since.clear();
    this.since.set(project, 0);
    return true;
  }
}

export function resolveStoreOptions(o: StoreOptions = {}): ResolvedStoreOptions {
  const r = { ...STORE_DEFAULTS, now: Date.now } as ResolvedStoreOptions;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  for (const k of Object.keys(STORE_DEFAULTS) as Array<keyof typeof STORE_DEFAULTS>) {
    if (!Number.isFinite(r[k]) || r[k] < 1) throw new Error(`store option ${k} must be a positive number, got ${r[k]}`);
  }
  return r;
}

/** putEvent past maxInboxEvents or maxInboxBytes: the caller answers 503. */
export class InboxFullError extends Error {
  constructor(
    readonly events: number,
    readonly bytes: number,
  ) {
    super(`the webhook inbox is full (${events} events, ${bytes} bytes waiting): try again later`);
    this.name = 'InboxFullError';
  }
}

/**
 * What active learning keeps. Every method is async; every write commits before
 * its promise resolves. Keys (project, task, annotation, model version) are
 * strings of at most 256 characters without NUL (a clear error otherwise).
 */
export interface LearningStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it lives, without any password (for logs). */
  readonly location: string;
  close(): Promise<void>;

  /**
   * One record per (project, task, model_version): a task re-predicted after a
   * calibration keeps the record its earlier annotation was corrected from.
   * Older versions beyond the last `keep` of a task are dropped.
   */
  putPrediction(r: PredictionRecord, keep?: number): Promise<void>;
  /** The record of that model_version, or the task's latest when modelVersion is not given. */
  getPrediction(project: string, task: string, modelVersion?: string): Promise<PredictionRecord | undefined>;

  /** Insert or replace (keyed by project and annotation): repeated webhooks change nothing. */
  putCorrection(r: CorrectionRecord): Promise<void>;
  /** Remove one annotation's correction in that project; true when there was one. */
  deleteCorrection(annotation: string, project: string): Promise<boolean>;
  getCorrection(annotation: string, project: string): Promise<CorrectionRecord | undefined>;
  /** Oldest first. */
  listCorrections(project: string): Promise<CorrectionRecord[]>;
  countCorrections(project: string): Promise<number>;

  putCalibration(r: CalibrationRecord): Promise<void>;
  getCalibration(project: string): Promise<CalibrationRecord | undefined>;
  /** fittedAt of the project's calibration: a cheap "did another replica refit?" check. */
  calibrationStamp(project: string): Promise<number | undefined>;
  deleteCalibration(project: string): Promise<void>;

  /** Projects with stored data, most recently written first. */
  listProjects(): Promise<string[]>;

  /** Commit an acknowledged webhook (JSON text); returns its id. Throws InboxFullError when full. */
  putEvent(event: string): Promise<number>;
  /**
   * Claim up to `limit` events, oldest first, for inboxLeaseMs. Only one store
   * object consumes at a time (events of one annotation stay in order); an
   * expired claim (a crashed consumer) is taken over.
   */
  takeEvents(limit: number): Promise<InboxEvent[]>;
  /** Renew this store object's claim on events still being processed. */
  touchEvents(ids: readonly number[]): Promise<void>;
  /** The event is processed: remove it. */
  doneEvent(id: number): Promise<void>;
  /** Unprocessed events, claimed or not. */
  countEvents(): Promise<number>;
}

/** `postgres://` or `postgresql://` selects PostgreSQL; anything else is a SQLite path (or ':memory:'). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL or path with any password replaced by ***. */
export function redactDbUrl(url: string): string {
  if (!isPostgresUrl(url)) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Open (and create or migrate) the store at a SQLite path, ':memory:', or a postgres:// URL. */
export async function openStore(url: string, opts: StoreOptions = {}): Promise<LearningStore> {
  const o = resolveStoreOptions(opts);
  if (isPostgresUrl(url)) {
    const { PostgresStore } = await import('./store-postgres.js');
    return PostgresStore.open(url, o);
  }
  const { SqliteStore } = await import('./store-sqlite.js');
  return new SqliteStore(url, o);
}
