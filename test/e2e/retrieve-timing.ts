// E2E: how long "Retrieve Predictions" takes on 100 uploaded 1280x720 photos
// with 3 faces each (issue 16: goal under 20 s on 2 cores, image downloads
// through Label Studio included). The Data Manager button posts the action
// retrieve_tasks_predictions; Label Studio 1.23.2 then sends every selected
// task in one /predict (ml/models.py predict_tasks) and answers when the
// predictions are stored. The time is printed; only a generous bound is
// asserted, so that a busy CI machine does not fail the suite.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { syntheticImages } from '../../bench/images.js';
import { check, expect, log } from './lib/checks.js';
import type { LabelStudio } from './lib/ls.js';
import { backendSpentSoFar } from './lib/metrics.js';

export const TIMING_TASKS = 100;
/** The goal, printed beside the figure. */
export const GOAL_S = 20;
/** What the check asserts: well above the goal, below Label Studio's 100 s limit plus slack. */
export const BOUND_S = 120;
const UPLOAD_BATCH = 20;

export interface TimingContext {
  ls: LabelStudio;
  backendUrl: string;
  /** Extra fields of POST /api/ml (auth). */
  mlAuth: Record<string, unknown>;
  /** The backend's Authorization header, for its GET /metrics. */
  basicHeader: string;
  labelConfig: string;
  dataDir: string;
  artifacts: string;
}

/** Upload the rendered JPEGs in multipart batches, as the import dialog does with several files. */
async function upload(ls: LabelStudio, projectId: number, files: { name: string; bytes: Buffer }[]): Promise<void> {
  for (let i = 0; i < files.length; i += UPLOAD_BATCH) {
    const fd = new FormData();
    // one form field per file: Label Studio reads request.FILES.items(), the last file of each field name
    for (const f of files.slice(i, i + UPLOAD_BATCH)) fd.append(`file_${f.name}`, new Blob([new Uint8Array(f.bytes)], { type: 'image/jpeg' }), f.name);
    await ls.ok('POST', `/api/projects/${projectId}/import`, fd, 300_000);
  }
}

export async function retrieveTimingCheck(o: TimingContext): Promise<void> {
  if (!existsSync(path.join(o.dataDir, 'fasseg', 'multipose01-train', 'index.json'))) {
    log(`retrieve timing: no FASSEG data under ${o.dataDir} (E2E_DATA): skipped`);
    return;
  }
  const project = await check(`retrieve timing: ${TIMING_TASKS} rendered 1280x720 photos with 3 faces uploaded, model connected`, async () => {
    const scenes = await syntheticImages(o.dataDir, { seed: 16, variants: TIMING_TASKS, sizes: [[1280, 720]], faceCounts: [3] });
    const p = await o.ls.createProject('e2e retrieve timing', o.labelConfig);
    await upload(o.ls, p.id, scenes.map((s, i) => ({ name: `scene-${String(i).padStart(3, '0')}.jpg`, bytes: s.bytes })));
    const tasks = await o.ls.tasks(p.id);
    expect(tasks.length === TIMING_TASKS, `${tasks.length} tasks after the upload`);
    expect(tasks.every((t) => t.data.image?.startsWith('/data/upload/')), 'not all tasks are uploads');
    const a = await o.ls.request('POST', '/api/ml', { url: o.backendUrl, project: p.id, title: 'faceseg', ...o.mlAuth });
    expect(a.status === 201, `connect: ${a.status} ${a.text.slice(0, 300)}`);
    return p;
  });
  if (!project) return;
  await check(`retrieve timing: Retrieve Predictions on ${TIMING_TASKS} uploaded 1280x720 tasks (printed; goal < ${GOAL_S} s, asserted < ${BOUND_S} s)`, async () => {
    const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
    const auth = { authorization: o.basicHeader };
    const busy0 = await backendSpentSoFar(o.backendUrl, auth);
    const t0 = performance.now();
    const d = await o.ls.ok('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${project.id}`, { selectedItems: { all: true, excluded: [] } }, 300_000);
    const s = (performance.now() - t0) / 1000;
    const busy1 = await backendSpentSoFar(o.backendUrl, auth);
    // the backend's own /predict time (downloads through Label Studio included); the rest is Label Studio's
    // (sending the tasks, then saving the 100 predictions, on SQLite one commit each)
    const backendS = busy0 && busy1 ? busy1.predictS - busy0.predictS : undefined;
    // its CPU per task tells a slower machine (the same CPU, more wall time) from more work per image
    const cpuPerTaskMs = busy0?.cpuS !== undefined && busy1?.cpuS !== undefined ? ((busy1.cpuS - busy0.cpuS) * 1000) / TIMING_TASKS : undefined;
    const preds = await o.ls.predictions(project.id);
    await writeFile(path.join(o.artifacts, 'retrieve-timing.json'), JSON.stringify({ seconds: s, backendPredictSeconds: backendS, backendCpuMsPerTask: cpuPerTaskMs, loadBefore: load, loadAfter: os.loadavg(), answer: d, predictions: preds.length }, null, 1));
    const faces = preds.map((p) => (p.result ?? []).filter((r: { type?: string }) => r.type === 'brushlabels').length);
    const total = faces.reduce((a, b) => a + b, 0);
    const line = `Retrieve Predictions, ${TIMING_TASKS} uploaded 1280x720 tasks x 3 faces: ${s.toFixed(1)} s ` +
      `(${(TIMING_TASKS / s).toFixed(1)} tasks/s; goal < ${GOAL_S} s on 2 cores; ${os.cpus().length} CPUs, load average before ${load}); ${total} face masks; ` +
      (backendS !== undefined ? `backend /predict ${backendS.toFixed(1)} s, Label Studio's own part ${(s - backendS).toFixed(1)} s` : 'backend /predict time unknown (no /metrics)') +
      (cpuPerTaskMs !== undefined ? `; backend CPU ${cpuPerTaskMs.toFixed(0)} ms per task` : '');
    console.log(`  TIMING ${line}`);
    // Label Studio 1.23.2 drops a /predict answer after 100 s and then stores nothing
    const gaveUp = preds.length === 0 && s >= 95 ? ' (Label Studio gave up at its 100 s /predict timeout: the backend took over 1 s per task)' : '';
    expect(preds.length === TIMING_TASKS, `${preds.length} predictions stored for ${TIMING_TASKS} tasks${gaveUp}`);
    // the scenes hold 3 faces each: nearly all must come back
    expect(total >= 0.95 * 3 * TIMING_TASKS && total <= 3.1 * TIMING_TASKS, `${total} face masks for ${3 * TIMING_TASKS} faces`);
    expect(s < BOUND_S, `took ${s.toFixed(1)} s (bound ${BOUND_S} s)`);
  });
}
