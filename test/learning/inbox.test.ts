// The webhook inbox (issue 15, item 7): /webhook answers 201 only after the
// event is committed; a processor hands events to the handler in order, in
// the background; what a crash leaves is processed at the next start; a full
// inbox or an unreachable store answers 503.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import winston from 'winston';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../backend/http/app.js';
import { WebhookInbox } from '../../backend/learning/inbox.js';
import { defaultParams, openLearning } from '../../backend/learning/index.js';
import { LearningService } from '../../backend/learning/service.js';
import { BadRecordError, openStore, redactDbUrl, type LearningStore, type StoreOptions } from '../../backend/learning/store.js';
import type { WebhookEvent } from '../../backend/labelstudio/schemas.js';
import { createLogger, silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { testConfig } from '../http/helpers.js';
import { DiscEngine, sceneSource, decodeScene } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-inbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(dir, `i${n++}`, 'learning.sqlite');

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function appWith(inbox: { accept(e: WebhookEvent): Promise<unknown> }) {
  return createApp({
    config: testConfig(),
    logger: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    engine: new DiscEngine(),
    imageSource: sceneSource,
    decode: decodeScene,
    webhookInbox: inbox,
  });
}

const started = (n: number) => ({ action: 'START_TRAINING', project: { id: n } });

/** A handler that records what it was given. */
function recorder() {
  const seen: Array<number | string | null | undefined> = [];
  return { seen, handler: async (e: WebhookEvent) => void seen.push(e.projectId) };
}

async function setup(opts: StoreOptions & { file?: string } = {}, handler?: (e: WebhookEvent) => Promise<void>) {
  const store = await openStore(opts.file ?? freshFile(), opts);
  const rec = recorder();
  const inbox = new WebhookInbox({ store, handler: handler ?? rec.handler, logger: silentLogger(), pollMs: 10 });
  return { store, inbox, seen: rec.seen, app: appWith(inbox) };
}

describe('webhook inbox', () => {
  it('answers 201 only once the event is committed', async () => {
    const { store } = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // the same store, with a commit that waits for the gate
    const slow = Object.create(store) as LearningStore;
    slow.putEvent = async (e) => {
      await gate;
      return store.putEvent(e);
    };
    const gated = new WebhookInbox({ store: slow, handler: async () => undefined, logger: silentLogger() });
    let answered = false;
    const res = request(appWith(gated))
      .post('/webhook')
      .send(started(3))
      .then((r) => {
        answered = true;
        return r;
      });
    await new Promise((r) => setTimeout(r, 150));
    expect(answered).toBe(false);
    expect(await store.countEvents()).toBe(0);
    release();
    expect((await res).status).toBe(201);
    expect(await store.countEvents()).toBe(1);
    await store.close();
  });

  it('hands events to the handler in order, in the background, and empties the inbox', async () => {
    const seen: number[] = [];
    const { store, inbox, app } = await setup({}, async (e) => {
      // later events are quicker: order must still hold
      await new Promise((r) => setTimeout(r, 30 - Number(e.projectId) * 5));
      seen.push(Number(e.projectId));
    });
    inbox.start();
    for (let i = 1; i <= 5; i++) await request(app).post('/webhook').send(started(i)).expect(201);
    await until(() => seen.length === 5, 'five events');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await until(async () => (await store.countEvents()) === 0, 'empty inbox');
    await inbox.stop();
    await store.close();
  });

  it('after a crash (kill -9), the next start processes every acknowledged event, the in-flight one once its claim expires', async () => {
    const file = freshFile();
    const t = clock();
    const before = await setup({ file, now: t.now, inboxLeaseMs: 30_000 });
    // acknowledged, never processed: the processor did not get to them
    for (let i = 1; i <= 3; i++) await request(before.app).post('/webhook').send(started(i)).expect(201);
    // one was being processed when the process died
    expect((await before.store.takeEvents(1)).map((e) => JSON.parse(e.event).projectId)).toEqual([1]);
    await before.store.close(); // no doneEvent: what kill -9 leaves

    const after = await setup({ file, now: t.now, inboxLeaseMs: 30_000 });
    after.inbox.start();
    await new Promise((r) => setTimeout(r, 100));
    // the dead process's claim is still live: nothing is reordered past it
    expect(after.seen).toEqual([]);
    t.advance(30_001);
    await until(() => after.seen.length === 3, 'the three events');
    expect(after.seen).toEqual([1, 2, 3]);
    await until(async () => (await after.store.countEvents()) === 0, 'empty inbox');
    await after.inbox.stop();
    await after.store.close();
  });

  it('a full inbox answers 503 with Retry-After; so does a store that cannot commit', async () => {
    const { store, app } = await setup({ maxInboxEvents: 2 });
    await request(app).post('/webhook').send(started(1)).expect(201);
    await request(app).post('/webhook').send(started(2)).expect(201);
    const full = await request(app).post('/webhook').send(started(3)).expect(503);
    expect(full.headers['retry-after']).toBe('30');
    expect(full.body).toMatchObject({ error: 'busy', reason: 'inbox_full' });
    expect(full.body.detail).toMatch(/inbox is full \(2 events/);
    // unknown actions need no storage
    await request(app).post('/webhook').send({ action: 'PROJECT_UPDATED', project: { id: 1 } }).expect(200);
    await store.close();
    const down = await request(app).post('/webhook').send(started(4)).expect(503);
    expect(down.body).toMatchObject({ error: 'busy', reason: 'store_unavailable' });
    expect(down.body.detail).toMatch(/could not be stored/);
  });

  it('a failing handler is retried when its claim expires and dropped after 3 attempts; bad records at once', async () => {
    const t = clock();
    let calls = 0;
    const { store, inbox, app } = await setup({ now: t.now, inboxLeaseMs: 1000 }, async (e) => {
      if (e.projectId === 'bad') throw new BadRecordError('project must be ...');
      calls++;
      throw new Error('database is down');
    });
    inbox.start();
    await request(app).post('/webhook').send(started(1)).expect(201);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await until(() => calls === attempt, `attempt ${attempt}`);
      expect(await store.countEvents()).toBe(1);
      t.advance(1001);
    }
    await until(async () => (await store.countEvents()) === 0, 'dropped');
    expect(calls).toBe(3);
    await request(app).post('/webhook').send({ action: 'START_TRAINING', project: { id: 'bad' } }).expect(201);
    await until(async () => (await store.countEvents()) === 0, 'bad record dropped');
    expect(calls).toBe(3);
    await inbox.stop();
    await store.close();
  });

  it('stop() leaves unprocessed events stored; a new processor takes them', async () => {
    const file = freshFile();
    const one = await setup({ file });
    for (let i = 1; i <= 2; i++) await request(one.app).post('/webhook').send(started(i)).expect(201);
    await one.inbox.stop();
    await request(one.app).post('/webhook').send(started(3)).expect(201);
    expect(one.seen).toEqual([]);
    await one.store.close();
    const two = await setup({ file });
    two.inbox.start();
    await until(() => two.seen.length === 3, 'three events');
    expect(two.seen).toEqual([1, 2, 3]);
    await two.inbox.stop();
    await two.store.close();
  });
});

describe('webhooks that delete corrections', () => {
  it('delete only in the project they name; without a project id nothing is deleted', async () => {
    const store = await openStore(':memory:');
    const service = new LearningService({ store, logger: silentLogger(), defaults: defaultParams(), baseVersion: 'e', versionWith: () => 'e-p', minCorrections: 0 });
    const rec = (project: string) => ({
      annotation: '5',
      project,
      task: '1',
      modelVersion: 'e',
      score: 0.5,
      faces: [],
      falseFaceScores: [],
      missed: 0,
      changed: false,
      receivedAt: 1,
    });
    await store.putCorrection(rec('1'));
    await store.putCorrection(rec('2'));
    const del = (body: Record<string, unknown>) => service.onWebhook({ action: 'ANNOTATIONS_DELETED', projectId: undefined, body } as unknown as WebhookEvent);
    await del({ action: 'ANNOTATIONS_DELETED', annotations: [{ id: 5 }] });
    expect(await store.countCorrections('1')).toBe(1);
    expect(await store.countCorrections('2')).toBe(1);
    await del({ action: 'ANNOTATIONS_DELETED', project: { id: 2 }, annotations: [{ id: 5 }] });
    expect(await store.countCorrections('1')).toBe(1);
    expect(await store.countCorrections('2')).toBe(0);
    // a skipped task removes the annotation's correction in its own project only
    await service.onWebhook({
      action: 'ANNOTATION_UPDATED',
      projectId: 3,
      body: { action: 'ANNOTATION_UPDATED', project: { id: 3 }, annotation: { id: 5, task: 1, was_cancelled: true } },
    } as unknown as WebhookEvent);
    expect(await store.countCorrections('1')).toBe(1);
    await store.close();
  });
});

describe('openLearning', () => {
  const engine = { modelVersion: 'e1', versionWith: () => 'e1-p' };

  it('opens the store LEARNING_DB names, processes the events the last run left, and closes', async () => {
    const file = freshFile();
    const before = await openStore(file);
    const left: WebhookEvent = { action: 'START_TRAINING', projectId: 12, body: { action: 'START_TRAINING', project: { id: 12 } } };
    await before.putEvent(JSON.stringify(left));
    await before.close();
    const learning = (await openLearning(testConfig({ LEARNING_DB: file }), silentLogger(), engine))!;
    expect(learning.store.kind).toBe('sqlite');
    expect(learning.deps.webhookInbox).toBe(learning.inbox);
    await until(async () => (await learning.store.getCalibration('12')) !== undefined, 'the START_TRAINING left from before');
    expect(await learning.store.countEvents()).toBe(0);
    await learning.close();
  });

  it('a store that cannot be opened turns learning off with an error, and the backend goes on', async () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info', logFormat: 'text' }, {
      transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) })],
    });
    expect(await openLearning(testConfig({ LEARNING_DB: path.join(blocker, 'learning.sqlite') }), logger, engine)).toBeUndefined();
    expect(lines.join('')).toMatch(/active learning is off: cannot open .*a-file\/learning\.sqlite/);
  });

  it('never shows a database password in what it logs', () => {
    expect(redactDbUrl('postgres://faceseg:s3cret@db:5432/faceseg')).toBe('postgres://faceseg:***@db:5432/faceseg');
    expect(redactDbUrl('postgresql://u@db/x?password=s3cret&sslmode=require')).toBe('postgresql://u@db/x?password=***&sslmode=require');
    expect(redactDbUrl('/data/learning.sqlite')).toBe('/data/learning.sqlite');
  });
});
