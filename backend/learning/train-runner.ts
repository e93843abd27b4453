// Runs refiner training in a worker thread with a time and heap limit.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_FIT, type FitOptions, type FitReport, type RefinerModel } from './refiner.js';

/** Encoded corrected faces (see sample-codec.ts) and what is in use now. */
export interface TrainJob {
  faces: { sample: string; target: string; group: string }[];
  current: RefinerModel | null;
  options: FitOptions;
}

export interface TrainOutcome {
  model: RefinerModel | null;
  report: FitReport & { skipped: number };
  ms: number;
  /** The process's resident memory when training ended (the worker shares the process). */
  peakRssMb: number;
}

/** Heap limit of the training worker. */
const WORKER_HEAP_MB = 768;

export function trainInWorker(job: Omit<TrainJob, 'options'> & { options?: FitOptions }): Promise<TrainOutcome> {
  const options = job.options ?? DEFAULT_FIT;
  const here = new URL(import.meta.url);
  const ts = here.pathname.endsWith('.ts');
  const body = new URL(`./train-worker.${ts ? 'ts' : 'js'}`, here).href;
  const limits = { workerData: { ...job, options } satisfies TrainJob, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  // Under tsx (npm start, tests) a worker does not inherit the TypeScript loader:
  // it registers tsx itself before importing the body. The built package runs plain .js.
  const worker = ts
    ? new Worker(`import(${JSON.stringify(tsxApi())}).then((t) => { t.register(); return import(${JSON.stringify(body)}); });`, { eval: true, ...limits })
    : new Worker(new URL(body), limits);
  return new Promise((resolve, reject) => {
    // the fit stops itself at its budget; this is the backstop
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`refiner training ran past ${Math.round((options.budgetMs + 30_000) / 1000)} s and was stopped`));
    }, options.budgetMs + 30_000);
    worker.once('message', (m: TrainOutcome) => {
      clearTimeout(timer);
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`refiner training worker exited with code ${code}`));
    });
  });
}

/** tsx's ESM register API (require.resolve finds its CommonJS twin beside it). */
function tsxApi(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.cjs$/, '.mjs');
  return pathToFileURL(existsSync(mjs) ? mjs : cjs).href;
}
