// The embedded store: one SQLite file (better-sqlite3, synchronous), safe for
// several processes on one machine (WAL, busy timeout, BEGIN IMMEDIATE for
// read-modify-write), not over a network file system.
//
// Durability: in WAL mode every commit survives kill -9. Inbox commits (an
// acknowledged webhook) run with synchronous=FULL, so they also survive power
// loss; the other writes use NORMAL (no fsync per commit: a /predict task
// would otherwise block the event loop for a disk flush, and at worst a power
// cut loses the last few prediction records, which costs nothing but a
// skipped correction).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  CALIBRATION_COLUMNS,
  calibrationFromRow,
  calibrationValues,
  CORRECTION_COLUMNS,
  correctionFromRow,
  correctionValues,
  PREDICTION_COLUMNS,
  predictionFromRow,
  predictionValues,
  type CalibrationRow,
  type CorrectionRow,
  type PredictionRow,
} from './store-codec.js';
import {
  InboxFullError,
  TrimSchedule,
  type CalibrationRecord,
  type CorrectionRecord,
  type InboxEvent,
  type LearningStore,
  type PredictionRecord,
  type ResolvedStoreOptions,
} from './store.js';

/** PRAGMA user_version: 1 = first release (corrections keyed by annotation alone), 2 = this one. */
export const SQLITE_SCHEMA_VERSION = 2;

const CORRECTIONS_TABLE = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  project TEXT NOT NULL,
  annotation TEXT NOT NULL,
  task TEXT NOT NULL,
  model_version TEXT NOT NULL,
  score REAL NOT NULL,
  faces TEXT NOT NULL,
  false_faces TEXT NOT NULL,
  missed INTEGER NOT NULL,
  changed INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (project, annotation)
);`;

// small columns before the large ones: a row's large TEXT spills to overflow pages that scans then skip
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
CREATE INDEX IF NOT EXISTS predictions_age ON predictions (project, created_at);
${CORRECTIONS_TABLE('corrections')}
CREATE INDEX IF NOT EXISTS corrections_age ON corrections (project, received_at, annotation);
CREATE TABLE IF NOT EXISTS calibrations (
  project TEXT PRIMARY KEY,
  params TEXT NOT NULL,
  model_version TEXT NOT NULL,
  score_map TEXT,
  corrections INTEGER NOT NULL,
  fitted_at INTEGER NOT NULL,
  report TEXT NOT NULL,
  engine_version TEXT NOT NULL DEFAULT '',
  refiner TEXT
);
CREATE TABLE IF NOT EXISTS projects (
  project TEXT PRIMARY KEY,
  last_seen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_seen ON projects (last_seen);
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  event TEXT NOT NULL
);
`;

/** Schema 1 -> 2: calibrations gain engine_version and refiner; corrections are keyed by (project, annotation); projects are listed. */
const MIGRATE_1_TO_2 = `
ALTER TABLE calibrations ADD COLUMN engine_version TEXT NOT NULL DEFAULT '';
ALTER TABLE calibrations ADD COLUMN refiner TEXT;
${CORRECTIONS_TABLE('corrections_v2')}
INSERT OR REPLACE INTO corrections_v2 (${CORRECTION_COLUMNS.join(', ')}) SELECT ${CORRECTION_COLUMNS.join(', ')} FROM corrections;
DROP TABLE corrections;
ALTER TABLE corrections_v2 RENAME TO corrections;
`;

