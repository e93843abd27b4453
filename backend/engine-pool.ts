// The face engine in worker threads, so that several images are segmented at
// once: ONNX Runtime's Node binding runs each model on the JS thread that
// calls it, and much of the engine is JavaScript, so one thread keeps one core
// busy whatever the intra-op thread count. Each worker holds its own sessions
// with cores / workers intra-op threads (one on CUDA). Calls wait FIFO for a free worker.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'winston';
import type { Config } from './config.js';
import { FaceSegEngine, type EngineSettings } from './pipeline/engine.js';
import { resolveProvider } from './models/sessions.js';
import type { EngineParams, FaceEngine, RgbImage, SegmentOptions, SegmentResult } from './pipeline/types.js';
import { moduleWorker } from './util/worker.js';
import { sizeWorkerHeaps } from './util/worker-heap.js';
import type { RefinerModel } from './learning/refiner.js';

export interface EngineWorkerData {
  config: Config;
  settings?: Partial<EngineSettings>;
  /** The refiner prior as read once by the main thread (a restarted worker gets the same one). */
  prior: RefinerModel | null;
}

/** Main thread -> worker. The refiner travels as its plain data (FaceRefiner.data). */
export type EngineJob =
  | { type: 'segment'; id: number; image: RgbImage; options: Omit<SegmentOptions, 'refiner'>; refiner?: unknown }
  | { type: 'close' };

interface EngineInfo {
  modelVersion: string;
  provider: string;
  models: Record<string, string>;
  settings: EngineSettings;
}

/** Worker -> main thread. */
export type EngineReply = { ready: EngineInfo } | { failed: string } | { id: number; result: SegmentResult } | { id: number; error: string };

interface Pending {
  id: number;
  resolve: (r: SegmentResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy?: Pending;
}

export class EnginePool implements FaceEngine {
  private readonly waiting: Array<{ job: Extract<EngineJob, { type: 'segment' }>; pending: Pending }> = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly slots: Slot[],
    private readonly info: EngineInfo,
    private readonly data: EngineWorkerData,
    private readonly logger?: Logger,
  ) {
    for (const slot of slots) this.watch(slot);
  }

  /** Starts `workers` engines (in parallel) and resolves once all loaded their models. */
  static async start(opts: { config: Config; workers: number; settings?: Partial<EngineSettings>; logger?: Logger; prior: RefinerModel | null }): Promise<EnginePool> {
    const n = Math.max(1, Math.floor(opts.workers));
    // CUDA runs the models: one intra-op thread per session is faster there (models/sessions.ts cudaSessionOptions)
    const cuda = resolveProvider(opts.config.executionProvider) === 'cuda';
    const threads = opts.config.ortThreads || (cuda ? 1 : Math.max(1, Math.floor(os.availableParallelism() / n)));
    const data: EngineWorkerData = { config: { ...opts.config, ortThreads: threads }, settings: opts.settings, prior: opts.prior };
    // before the first worker's isolate exists: it reads the flag when its heap is set up
    sizeWorkerHeaps();
    const started = await Promise.allSettled(Array.from({ length: n }, () => startWorker(data)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const s of started) if (s.status === 'fulfilled') void s.value.worker.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; info: EngineInfo }>).value);
    opts.logger?.info(`engine pool: ${n} worker thread(s), ${threads} ONNX Runtime thread(s) each`);
    return new EnginePool(ok.map(({ worker }) => ({ worker })), ok[0]!.info, data, opts.logger);
  }

  get modelVersion(): string {
    return this.info.modelVersion;
  }
  get executionProvider(): string {
    return this.info.provider;
  }
  get models(): Record<string, string> {
    return this.info.models;
  }
  get workers(): number {
    return this.slots.length;
  }

  versionWith(params: Partial<EngineParams> | undefined): string {
    return FaceSegEngine.versionWithParams(this.info.modelVersion, this.info.settings, params);
  }

  segment(image: RgbImage, options: SegmentOptions = {}): Promise<SegmentResult> {
    if (this.closed) return Promise.reject(new Error('the engine pool is closed'));
    if (this.slots.length === 0) return Promise.reject(new Error('no engine worker is running'));
    const { refiner, ...rest } = options;
    if (refiner && refiner.data === undefined) return Promise.reject(new Error('this refiner cannot be sent to an engine worker (it has no data)'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.push({ job: { type: 'segment', id, image, options: rest, refiner: refiner?.data }, pending: { id, resolve, reject } });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.pending.reject(new Error('the engine pool is closed'));
    await Promise.all(this.slots.map((s) => closeWorker(s.worker)));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.waiting.length === 0) continue;
      const next = this.waiting.shift()!;
      slot.busy = next.pending;
      slot.worker.postMessage(next.job);
    }
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (m: EngineReply) => {
      const pending = slot.busy;
      if (!pending || !('id' in m) || m.id !== pending.id) return;
      slot.busy = undefined;
      if ('result' in m) pending.resolve(m.result);
      else pending.reject(new Error(m.error));
      this.dispatch();
    });
    slot.worker.on('error', (err) => this.logger?.error(`engine worker error: ${err.message}`));
    slot.worker.once('exit', (code) => void this.replace(slot, code));
  }

  /** A worker that died (out of memory, a native crash) fails its call alone; a new one takes its place. */
  private async replace(slot: Slot, code: number): Promise<void> {
    const lost = slot.busy;
    slot.busy = { id: -1, resolve: () => undefined, reject: () => undefined }; // not dispatched to while restarting
    lost?.reject(new Error(`the engine worker stopped (exit code ${code})`));
    if (this.closed) return;
    this.logger?.error(`engine worker exited with code ${code}; starting another`);
    try {
      const { worker } = await startWorker(this.data);
      if (this.closed) return void (await closeWorker(worker));
      slot.worker = worker;
      slot.busy = undefined;
      this.watch(slot);
      this.dispatch();
    } catch (err) {
      // the pool goes on with fewer workers; with none left, every waiting and later call fails at once
      this.logger?.error(`engine worker could not be restarted: ${(err as Error).message}`);
      this.slots.splice(this.slots.indexOf(slot), 1);
      if (this.slots.length === 0) for (const w of this.waiting.splice(0)) w.pending.reject(new Error('no engine worker is running'));
    }
  }
}

/** One worker, resolved once its engine has loaded its models (rejected with the reason when it cannot). */
function startWorker(data: EngineWorkerData): Promise<{ worker: Worker; info: EngineInfo }> {
  const worker = moduleWorker(import.meta.url, 'engine-worker', { workerData: data });
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the engine worker exited with code ${code} while loading the models`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (m: EngineReply) => {
      worker.off('exit', onExit);
      worker.off('error', reject);
      if ('ready' in m) resolve({ worker, info: m.ready });
      else {
        void worker.terminate();
        reject(new Error(`the engine worker could not start: ${'failed' in m ? m.failed : 'unexpected message'}`));
      }
    });
  });
}

/**
 * Asks the worker to close its sessions once its call in progress is done.
 * Terminated only if it has not exited within 60 s: stopping a thread inside
 * a native ONNX Runtime call aborts the whole process.
 */
function closeWorker(worker: Worker): Promise<void> {
  if (worker.threadId === -1) return Promise.resolve(); // exited already
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 60_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ type: 'close' } satisfies EngineJob);
  });
}
