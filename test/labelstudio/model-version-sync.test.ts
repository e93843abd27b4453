import { describe, expect, it } from 'vitest';
import { isReplaceable, ModelVersionSync, type VersionSyncClient } from '../../backend/labelstudio/model-version-sync.js';
import { LabelStudioApiError, type LsMlBackend } from '../../backend/labelstudio/project-client.js';

/** A fake Label Studio: validates PATCH like projects/serializers.py (version must be a title or a stored prediction's). */
class FakeLs implements VersionSyncClient {
  modelVersion: string | null = 'faceseg';
  backends: LsMlBackend[] = [{ id: 1, title: 'faceseg', model_version: 'faceseg-1111-2222' }];
  storedVersions = new Set<string>();
  patches: string[] = [];
  /** Versions become "stored" after this many getProject calls (Label Studio saving after our answer). */
  storeAfterReads = 0;
  pending?: string;
  reads = 0;
  failWith?: LabelStudioApiError;

  /** Prediction counts the reads report, in order (the last one repeats); none: no count, as other servers. */
  counts: number[] = [];
  /** While the count still moves, Label Studio is storing: a PATCH then hits SQLite's lock. */
  storing = false;
  /** False: store as `counts` says, but leave the count out of the answer. */
  reportCount = true;

  async getProject(): Promise<{ model_version?: string | null; total_predictions_number?: number }> {
    this.reads++;
    if (this.pending && this.reads > this.storeAfterReads) this.storedVersions.add(this.pending);
    if (this.counts.length === 0) return { model_version: this.modelVersion };
    const count = this.counts[Math.min(this.reads, this.counts.length) - 1];
    this.storing = this.reads < this.counts.length;
    return this.reportCount ? { model_version: this.modelVersion, total_predictions_number: count } : { model_version: this.modelVersion };
  }
  async listMlBackends(): Promise<LsMlBackend[]> {
    return this.backends;
  }
  async setProjectModelVersion(_id: number, v: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    if (this.storing) throw new LabelStudioApiError('database is locked', 500);
    this.patches.push(v);
    if (!this.storedVersions.has(v) && !this.backends.some((b) => b.title === v)) {
      throw new LabelStudioApiError("Model version doesn't exist either as live model or as static predictions.", 400);
    }
    this.modelVersion = v;
  }
}

const quiet = { info: () => {}, warn: () => {}, debug: () => {} } as never;
const make = (ls: FakeLs) => new ModelVersionSync({ client: ls, logger: quiet, delaysMs: [0, 0, 0], sleep: async () => {} });

describe('isReplaceable', () => {
  const ours = [{ id: 1, title: 'My model', model_version: 'faceseg-1-2' }];
  it('replaces unset, our own older versions and our connection title; leaves the rest', () => {
    expect(isReplaceable('', [], 'faceseg-')).toBe(true);
    expect(isReplaceable(null, [], 'faceseg-')).toBe(true);
    expect(isReplaceable('faceseg-old-version', [], 'faceseg-')).toBe(true);
    expect(isReplaceable('My model', ours, 'faceseg-')).toBe(true);
    expect(isReplaceable('yolo-v8', ours, 'faceseg-')).toBe(false);
    expect(isReplaceable('Other', [{ id: 2, title: 'Other', model_version: 'sam-1' }], 'faceseg-')).toBe(false);
  });
});

