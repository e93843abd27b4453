// Worker thread body: decode the corrected faces, fit the refiner, post the
// result. Training is seconds of tight arithmetic; off the main thread it
// cannot delay /predict, /health or the webhooks.
import { parentPort, workerData } from 'node:worker_threads';
import { fitRefiner } from './refiner.js';
import { decodeSample, decodeTarget } from './sample-codec.js';
import type { TrainJob, TrainOutcome } from './train-runner.js';

const job = workerData as TrainJob;
const t0 = performance.now();
const examples = job.faces.flatMap((f) => {
  try {
    const sample = decodeSample(f.sample);
    return [{ sample, target: decodeTarget(f.target, sample.size), group: f.group }];
  } catch {
    return []; // a damaged record is skipped, the rest still trains
  }
});
const { model, report } = fitRefiner(examples, job.current, job.options);
const outcome: TrainOutcome = {
  model,
  report: { ...report, skipped: job.faces.length - examples.length },
  ms: Math.round(performance.now() - t0),
  peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
};
parentPort?.postMessage(outcome);
