// One set of store tests, run against SQLite and against a real PostgreSQL
// (LEARNING_TEST_PG_URL; skipped with the reason printed when unset): both
// implementations must behave the same.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LearningService } from '../../backend/learning/service.js';
import {
  BadRecordError,
  InboxFullError,
  openStore,
  type CalibrationRecord,
  type CorrectionRecord,
  type LearningStore,
  type PredictionRecord,
  type StoreOptions,
} from '../../backend/learning/store.js';
import { silentLogger } from '../../backend/logging.js';
import { defaultParams } from '../../backend/learning/index.js';
import { dropDatabases, freshDatabase, PG_SKIP_REASON, PG_URL } from '../pg/fresh-db.js';

const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-contract-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropDatabases();
});

interface Backend {
  name: string;
  /** A URL of an empty store of this kind. */
  fresh(): Promise<string>;
  skip?: string;
}

let files = 0;
const backends: Backend[] = [
  { name: 'sqlite', fresh: async () => path.join(dir, `s${files++}`, 'learning.sqlite') },
  { name: 'postgres', fresh: freshDatabase, skip: PG_URL ? undefined : PG_SKIP_REASON },
];
if (!PG_URL) console.log(PG_SKIP_REASON);

/** A controllable clock for leases and project recency. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A base64 string of n random bytes (samples and refiners are opaque text). */
const b64 = (n: number) => randomBytes(n).toString('base64');

function prediction(project: string, task: string, over: Partial<PredictionRecord> = {}): PredictionRecord {
  return { project, task, modelVersion: 'v1', dilate: 2, width: 40, height: 30, score: 0.5, rawScore: 0.4, faces: [{ score: 0.7, rle: [0, 0, 0, 48, 57, 27, 255] }], createdAt: 1, ...over };
}

function correction(project: string, annotation: string, over: Partial<CorrectionRecord> = {}): CorrectionRecord {
  return {
    annotation,
    project,
    task: `t${annotation}`,
    modelVersion: 'v1',
    score: 0.6,
    faces: [{ score: 0.8, iou: 0.7, bestDilate: 5, bestIou: 0.9, curve: { d0: 0, faceSize: 40, gtArea: 100, all: [1, 2, 3], gt: [0, 1, 3] } }],
    falseFaceScores: [0.2],
    missed: 1,
    changed: true,
    receivedAt: 10,
    ...over,
  };
}

function calibration(project: string, over: Partial<CalibrationRecord> = {}): CalibrationRecord {
  return { project, params: { dilate: 6 }, modelVersion: 'v1-p', engineVersion: 'v1', corrections: 3, fittedAt: 100, report: { reason: 'test' }, ...over };
}

