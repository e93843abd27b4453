// Worker thread body of the engine pool: one engine (its own ONNX sessions)
// per thread. ONNX Runtime's Node binding runs a model on the calling thread,
// so two engine calls in one thread never overlap; in two threads they do.
// Results are copied back (a few MB at most, against hundreds of ms of work).
import { parentPort, workerData } from 'node:worker_threads';
import { buildEngine } from './compose.js';
import type { EngineJob, EngineReply, EngineWorkerData } from './engine-pool.js';
import { asFaceRefiner, type RefinerModel } from './learning/refiner.js';

const port = parentPort!;
const { config, settings, prior } = workerData as EngineWorkerData;

try {
  const engine = await buildEngine({ config, settings, prior });
  // the call in progress: sessions are released only after it (a native call must not lose its session)
  let inFlight: Promise<unknown> = Promise.resolve();
  port.on('message', (job: EngineJob) => {
    if (job.type === 'close') {
      void inFlight.then(() => engine.close()).finally(() => port.close());
      return;
    }
    const refiner = job.refiner ? asFaceRefiner(job.refiner as RefinerModel) : undefined;
    inFlight = engine.segment(job.image, { ...job.options, ...(refiner ? { refiner } : {}) }).then(
      (result) => port.postMessage({ id: job.id, result } satisfies EngineReply),
      (err: unknown) => port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies EngineReply),
    );
  });
  port.postMessage({ ready: { modelVersion: engine.modelVersion, provider: engine.executionProvider, models: engine.models, settings: engine.settings } } satisfies EngineReply);
} catch (err) {
  port.postMessage({ failed: err instanceof Error ? err.message : String(err) } satisfies EngineReply);
}