describe('ModelVersionSync', () => {
  it('moves the project from the connection title to our version once the predictions are stored', async () => {
    const ls = new FakeLs();
    ls.pending = 'faceseg-1111-2222';
    ls.storeAfterReads = 1; // the first try is too early: 400
    const sync = make(ls);
    expect(await sync.sync(3, 'faceseg-1111-2222')).toBe('set');
    expect(ls.modelVersion).toBe('faceseg-1111-2222');
    expect(ls.patches.length).toBe(2);
    // the same version again costs no call
    const reads = ls.reads;
    expect(await sync.sync(3, 'faceseg-1111-2222')).toBe('already');
    expect(ls.reads).toBe(reads);
  });

  it('follows a new version (calibration) from our previous one', async () => {
    const ls = new FakeLs();
    ls.modelVersion = 'faceseg-1111-2222';
    ls.storedVersions.add('faceseg-1111-2222-pabcd');
    expect(await make(ls).sync(3, 'faceseg-1111-2222-pabcd')).toBe('set');
    expect(ls.modelVersion).toBe('faceseg-1111-2222-pabcd');
  });

  it('leaves a version a person picked for another model alone', async () => {
    const ls = new FakeLs();
    ls.modelVersion = 'imported-v3';
    expect(await make(ls).sync(3, 'faceseg-1111-2222')).toBe('foreign');
    expect(ls.patches).toEqual([]);
  });

  it('gives up at once on 403 and after its tries on 400, and tries again on the next notify', async () => {
    const ls = new FakeLs();
    ls.failWith = new LabelStudioApiError('forbidden', 403);
    const sync = make(ls);
    expect(await sync.sync(3, 'faceseg-x')).toBe('failed');
    expect(ls.reads).toBe(1);
    ls.failWith = undefined;
    expect(await sync.sync(3, 'faceseg-x')).toBe('failed'); // never stored: 400 three times
    expect(ls.patches.length).toBe(3);
    ls.storedVersions.add('faceseg-x');
    expect(await sync.sync(3, 'faceseg-x')).toBe('set');
  });

  it('waits longer before its first try after a big answer, since Label Studio stores the batch first', async () => {
    const ls = new FakeLs();
    ls.storedVersions.add('faceseg-a');
    const waits: number[] = [];
    const sync = new ModelVersionSync({ client: ls, logger: quiet, sleep: async (ms) => void waits.push(ms) });
    expect(await sync.sync(3, 'faceseg-a', 100)).toBe('set');
    // 1 s, plus 40 ms for each of the 100 predictions Label Studio stores after our answer
    expect(waits).toEqual([5_000]);
    expect(sync.firstWaitMs(1)).toBe(1_040);
    // bounded, whatever a body claims; nonsense counts as one task
    expect(sync.firstWaitMs(1e9)).toBe(21_000);
    expect(sync.firstWaitMs(Number.NaN)).toBe(1_040);
    expect(sync.firstWaitMs(-5)).toBe(1_040);
    // a follow-up queued behind a running sync keeps the largest batch it was told of
    const ls2 = new FakeLs();
    ls2.storedVersions.add('faceseg-a');
    const held: Array<() => void> = [];
    const waits2: number[] = [];
    const sync2 = new ModelVersionSync({
      client: ls2,
      logger: quiet,
      sleep: (ms) => {
        waits2.push(ms);
        return new Promise<void>((r) => held.push(r));
      },
    });
    const first = sync2.sync(4, 'faceseg-a', 1);
    const next1 = sync2.sync(4, 'faceseg-b', 200);
    const next2 = sync2.sync(4, 'faceseg-c', 2);
    ls2.storedVersions.add('faceseg-c');
    held.shift()?.();
    expect(await first).toBe('set');
    await new Promise((r) => setTimeout(r, 0));
    held.shift()?.();
    expect(await Promise.all([next1, next2])).toEqual(['set', 'set']);
    expect(waits2).toEqual([1_040, 9_000]);
  });

  it('waits until the project\'s prediction count holds still before its PATCH (Label Studio still storing answers 500)', async () => {
    const ls = new FakeLs();
    ls.storedVersions.add('faceseg-a');
    // reads 1-4 see the batch being stored, from the 5th on the count holds
    ls.counts = [10, 40, 70, 100, 100];
    const waits: number[] = [];
    const sync = new ModelVersionSync({ client: ls, logger: quiet, delaysMs: [0, 0, 0], sleep: async (ms) => void waits.push(ms) });
    expect(await sync.sync(3, 'faceseg-a', 100)).toBe('set');
    // one PATCH, after the count was the same on two reads a second apart
    expect(ls.patches).toEqual(['faceseg-a']);
    expect(ls.reads).toBe(5);
    expect(waits).toEqual([4_000, 1_000, 1_000, 1_000, 1_000]);

    // without a count to go by, every try's PATCH lands inside the store and hits the lock
    const blind = new FakeLs();
    blind.storedVersions.add('faceseg-a');
    blind.counts = [10, 40, 70, 100, 100];
    blind.reportCount = false;
    expect(await make(blind).sync(3, 'faceseg-a')).toBe('failed');
    expect(blind.reads).toBe(3);
    expect(blind.patches).toEqual([]);
  });

  it('bounds the settle waits of a try: a count that never holds still gets the PATCH after storeWaitMaxMs', async () => {
    const ls = new FakeLs();
    ls.storedVersions.add('faceseg-a');
    ls.counts = Array.from({ length: 1000 }, (_, i) => i);
    let patchedWhile = -1;
    ls.setProjectModelVersion = async (_id, v) => {
      patchedWhile = ls.reads;
      ls.patches.push(v);
      ls.modelVersion = v;
    };
    const waits: number[] = [];
    const sync = new ModelVersionSync({ client: ls, logger: quiet, delaysMs: [0], storeWaitMaxMs: 5_000, settleMs: 1_000, sleep: async (ms) => void waits.push(ms) });
    expect(await sync.sync(3, 'faceseg-a')).toBe('set');
    // the first wait (40 ms for one task), five settle waits of 1 s (the 5 s cap), then the PATCH
    expect(waits).toEqual([40, 1_000, 1_000, 1_000, 1_000, 1_000]);
    expect(patchedWhile).toBe(6);
  });

  it('a count that is not a plain number cannot hold the PATCH back: a string goes on at once, NaN stops at the cap', async () => {
    for (const [count, settleWaits] of [['100', 0], [Number.NaN, 5]] as const) {
      const ls = new FakeLs();
      ls.storedVersions.add('faceseg-a');
      ls.getProject = async () => {
        ls.reads++;
        return { model_version: ls.modelVersion, total_predictions_number: count as number };
      };
      const waits: number[] = [];
      const sync = new ModelVersionSync({ client: ls, logger: quiet, delaysMs: [0], storeWaitMaxMs: 5_000, settleMs: 1_000, sleep: async (ms) => void waits.push(ms) });
      expect(await sync.sync(3, 'faceseg-a'), String(count)).toBe('set');
      expect(waits, String(count)).toEqual([40, ...Array(settleWaits).fill(1_000)]);
      expect(ls.patches).toEqual(['faceseg-a']);
    }
  });

  it('runs one sync per project at a time', async () => {
    const ls = new FakeLs();
    ls.storedVersions.add('faceseg-a');
    const sync = make(ls);
    const [a, b] = await Promise.all([sync.sync(3, 'faceseg-a'), sync.sync(3, 'faceseg-a')]);
    expect([a, b]).toEqual(['set', 'already']);
    expect(ls.patches).toEqual(['faceseg-a']);
  });

  it('stops at once when the project does not exist (404)', async () => {
    const ls = new FakeLs();
    ls.getProject = async () => {
      ls.reads++;
      throw new LabelStudioApiError('Project 99 not found', 404);
    };
    expect(await make(ls).sync(99, 'faceseg-x')).toBe('failed');
    expect(ls.reads).toBe(1);
  });

  it('many notifies while a sync keeps failing queue one follow-up, for the newest version', async () => {
    const ls = new FakeLs();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let sleeps = 0;
    const sync = new ModelVersionSync({
      client: ls,
      logger: quiet,
      delaysMs: [0, 0, 0],
      // the first run waits on the gate; later ones do not
      sleep: async () => {
        if (sleeps++ === 0) await gate;
      },
    });
    const first = sync.sync(3, 'faceseg-v1');
    const later = Array.from({ length: 50 }, (_, i) => sync.sync(3, `faceseg-v${i + 2}`));
    expect(sync.pending).toMatchObject({ running: 1, queued: 1 });
    ls.storedVersions.add('faceseg-v51');
    release();
    expect(await first).toBe('failed'); // v1 was never stored: its three tries got 400
    const outcomes = await Promise.all(later);
    expect(new Set(outcomes)).toEqual(new Set(['set']));
    expect(ls.modelVersion).toBe('faceseg-v51');
    // 3 failed PATCHes of v1, then one for v51; none of the 49 versions in between
    expect(ls.patches).toEqual(['faceseg-v1', 'faceseg-v1', 'faceseg-v1', 'faceseg-v51']);
    expect(sync.pending).toMatchObject({ running: 0, queued: 0 });
  });

  it('bounds what project ids from request bodies can hold: remembered projects and syncs at once', async () => {
    const ls = new FakeLs();
    ls.modelVersion = 'faceseg-a';
    const held: Array<() => void> = [];
    const sync = new ModelVersionSync({
      client: ls,
      logger: quiet,
      delaysMs: [0],
      maxProjects: 5,
      maxRunning: 3,
      sleep: () => new Promise<void>((r) => held.push(r)),
    });
    const started = Array.from({ length: 10 }, (_, i) => sync.sync(100 + i, 'faceseg-a'));
    expect(sync.pending.running).toBe(3);
    expect(await Promise.all(started.slice(3))).toEqual(Array(7).fill('skipped'));
    for (const r of held.splice(0)) r();
    expect(await Promise.all(started.slice(0, 3))).toEqual(['already', 'already', 'already']);
    for (let id = 0; id < 20; id++) {
      const p = sync.sync(id, 'faceseg-a');
      for (const r of held.splice(0)) r();
      await p;
    }
    expect(sync.pending.remembered).toBe(5);
    // the most recent are kept: asking again costs no call
    const reads = ls.reads;
    expect(await sync.sync(19, 'faceseg-a')).toBe('already');
    expect(ls.reads).toBe(reads);
  });
});