for (const b of backends) {
  describe.skipIf(b.skip !== undefined)(`learning store contract: ${b.name}`, () => {
    const opened: LearningStore[] = [];
    afterAll(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
    });
    async function open(url: string, opts: StoreOptions = {}): Promise<LearningStore> {
      const s = await openStore(url, opts);
      opened.push(s);
      return s;
    }

    it('round-trips every record, with 60 kB samples and targets and a 500 kB refiner, across store objects', async () => {
      const url = await b.fresh();
      const a = await open(url);
      expect(a.kind).toBe(b.name);
      const faces = Array.from({ length: 5 }, (_, i) => ({ score: 0.5 + i / 10, rle: Array.from(randomBytes(3000)), sample: b64(45_000) }));
      await a.putPrediction(prediction('p1', 't1', { faces, createdAt: 5 }));
      const big = correction('p1', 'a1');
      big.faces = Array.from({ length: 5 }, () => ({ ...big.faces[0], sample: b64(45_000), target: b64(45_000) }));
      await a.putCorrection(big);
      const refiner = JSON.stringify({ weights: b64(375_000) });
      await a.putCalibration(calibration('p1', { refiner, scoreMap: { x: [0.1, 0.9], p: [0.8, 0.1] } }));
      await a.putCalibration(calibration('p2'));
      await a.close();

      const c = await open(url);
      const p = (await c.getPrediction('p1', 't1'))!;
      expect(p.faces).toEqual(faces);
      expect(p).toMatchObject({ project: 'p1', task: 't1', modelVersion: 'v1', dilate: 2, width: 40, height: 30, score: 0.5, rawScore: 0.4, createdAt: 5 });
      expect(await c.getCorrection('a1', 'p1')).toEqual(big);
      expect(await c.listCorrections('p1')).toEqual([big]);
      const cal = (await c.getCalibration('p1'))!;
      expect(cal).toEqual(calibration('p1', { refiner, scoreMap: { x: [0.1, 0.9], p: [0.8, 0.1] } }));
      expect(cal.refiner!.length).toBeGreaterThan(500_000);
      const plain = (await c.getCalibration('p2'))!;
      expect(plain.refiner).toBeUndefined();
      expect(plain.scoreMap).toBeUndefined();
      expect(await c.getCalibration('p3')).toBeUndefined();
      expect(await c.getPrediction('p1', 'nope')).toBeUndefined();
    });

    it('keeps one prediction per model version, the last 3 of a task; no version given = the latest', async () => {
      const s = await open(await b.fresh());
      for (const [i, v] of ['v1', 'v2', 'v3', 'v4'].entries()) await s.putPrediction(prediction('p', 't', { modelVersion: v, createdAt: 10 * (i + 1) }));
      expect((await s.getPrediction('p', 't'))!.modelVersion).toBe('v4');
      expect((await s.getPrediction('p', 't', 'v2'))!.modelVersion).toBe('v2');
      expect(await s.getPrediction('p', 't', 'v1')).toBeUndefined();
      // re-predicting an existing version replaces its record and makes it the latest
      await s.putPrediction(prediction('p', 't', { modelVersion: 'v2', createdAt: 50, score: 0.9 }));
      expect(await s.getPrediction('p', 't')).toMatchObject({ modelVersion: 'v2', score: 0.9 });
      // the same task in another project is another record
      await s.putPrediction(prediction('q', 't', { modelVersion: 'v9' }));
      expect((await s.getPrediction('p', 't'))!.modelVersion).toBe('v2');
    });

    it('corrections are keyed by project and annotation: deletes and lookups are scoped to the project named', async () => {
      const s = await open(await b.fresh());
      await s.putCorrection(correction('A', '5', { missed: 1 }));
      await s.putCorrection(correction('B', '5', { missed: 2 }));
      expect((await s.getCorrection('5', 'A'))!.missed).toBe(1);
      expect((await s.getCorrection('5', 'B'))!.missed).toBe(2);
      expect(await s.deleteCorrection('5', 'C')).toBe(false);
      expect(await s.deleteCorrection('5', 'B')).toBe(true);
      expect(await s.deleteCorrection('5', 'B')).toBe(false);
      expect(await s.getCorrection('5', 'B')).toBeUndefined();
      expect((await s.getCorrection('5', 'A'))!.missed).toBe(1);
      expect(await s.countCorrections('A')).toBe(1);
      expect(await s.countCorrections('B')).toBe(0);
      // a repeated webhook replaces, never duplicates
      await s.putCorrection(correction('A', '5', { missed: 3, receivedAt: 20 }));
      expect(await s.countCorrections('A')).toBe(1);
      expect((await s.listCorrections('A'))[0]).toMatchObject({ missed: 3, receivedAt: 20 });
    });

    it('caps corrections and predictions per project, the oldest dropped first', async () => {
      const s = await open(await b.fresh(), { maxCorrectionsPerProject: 5, maxPredictionsPerProject: 4, predictionTrimEvery: 1 });
      for (let i = 1; i <= 8; i++) await s.putCorrection(correction('p', `a${i}`, { receivedAt: 100 + i }));
      expect((await s.listCorrections('p')).map((c) => c.annotation)).toEqual(['a4', 'a5', 'a6', 'a7', 'a8']);
      // an update makes a correction the newest: a5 survives the next one, a4 goes
      await s.putCorrection(correction('p', 'a4', { receivedAt: 200 }));
      await s.putCorrection(correction('p', 'a9', { receivedAt: 201 }));
      expect((await s.listCorrections('p')).map((c) => c.annotation)).toEqual(['a6', 'a7', 'a8', 'a4', 'a9']);
      // another project's corrections are not counted
      await s.putCorrection(correction('q', 'a1', { receivedAt: 1 }));
      expect(await s.countCorrections('q')).toBe(1);
      expect(await s.countCorrections('p')).toBe(5);

      for (let i = 1; i <= 7; i++) await s.putPrediction(prediction('p', `t${i}`, { createdAt: 1000 + i }));
      expect(await s.getPrediction('p', 't3')).toBeUndefined();
      for (const t of ['t4', 't5', 't6', 't7']) expect(await s.getPrediction('p', t), t).toBeDefined();
    });

    it('trims predictions on every Nth insert: at most cap + N - 1 records, the oldest dropped', async () => {
      const s = await open(await b.fresh(), { maxPredictionsPerProject: 4, predictionTrimEvery: 3 });
      const held = async (n: number) => {
        const out: string[] = [];
        for (let i = 1; i <= n; i++) if (await s.getPrediction('p', `t${i}`)) out.push(`t${i}`);
        return out;
      };
      // inserts 1 (first: trimmed), 4, 7, 10 trim
      for (let i = 1; i <= 6; i++) await s.putPrediction(prediction('p', `t${i}`, { createdAt: i }));
      expect(await held(6)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
      await s.putPrediction(prediction('p', 't7', { createdAt: 7 }));
      expect(await held(7)).toEqual(['t4', 't5', 't6', 't7']);
      for (let i = 8; i <= 20; i++) await s.putPrediction(prediction('p', `t${i}`, { createdAt: i }));
      expect((await held(20)).length).toBeLessThanOrEqual(4 + 3 - 1);
      expect(await held(20)).toContain('t20');
    });

    it('caps projects: a new project past the limit drops the least recently written project whole', async () => {
      const t = clock();
      const s = await open(await b.fresh(), { maxProjects: 3, now: t.now });
      for (const p of ['p1', 'p2', 'p3']) {
        t.advance(10);
        await s.putPrediction(prediction(p, 't'));
        await s.putCorrection(correction(p, 'a'));
        await s.putCalibration(calibration(p));
      }
      t.advance(10);
      await s.putCorrection(correction('p1', 'b')); // p1 is now the most recent
      expect(await s.listProjects()).toEqual(['p1', 'p3', 'p2']);
      t.advance(10);
      await s.putCalibration(calibration('p4'));
      expect(await s.listProjects()).toEqual(['p4', 'p1', 'p3']);
      expect(await s.getPrediction('p2', 't')).toBeUndefined();
      expect(await s.countCorrections('p2')).toBe(0);
      expect(await s.getCalibration('p2')).toBeUndefined();
      expect(await s.countCorrections('p1')).toBe(2);
      // 3000 made-up projects (issue 15) leave 3
      for (let i = 0; i < 60; i++) {
        t.advance(1);
        await s.putCalibration(calibration(`x${i}`));
      }
      expect(await s.listProjects()).toEqual(['x59', 'x58', 'x57']);
    });

    it('calibrationStamp is the fittedAt of the calibration, undefined without one', async () => {
      const s = await open(await b.fresh());
      expect(await s.calibrationStamp('p')).toBeUndefined();
      await s.putCalibration(calibration('p', { fittedAt: 1234 }));
      expect(await s.calibrationStamp('p')).toBe(1234);
      await s.putCalibration(calibration('p', { fittedAt: 1_700_000_000_123 }));
      expect(await s.calibrationStamp('p')).toBe(1_700_000_000_123);
      await s.deleteCalibration('p');
      expect(await s.calibrationStamp('p')).toBeUndefined();
    });

    it('refuses bad keys and NUL characters with a clear error, and stores nothing', async () => {
      const s = await open(await b.fresh());
      await expect(s.putCorrection(correction('x'.repeat(40_000), '1'))).rejects.toThrow(BadRecordError);
      await expect(s.putPrediction(prediction('p', 'a\0b'))).rejects.toThrow(/task must be 1-256 characters without NUL/);
      await expect(s.putCalibration(calibration('p', { refiner: 'ab\0' }))).rejects.toThrow(BadRecordError);
      await expect(s.putCalibration(calibration(''))).rejects.toThrow(BadRecordError);
      expect(await s.listProjects()).toEqual([]);
      // NUL inside JSON columns is escaped, so it round-trips
      await s.putCorrection(correction('p', '1', { faces: [{ ...correction('p', '1').faces[0], sample: 'a\0b' }] }));
      expect((await s.getCorrection('1', 'p'))!.faces[0].sample).toBe('a\0b');
    });

    it('inbox: events come back oldest first, claimed by one consumer at a time, taken over after a crash, bounded', async () => {
      const url = await b.fresh();
      const t = clock();
      const a = await open(url, { now: t.now, inboxLeaseMs: 1000, maxInboxEvents: 4 });
      const b2 = await open(url, { now: t.now, inboxLeaseMs: 1000, maxInboxEvents: 4 });
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await a.putEvent(JSON.stringify({ action: 'ANNOTATION_CREATED', n: i })));
      expect(ids[1]).toBeGreaterThan(ids[0]);
      expect(await a.countEvents()).toBe(3);

      const first = await a.takeEvents(2);
      expect(first.map((e) => JSON.parse(e.event).n)).toEqual([0, 1]);
      expect(first.map((e) => e.attempts)).toEqual([1, 1]);
      expect(first[0].receivedAt).toBe(t.now());
      // a's claim is live: the other replica waits (events of one annotation stay in order)
      expect(await b2.takeEvents(10)).toEqual([]);
      await a.doneEvent(first[0].id);
      // a may go on with the rest
      const more = await a.takeEvents(10);
      expect(more.map((e) => JSON.parse(e.event).n)).toEqual([2]);
      // a renews what it is still working on, then "crashes" holding ids 1 and 2
      t.advance(900);
      await a.touchEvents([first[1].id, more[0].id]);
      t.advance(900);
      expect(await b2.takeEvents(10)).toEqual([]);
      t.advance(200);
      const taken = await b2.takeEvents(10);
      expect(taken.map((e) => JSON.parse(e.event).n)).toEqual([1, 2]);
      expect(taken.map((e) => e.attempts)).toEqual([2, 2]);
      // another object's touch does not steal b2's claim
      await a.touchEvents(taken.map((e) => e.id));
      expect(await a.takeEvents(10)).toEqual([]);
      for (const e of taken) await b2.doneEvent(e.id);
      expect(await a.countEvents()).toBe(0);

      // full at 4 events
      for (let i = 0; i < 4; i++) await a.putEvent('{}');
      await expect(a.putEvent('{}')).rejects.toThrow(InboxFullError);
      await a.doneEvent((await a.takeEvents(1))[0].id);
      await a.putEvent('{}');
      expect(await a.countEvents()).toBe(4);
    });

    it('inbox: bounded in bytes too; a 1 MB event round-trips', async () => {
      const s = await open(await b.fresh(), { maxInboxBytes: 2_500_000 });
      const big = JSON.stringify({ action: 'ANNOTATION_CREATED', rle: b64(750_000) });
      const id = await s.putEvent(big);
      await s.putEvent(big);
      await expect(s.putEvent(big)).rejects.toThrow(/inbox is full \(2 events/);
      const [e] = await s.takeEvents(1);
      expect(e.id).toBe(id);
      expect(e.event).toBe(big);
    });

    it('two store objects on one database: concurrent writers lose nothing, and each sees the other\'s refit', async () => {
      const url = await b.fresh();
      const a = await open(url);
      const c = await open(url);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : c).putCorrection(correction('p', `a${i}`, { receivedAt: i }))).concat(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? c : a).putPrediction(prediction('p', `t${i}`, { createdAt: i }))),
        ),
      );
      expect(await a.countCorrections('p')).toBe(40);
      expect(await c.countCorrections('p')).toBe(40);
      await a.putCalibration(calibration('p', { fittedAt: 5 }));
      expect(await c.calibrationStamp('p')).toBe(5);
      await c.putCalibration(calibration('p', { fittedAt: 6, modelVersion: 'v1-q' }));
      expect((await a.getCalibration('p'))!.modelVersion).toBe('v1-q');
      // consumers never get the same event twice at once
      for (let i = 0; i < 30; i++) await a.putEvent(`{"n":${i}}`);
      const seen: number[] = [];
      const consume = async (s: LearningStore) => {
        for (let round = 0; round < 60; round++) {
          const evs = await s.takeEvents(3);
          for (const e of evs) {
            seen.push(JSON.parse(e.event).n);
            await s.doneEvent(e.id);
          }
          if ((await s.countEvents()) === 0) return;
        }
      };
      await Promise.all([consume(a), consume(c)]);
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
    });

    it('a replica uses another replica\'s new calibration within refreshMs', async () => {
      const url = await b.fresh();
      const t = clock();
      const service = (store: LearningStore) =>
        new LearningService({ store, logger: silentLogger(), defaults: defaultParams(), baseVersion: 'e1', versionWith: (p) => `e1-p${p.dilate}`, minCorrections: 0, now: t.now, refreshMs: 5000 });
      const one = service(await open(url));
      const two = service(await open(url));
      expect(await two.projectSettings('7')).toBeUndefined(); // cached: no calibration
      await (await open(url)).putCalibration(calibration('7', { params: { dilate: 8 }, modelVersion: 'e1-p8', engineVersion: 'e1', fittedAt: t.now() }));
      t.advance(4000);
      expect(await two.projectSettings('7')).toBeUndefined(); // still trusted
      expect((await one.projectSettings('7'))!.modelVersion).toBe('e1-p8'); // never read before
      t.advance(1001);
      expect((await two.projectSettings('7'))!.modelVersion).toBe('e1-p8');
      // a refit elsewhere is picked up the same way
      await (await open(url)).putCalibration(calibration('7', { params: { dilate: 9 }, modelVersion: 'e1-p9', engineVersion: 'e1', fittedAt: t.now() + 1 }));
      t.advance(5001);
      expect(await two.projectSettings('7')).toMatchObject({ modelVersion: 'e1-p9', params: { dilate: 9 } });
    });

    it('refuses a database written by a newer schema', async () => {
      const url = await b.fresh();
      await (await open(url)).close();
      if (b.name === 'sqlite') {
        const Database = (await import('better-sqlite3')).default;
        const db = new Database(url);
        db.pragma('user_version = 99');
        db.close();
      } else {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query("UPDATE faceseg_meta SET value = '99' WHERE key = 'schema_version'");
        await c.end();
      }
      await expect(openStore(url)).rejects.toThrow(/newer version \(schema 99/);
    });
  });
}

