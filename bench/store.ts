// Cost of the learning store's writes on the request paths, at its caps:
// putPrediction (every /predict task) with a project holding
// LEARNING_MAX_PREDICTIONS records, putCorrection at the corrections cap,
// putEvent (every /webhook, a synchronous commit), calibrationStamp.
//
//   npx tsx bench/store.ts                      # SQLite in a temp folder
//   npx tsx bench/store.ts postgres://...       # PostgreSQL (a database of its own: tables are created)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type PredictionRecord } from '../backend/learning/store.js';

const url = process.argv[2];
const dir = url ? undefined : mkdtempSync(path.join(tmpdir(), 'faceseg-store-bench-'));
const maxPredictions = 20_000;
const maxCorrections = 2_000;
const store = await openStore(url ?? path.join(dir!, 'learning.sqlite'), { maxPredictionsPerProject: maxPredictions, maxCorrectionsPerProject: maxCorrections });
const project = `bench-${Date.now()}`;
// a face record about the size /predict sends for a 1-face 1280x720 image (~2 kB RLE)
const faces = [{ score: 0.9, rle: Array.from(randomBytes(2000)) }];
const pred = (i: number): PredictionRecord => ({ project, task: String(i), modelVersion: 'v', dilate: 0, width: 1280, height: 720, score: 0.9, rawScore: 0.9, faces, createdAt: i });

async function timed(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  console.log(`${label.padEnd(58)} ${((performance.now() - t0) / n).toFixed(2)} ms each (${n})`);
}

console.log(`${store.kind} ${store.location}`);
await timed('putPrediction, filling to the cap', maxPredictions, (i) => store.putPrediction(pred(i)));
await timed(`putPrediction at the cap (${maxPredictions}: one dropped each)`, 500, (i) => store.putPrediction(pred(maxPredictions + i)));
const corr = (i: number) => ({
  annotation: String(i),
  project,
  task: String(i),
  modelVersion: 'v',
  score: 0.9,
  faces: [{ score: 0.9, iou: 0.8, bestDilate: 5, bestIou: 0.9, curve: { d0: 0, faceSize: 100, gtArea: 5000, all: new Array(64).fill(9), gt: new Array(64).fill(3) } }],
  falseFaceScores: [],
  missed: 0,
  changed: true,
  receivedAt: i,
});
await timed('putCorrection, filling to the cap', maxCorrections, (i) => store.putCorrection(corr(i)));
await timed(`putCorrection at the cap (${maxCorrections})`, 300, (i) => store.putCorrection(corr(maxCorrections + i)));
const event = JSON.stringify({ action: 'ANNOTATION_CREATED', rle: randomBytes(20_000).toString('base64') });
await timed('putEvent (27 kB webhook, committed)', 300, () => store.putEvent(event));
await store.putCalibration({ project, params: {}, modelVersion: 'v', engineVersion: 'v', corrections: 1, fittedAt: 1, report: {}, refiner: randomBytes(300_000).toString('base64') });
await timed('calibrationStamp (with a 400 kB refiner stored)', 1000, () => store.calibrationStamp(project));
await timed('getCalibration (with a 400 kB refiner stored)', 100, () => store.getCalibration(project));
for (const e of await store.takeEvents(1000)) await store.doneEvent(e.id);
await store.close();
if (dir) rmSync(dir, { recursive: true, force: true });
