// The store on PostgreSQL (the `pg` package), for replicas on several
// machines: the database Label Studio deployments already run. Same behaviour
// as store-sqlite.ts; tables are prefixed faceseg_ so a shared database is
// safe, though a database of its own is the plan. Schema set-up runs under an
// advisory lock, so replicas starting together create it once.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
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
  redactDbUrl,
  TrimSchedule,
  type CalibrationRecord,
  type CorrectionRecord,
  type InboxEvent,
  type LearningStore,
  type PredictionRecord,
  type ResolvedStoreOptions,
} from './store.js';
import { PG_SCHEMA } from './store-postgres-schema.js';
import { exponentialDelay, withRetry } from '../util/retry.js';

/** faceseg_meta.schema_version: 1 = first PostgreSQL release (same tables as SQLite schema 2). */
export const PG_SCHEMA_VERSION = 1;

// arbitrary constants for pg_advisory_xact_lock
const LOCK_SCHEMA = 7_241_530_001;
const LOCK_INBOX = 7_241_530_002;

/** Errors worth waiting out at start-up: the server is not up (yet). Bad passwords and missing databases fail at once. */
function transient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', '57P03'].includes(code) || /timeout|terminat/i.test(String((err as Error).message));
}

/** Deadlock or serialization failure: the transaction is retried. */
const retryable = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string }).code ?? '');

const list = (cols: readonly string[]) => cols.join(', ');
const params = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
const updateAll = (cols: readonly string[], key: readonly string[]) =>
  cols
    .filter((c) => !key.includes(c))
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ');

type Q = Pick<pg.PoolClient, 'query'>;

