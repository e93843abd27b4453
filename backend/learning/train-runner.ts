// Runs refiner training in a worker thread with a time and heap limit.
import { moduleWorker } from '../util/worker.js';
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
  const worker = moduleWorker(import.meta.url, 'train-worker', {
    workerData: { ...job, options } satisfies TrainJob,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
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