describe('SQLite: schema 1 files (the first release) keep working', () => {
  // the DDL of schema 1, as the first release wrote it
  const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS predictions (
  project TEXT NOT NULL, task TEXT NOT NULL, model_version TEXT NOT NULL, dilate REAL NOT NULL, width INTEGER NOT NULL,
  height INTEGER NOT NULL, score REAL NOT NULL, raw_score REAL NOT NULL, faces TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (project, task, model_version)
);
CREATE TABLE IF NOT EXISTS corrections (
  annotation TEXT PRIMARY KEY, project TEXT NOT NULL, task TEXT NOT NULL, model_version TEXT NOT NULL, score REAL NOT NULL,
  faces TEXT NOT NULL, false_faces TEXT NOT NULL, missed INTEGER NOT NULL, changed INTEGER NOT NULL, received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_project ON corrections (project);
CREATE TABLE IF NOT EXISTS calibrations (
  project TEXT PRIMARY KEY, params TEXT NOT NULL, model_version TEXT NOT NULL, score_map TEXT, corrections INTEGER NOT NULL,
  fitted_at INTEGER NOT NULL, report TEXT NOT NULL
);`;

  it('migrates to schema 2 in place: data kept, calibrations marked for a refit, corrections scoped by project', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(dir, 'schema1', 'learning.sqlite');
    mkdirSync(path.dirname(file), { recursive: true });
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(SCHEMA_1);
    old.pragma('user_version = 1');
    const faces = JSON.stringify([{ score: 0.7, rle: Buffer.from([0, 0, 0, 48]).toString('base64') }]);
    old.prepare('INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('7', '70', 'v1', 2, 40, 30, 0.5, 0.4, faces, 100);
    const cfaces = JSON.stringify(correction('7', '700').faces);
    old.prepare('INSERT INTO corrections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('700', '7', '70', 'v1', 0.4, cfaces, '[0.2]', 1, 1, 200);
    old.prepare('INSERT INTO corrections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('800', '8', '80', 'v1', 0.4, cfaces, '[]', 0, 0, 300);
    old.prepare('INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?)').run('7', '{"dilate":6}', 'v1-p6', null, 1, 250, '{"reason":"corrections"}');
    old.close();

    const s = await openStore(file);
    expect(await s.getPrediction('7', '70')).toMatchObject({ modelVersion: 'v1', rawScore: 0.4, faces: [{ score: 0.7, rle: [0, 0, 0, 48] }] });
    expect(await s.getCorrection('700', '7')).toMatchObject({ task: '70', missed: 1, changed: true, falseFaceScores: [0.2], receivedAt: 200 });
    expect(await s.getCorrection('800', '8')).toMatchObject({ changed: false });
    expect(await s.getCorrection('700', '8')).toBeUndefined();
    // engineVersion '' = fitted for an unknown engine: the lead's code refits it
    expect(await s.getCalibration('7')).toEqual({
      project: '7',
      params: { dilate: 6 },
      modelVersion: 'v1-p6',
      engineVersion: '',
      scoreMap: undefined,
      corrections: 1,
      fittedAt: 250,
      report: { reason: 'corrections' },
    });
    expect(await s.calibrationStamp('7')).toBe(250);
    expect(await s.listProjects()).toEqual(['8', '7']);
    // the same annotation id in another project is another correction now
    await s.putCorrection(correction('9', '700'));
    expect(await s.getCorrection('700', '7')).toBeDefined();
    expect(await s.countCorrections('9')).toBe(1);
    await s.putCalibration(calibration('7', { refiner: 'r' }));
    await s.close();

    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name);
    expect(indexes.sort()).toEqual(['corrections_age', 'predictions_age', 'projects_seen']);
    check.close();
    // opening again changes nothing
    const again = await openStore(file);
    expect(await again.countCorrections('7')).toBe(1);
    expect((await again.getCalibration('7'))!.refiner).toBe('r');
    await again.close();
  });

  it('an inbox commit is flushed to disk (synchronous=FULL) before putEvent resolves; other writes need no fsync (WAL survives kill -9)', async () => {
    const s = await openStore(path.join(dir, 'sync', 'l.sqlite'));
    type Db = { pragma(p: string, o?: { simple: true }): unknown; prepare(sql: string): unknown };
    const db = (s as unknown as { db: Db }).db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    const prepare = db.prepare.bind(db);
    let atInsert: unknown;
    db.prepare = (sql: string) => {
      if (sql.startsWith('INSERT INTO inbox')) atInsert = db.pragma('synchronous', { simple: true });
      return prepare(sql);
    };
    await s.putEvent('{}');
    expect(atInsert).toBe(2);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    await s.close();
  });
});