export class PostgresStore implements LearningStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly owner = randomUUID();
  private readonly trims: TrimSchedule;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly o: ResolvedStoreOptions,
    url: string,
  ) {
    this.location = redactDbUrl(url);
    this.trims = new TrimSchedule(o.predictionTrimEvery);
  }

  /** Connect (retrying while the server is not up, up to connectTimeoutMs) and create the tables. */
  static async open(url: string, o: ResolvedStoreOptions): Promise<PostgresStore> {
    const int8AsNumber = (oid: number, format?: string) =>
      oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
      application_name: 'faceseg',
      types: { getTypeParser: int8AsNumber } as unknown as pg.CustomTypesConfig,
    });
    // an idle connection that dies (server restart) is dropped by the pool; the next query reconnects
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, o, url);
    const t0 = Date.now();
    try {
      // the server may still be starting: transient failures are retried each second until connectTimeoutMs
      await withRetry(
        () =>
          store.tx(async (c) => {
          await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_SCHEMA]);
          await c.query('CREATE TABLE IF NOT EXISTS faceseg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
          const found = Number((await c.query("SELECT value FROM faceseg_meta WHERE key = 'schema_version'")).rows[0]?.value ?? 0);
          if (found > PG_SCHEMA_VERSION) {
            throw new Error(`${store.location} was written by a newer version (schema ${found}, this one reads ${PG_SCHEMA_VERSION})`);
          }
          await c.query(PG_SCHEMA);
          await c.query(
            "INSERT INTO faceseg_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [String(PG_SCHEMA_VERSION)],
          );
          }),
        { retries: Infinity, delayMs: () => 1000, shouldRetry: (err) => transient(err) && Date.now() - t0 <= o.connectTimeoutMs },
      );
      return store;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** One transaction on one connection; retried on deadlock or serialization failure, after a short random wait. */
  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withRetry(() => this.txOnce(fn), { retries: 2, delayMs: exponentialDelay(20, 0.5), shouldRetry: retryable });
  }

  private async txOnce<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      c.release(broken);
    }
  }

  private async touchProject(c: Q, project: string): Promise<void> {
    const now = this.o.now();
    const added = await c.query('INSERT INTO faceseg_projects (project, last_seen) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING project', [project, now]);
    if (added.rowCount === 0) {
      await c.query('UPDATE faceseg_projects SET last_seen = GREATEST(last_seen, $2) WHERE project = $1', [project, now]);
      return;
    }
    const n = Number((await c.query('SELECT COUNT(*) AS n FROM faceseg_projects')).rows[0].n);
    if (n <= this.o.maxProjects) return;
    const victims = await c.query<{ project: string }>('SELECT project FROM faceseg_projects WHERE project <> $1 ORDER BY last_seen, project LIMIT $2', [
      project,
      n - this.o.maxProjects,
    ]);
    // the project row first: a writer of that project holds it, so we wait rather than deadlock
    for (const v of victims.rows) {
      for (const table of ['faceseg_projects', 'faceseg_predictions', 'faceseg_corrections', 'faceseg_calibrations']) {
        await c.query(`DELETE FROM ${table} WHERE project = $1`, [v.project]);
      }
    }
  }

  async putPrediction(r: PredictionRecord, keep = 3): Promise<void> {
    const values = predictionValues(r);
    await this.tx(async (c) => {
      await this.touchProject(c, r.project);
      await c.query(
        `INSERT INTO faceseg_predictions (${list(PREDICTION_COLUMNS)}) VALUES (${params(values.length)})
         ON CONFLICT (project, task, model_version) DO UPDATE SET ${updateAll(PREDICTION_COLUMNS, ['project', 'task', 'model_version'])}, seq = DEFAULT`,
        values,
      );
      // the task's few versions through the primary key, sorted here (as in store-sqlite.ts)
      const versions = (await c.query<{ seq: number; created_at: number }>('SELECT seq, created_at FROM faceseg_predictions WHERE project = $1 AND task = $2', [r.project, r.task]))
        .rows;
      versions.sort((x, y) => y.created_at - x.created_at || y.seq - x.seq);
      const extra = versions.slice(Math.max(0, keep)).map((v) => v.seq);
      if (extra.length) await c.query('DELETE FROM faceseg_predictions WHERE project = $1 AND seq = ANY($2::bigint[])', [r.project, extra]);
      if (!this.trims.due(r.project)) return;
      await c.query(
        `DELETE FROM faceseg_predictions WHERE project = $1 AND seq IN
           (SELECT seq FROM faceseg_predictions WHERE project = $1 ORDER BY created_at DESC, seq DESC OFFSET $2)`,
        [r.project, this.o.maxPredictionsPerProject],
      );
    });
  }

  async getPrediction(project: string, task: string, modelVersion?: string): Promise<PredictionRecord | undefined> {
    const res =
      modelVersion !== undefined
        ? await this.pool.query<PredictionRow>('SELECT * FROM faceseg_predictions WHERE project = $1 AND task = $2 AND model_version = $3', [project, task, modelVersion])
        : await this.pool.query<PredictionRow>('SELECT * FROM faceseg_predictions WHERE project = $1 AND task = $2 ORDER BY created_at DESC, seq DESC LIMIT 1', [project, task]);
    return res.rows[0] ? predictionFromRow(res.rows[0]) : undefined;
  }

  async putCorrection(r: CorrectionRecord): Promise<void> {
    const values = correctionValues(r, (b) => b);
    await this.tx(async (c) => {
      await this.touchProject(c, r.project);
      await c.query(
        `INSERT INTO faceseg_corrections (${list(CORRECTION_COLUMNS)}) VALUES (${params(values.length)})
         ON CONFLICT (project, annotation) DO UPDATE SET ${updateAll(CORRECTION_COLUMNS, ['project', 'annotation'])}`,
        values,
      );
      await c.query(
        `DELETE FROM faceseg_corrections WHERE project = $1 AND annotation IN
           (SELECT annotation FROM faceseg_corrections WHERE project = $1 ORDER BY received_at DESC, annotation DESC OFFSET $2)`,
        [r.project, this.o.maxCorrectionsPerProject],
      );
    });
  }

  async deleteCorrection(annotation: string, project: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM faceseg_corrections WHERE project = $1 AND annotation = $2', [project, annotation]);
    return (res.rowCount ?? 0) > 0;
  }

  async getCorrection(annotation: string, project: string): Promise<CorrectionRecord | undefined> {
    const res = await this.pool.query<CorrectionRow>('SELECT * FROM faceseg_corrections WHERE project = $1 AND annotation = $2', [project, annotation]);
    return res.rows[0] ? correctionFromRow(res.rows[0]) : undefined;
  }

  async listCorrections(project: string): Promise<CorrectionRecord[]> {
    const res = await this.pool.query<CorrectionRow>('SELECT * FROM faceseg_corrections WHERE project = $1 ORDER BY received_at, annotation', [project]);
    return res.rows.map(correctionFromRow);
  }

  async countCorrections(project: string): Promise<number> {
    return Number((await this.pool.query('SELECT COUNT(*) AS n FROM faceseg_corrections WHERE project = $1', [project])).rows[0].n);
  }

  async putCalibration(r: CalibrationRecord): Promise<void> {
    const values = calibrationValues(r);
    await this.tx(async (c) => {
      await this.touchProject(c, r.project);
      await c.query(
        `INSERT INTO faceseg_calibrations (${list(CALIBRATION_COLUMNS)}) VALUES (${params(values.length)})
         ON CONFLICT (project) DO UPDATE SET ${updateAll(CALIBRATION_COLUMNS, ['project'])}`,
        values,
      );
    });
  }

  async getCalibration(project: string): Promise<CalibrationRecord | undefined> {
    const res = await this.pool.query<CalibrationRow>('SELECT * FROM faceseg_calibrations WHERE project = $1', [project]);
    return res.rows[0] ? calibrationFromRow(res.rows[0]) : undefined;
  }

  async calibrationStamp(project: string): Promise<number | undefined> {
    const res = await this.pool.query<{ fitted_at: number }>('SELECT fitted_at FROM faceseg_calibrations WHERE project = $1', [project]);
    return res.rows[0]?.fitted_at;
  }

  async deleteCalibration(project: string): Promise<void> {
    await this.pool.query('DELETE FROM faceseg_calibrations WHERE project = $1', [project]);
  }

  async listProjects(): Promise<string[]> {
    return (await this.pool.query<{ project: string }>('SELECT project FROM faceseg_projects ORDER BY last_seen DESC, project')).rows.map((r) => r.project);
  }

  async putEvent(event: string): Promise<number> {
    const size = Buffer.byteLength(event);
    // a soft bound under concurrency: replicas may each add one past it
    const held = (await this.pool.query<{ n: number; bytes: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0)::bigint AS bytes FROM faceseg_inbox')).rows[0];
    if (held.n >= this.o.maxInboxEvents || held.bytes + size > this.o.maxInboxBytes) throw new InboxFullError(held.n, held.bytes);
    const res = await this.pool.query<{ id: number }>('INSERT INTO faceseg_inbox (size, received_at, event) VALUES ($1, $2, $3) RETURNING id', [
      size,
      this.o.now(),
      event,
    ]);
    return res.rows[0].id;
  }

  async takeEvents(limit: number): Promise<InboxEvent[]> {
    const now = this.o.now();
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_INBOX]);
      const busy = await c.query('SELECT 1 FROM faceseg_inbox WHERE claimed_until > $1 AND owner <> $2 LIMIT 1', [now, this.owner]);
      if (busy.rowCount) return [];
      const res = await c.query<{ id: number; event: string; attempts: number; received_at: number }>(
        `UPDATE faceseg_inbox SET claimed_until = $1, owner = $2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM faceseg_inbox WHERE claimed_until <= $3 ORDER BY id LIMIT $4)
         RETURNING id, event, attempts, received_at`,
        [now + this.o.inboxLeaseMs, this.owner, now, Math.max(1, Math.floor(limit))],
      );
      return res.rows.map((r) => ({ id: r.id, event: r.event, attempts: r.attempts, receivedAt: r.received_at })).sort((a, b) => a.id - b.id);
    });
  }

  async touchEvents(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query('UPDATE faceseg_inbox SET claimed_until = $1 WHERE id = ANY($2::bigint[]) AND owner = $3', [this.o.now() + this.o.inboxLeaseMs, [...ids], this.owner]);
  }

  async doneEvent(id: number): Promise<void> {
    await this.pool.query('DELETE FROM faceseg_inbox WHERE id = $1', [id]);
  }

  async countEvents(): Promise<number> {
    return Number((await this.pool.query('SELECT COUNT(*) AS n FROM faceseg_inbox')).rows[0].n);
  }
}