const FILL_PROJECTS = `
INSERT OR IGNORE INTO projects (project, last_seen)
  SELECT project, MAX(t) FROM (
    SELECT project, created_at AS t FROM predictions
    UNION ALL SELECT project, received_at FROM corrections
    UNION ALL SELECT project, fitted_at FROM calibrations
  ) GROUP BY project;
`;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteStore implements LearningStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly owner = randomUUID();
  private readonly trims: TrimSchedule;
  /** Statements by SQL text, prepared once: /predict records a prediction per task on the event loop. */
  private readonly statements = new Map<string, Database.Statement>();

  /** `file` = a path (its folder is created), or ':memory:'. Creates or migrates the tables. */
  constructor(
    readonly file: string,
    private readonly o: ResolvedStoreOptions,
  ) {
    this.location = file;
    this.trims = new TrimSchedule(o.predictionTrimEvery);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      // immediate: two processes opening an old file at once migrate it once
      this.db
        .transaction(() => {
          const found = this.db.pragma('user_version', { simple: true }) as number;
          if (found > SQLITE_SCHEMA_VERSION) {
            throw new Error(`${file} was written by a newer version (schema ${found}, this one reads ${SQLITE_SCHEMA_VERSION})`);
          }
          if (found === 1) this.db.exec(MIGRATE_1_TO_2);
          this.db.exec(SCHEMA);
          if (found < SQLITE_SCHEMA_VERSION) {
            this.db.exec(FILL_PROJECTS);
            this.db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
          }
        })
        .immediate();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The prepared statement of `text` (a fixed set of texts: table and column names come from constants). */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Run fn in one BEGIN IMMEDIATE transaction (a writer lock from the start: no upgrade deadlock between processes). */
  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Note a write to `project`; a new project past maxProjects drops the least recently written ones whole. */
  private touchProject(project: string): void {
    const now = this.o.now();
    const added = this.sql('INSERT OR IGNORE INTO projects (project, last_seen) VALUES (?, ?)').run(project, now).changes === 1;
    if (!added) {
      this.sql('UPDATE projects SET last_seen = MAX(last_seen, ?) WHERE project = ?').run(now, project);
      return;
    }
    const n = (this.sql('SELECT COUNT(*) AS n FROM projects').get() as { n: number }).n;
    if (n <= this.o.maxProjects) return;
    const victims = this.db
      .prepare('SELECT project FROM projects WHERE project <> ? ORDER BY last_seen, project LIMIT ?')
      .all(project, n - this.o.maxProjects) as Array<{ project: string }>;
    for (const v of victims) this.dropProject(v.project);
  }

  private dropProject(project: string): void {
    for (const table of ['projects', 'predictions', 'corrections', 'calibrations']) {
      this.sql(`DELETE FROM ${table} WHERE project = ?`).run(project);
    }
  }

  async putPrediction(r: PredictionRecord, keep = 3): Promise<void> {
    const values = predictionValues(r);
    this.tx(() => {
      this.touchProject(r.project);
      this.sql(`INSERT OR REPLACE INTO predictions (${PREDICTION_COLUMNS.join(', ')}) VALUES (${placeholders(values.length)})`).run(...values);
      // the task's few versions through the primary key, sorted here: an ORDER BY would let the
      // planner walk the whole project by age (every row read on each insert)
      const versions = this.sql('SELECT rowid AS id, created_at FROM predictions WHERE project = ? AND task = ?').all(r.project, r.task) as Array<{
        id: number;
        created_at: number;
      }>;
      versions.sort((x, y) => y.created_at - x.created_at || y.id - x.id);
      const drop = this.sql('DELETE FROM predictions WHERE rowid = ?');
      for (const v of versions.slice(Math.max(0, keep))) drop.run(v.id);
      if (!this.trims.due(r.project)) return;
      this.db
        .prepare(
          `DELETE FROM predictions WHERE rowid IN
             (SELECT rowid FROM predictions WHERE project = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
        )
        .run(r.project, this.o.maxPredictionsPerProject);
    });
  }

  async getPrediction(project: string, task: string, modelVersion?: string): Promise<PredictionRecord | undefined> {
    const row = (
      modelVersion !== undefined
        ? this.sql('SELECT * FROM predictions WHERE project = ? AND task = ? AND model_version = ?').get(project, task, modelVersion)
        : this.sql('SELECT * FROM predictions WHERE project = ? AND task = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(project, task)
    ) as PredictionRow | undefined;
    return row ? predictionFromRow(row) : undefined;
  }

  async putCorrection(r: CorrectionRecord): Promise<void> {
    const values = correctionValues(r, (b) => (b ? 1 : 0));
    this.tx(() => {
      this.touchProject(r.project);
      this.sql(`INSERT OR REPLACE INTO corrections (${CORRECTION_COLUMNS.join(', ')}) VALUES (${placeholders(values.length)})`).run(...values);
      this.db
        .prepare(
          `DELETE FROM corrections WHERE project = ? AND annotation IN
             (SELECT annotation FROM corrections WHERE project = ? ORDER BY received_at DESC, annotation DESC LIMIT -1 OFFSET ?)`,
        )
        .run(r.project, r.project, this.o.maxCorrectionsPerProject);
    });
  }

  async deleteCorrection(annotation: string, project: string): Promise<boolean> {
    return this.sql('DELETE FROM corrections WHERE project = ? AND annotation = ?').run(project, annotation).changes > 0;
  }

  async getCorrection(annotation: string, project: string): Promise<CorrectionRecord | undefined> {
    const row = this.sql('SELECT * FROM corrections WHERE project = ? AND annotation = ?').get(project, annotation) as CorrectionRow | undefined;
    return row ? correctionFromRow(row) : undefined;
  }

  async listCorrections(project: string): Promise<CorrectionRecord[]> {
    const rows = this.sql('SELECT * FROM corrections WHERE project = ? ORDER BY received_at, annotation').all(project) as CorrectionRow[];
    return rows.map(correctionFromRow);
  }

  async countCorrections(project: string): Promise<number> {
    return (this.sql('SELECT COUNT(*) AS n FROM corrections WHERE project = ?').get(project) as { n: number }).n;
  }

  async putCalibration(r: CalibrationRecord): Promise<void> {
    const values = calibrationValues(r);
    this.tx(() => {
      this.touchProject(r.project);
      this.sql(`INSERT OR REPLACE INTO calibrations (${CALIBRATION_COLUMNS.join(', ')}) VALUES (${placeholders(values.length)})`).run(...values);
    });
  }

  async getCalibration(project: string): Promise<CalibrationRecord | undefined> {
    const row = this.sql('SELECT * FROM calibrations WHERE project = ?').get(project) as CalibrationRow | undefined;
    return row ? calibrationFromRow(row) : undefined;
  }

  async calibrationStamp(project: string): Promise<number | undefined> {
    const row = this.sql('SELECT fitted_at FROM calibrations WHERE project = ?').get(project) as { fitted_at: number } | undefined;
    return row?.fitted_at;
  }

  async deleteCalibration(project: string): Promise<void> {
    this.sql('DELETE FROM calibrations WHERE project = ?').run(project);
  }

  async listProjects(): Promise<string[]> {
    return (this.sql('SELECT project FROM projects ORDER BY last_seen DESC, project').all() as Array<{ project: string }>).map((r) => r.project);
  }

  async putEvent(event: string): Promise<number> {
    const size = Buffer.byteLength(event);
    // the WAL is flushed to disk before this commit returns: the caller acknowledges the webhook next
    this.db.pragma('synchronous = FULL');
    try {
      return this.tx(() => {
        const held = this.sql('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM inbox').get() as { n: number; bytes: number };
        if (held.n >= this.o.maxInboxEvents || held.bytes + size > this.o.maxInboxBytes) throw new InboxFullError(held.n, held.bytes);
        return Number(this.sql('INSERT INTO inbox (size, received_at, event) VALUES (?, ?, ?)').run(size, this.o.now(), event).lastInsertRowid);
      });
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async takeEvents(limit: number): Promise<InboxEvent[]> {
    const now = this.o.now();
    return this.tx(() => {
      // one consumer at a time: another object's live claim means it is draining
      if (this.sql('SELECT 1 FROM inbox WHERE claimed_until > ? AND owner <> ? LIMIT 1').get(now, this.owner)) return [];
      const rows = this.db
        .prepare('SELECT id FROM inbox WHERE claimed_until <= ? ORDER BY id LIMIT ?')
        .all(now, Math.max(1, Math.floor(limit))) as Array<{ id: number }>;
      const claim = this.sql('UPDATE inbox SET claimed_until = ?, owner = ?, attempts = attempts + 1 WHERE id = ?');
      const read = this.sql('SELECT id, event, attempts, received_at FROM inbox WHERE id = ?');
      return rows.map(({ id }) => {
        claim.run(now + this.o.inboxLeaseMs, this.owner, id);
        const r = read.get(id) as { id: number; event: string; attempts: number; received_at: number };
        return { id: r.id, event: r.event, attempts: r.attempts, receivedAt: r.received_at };
      });
    });
  }

  async touchEvents(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    const until = this.o.now() + this.o.inboxLeaseMs;
    const stmt = this.sql('UPDATE inbox SET claimed_until = ? WHERE id = ? AND owner = ?');
    this.tx(() => {
      for (const id of ids) stmt.run(until, id, this.owner);
    });
  }

  async doneEvent(id: number): Promise<void> {
    this.sql('DELETE FROM inbox WHERE id = ?').run(id);
  }

  async countEvents(): Promise<number> {
    return (this.sql('SELECT COUNT(*) AS n FROM inbox').get() as { n: number }).n;
  }
}
