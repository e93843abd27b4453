// E2E: a project whose labelers paint the whole head (face + hair), through
// the real Label Studio. 20 annotations in that convention are submitted with
// its API (Label Studio sends them to the backend's webhook), training is
// started from Label Studio, a new model_version must appear, and the
// re-predicted other tasks must be measurably closer to the head convention.
// Then `faceseg prior` turns those corrections into a prior, a second backend
// serves it, and a new project's first predictions must follow the convention.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { maskToRle, rleToMask } from '../../backend/labelstudio/brush-rle.js';
import { chinRow, classMask, maskScores, meanOf } from '../../backend/eval/metrics.js';
import { check, expect, log } from './lib/checks.js';
import type { LabelStudio } from './lib/ls.js';

export interface LearningContext {
  ls: LabelStudio;
  backendUrl: string;
  dataDir: string;
  artifacts: string;
  labelConfig: string;
  /** The backend's LEARNING_DB (SQLite), read by `faceseg prior`. */
  learningDb: string;
  /** A scratch folder. */
  tmp: string;
  /** `faceseg <args>` from the checkout, with these variables added. */
  cli: (args: string[], env: Record<string, string>) => Promise<{ code: number; stdout: string; stderr: string }>;
  /** Start another backend with these variables added; resolves with its URL once /health answers. */
  startBackend: (name: string, env: Record<string, string>) => Promise<string>;
}

const HEAD = [1, 2, 3, 4, 5];
const TRAIN = 20;
const TOTAL = 30;

interface Img {
  file: string;
  label: string;
  width: number;
  height: number;
  truth: Uint8Array;
  chin: number;
}

async function loadImages(dir: string): Promise<Img[]> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { image: string; label: string; yaw: string }[];
  // every sixth image: all seven people, yaws from -90 to 90
  const picked = index.filter((_, i) => i % 6 === 0).slice(0, TOTAL);
  const out: Img[] = [];
  for (const e of picked) {
    const { data, info } = await sharp(path.join(dir, e.label)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const label = new Uint8Array(data);
    const truth = classMask(label, HEAD);
    const chin = chinRow(label, info.width, info.height);
    // the head convention stops at the chin line (no neck)
    for (let i = chin * info.width; i < truth.length; i++) truth[i] = 0;
    out.push({ file: path.join(dir, e.image), label: e.label, width: info.width, height: info.height, truth, chin });
  }
  return out;
}

function brushIou(pred: any, img: Img): number {
  const regions = (pred?.result ?? []).filter((r: any) => r.type === 'brushlabels');
  const mask = new Uint8Array(img.width * img.height);
  for (const r of regions) {
    const m = rleToMask(r.value.rle, img.width, img.height);
    for (let i = 0; i < m.length; i++) if (m[i]) mask[i] = 1;
  }
  return maskScores(mask, img.truth, img.width, img.chin).iou;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function learningScenario(ctx: LearningContext): Promise<void> {
  const dir = path.join(ctx.dataDir, 'fasseg', 'multipose01-train');
  if (!existsSync(path.join(dir, 'index.json'))) {
    await check('learning: FASSEG photos available (../shared/data)', () => {
      expect(process.env.CI !== 'true', `no ${dir}: CI must run beside ../shared`);
      log(`skipped: no ${dir}`);
    });
    return;
  }
  const { ls } = ctx;
  const setup = await check(`learning: project of ${TOTAL} FASSEG photos connected to a backend that learns`, async () => {
    const images = await loadImages(dir);
    const p = await ls.createProject('e2e learning (head convention)', ctx.labelConfig);
    for (const img of images) await ls.uploadFile(p.id, img.file);
    const tasks = await ls.tasks(p.id);
    expect(tasks.length === images.length, `${tasks.length} tasks for ${images.length} uploads`);
    // uploads keep the file name after a random prefix
    const byImage = new Map(images.map((img) => [path.basename(img.file), img]));
    const pairs = tasks.map((t) => ({ task: t, img: [...byImage.entries()].find(([name]) => t.data.image.endsWith(name))?.[1] }));
    expect(
      pairs.every((x) => x.img),
      'a task whose image is not one of the uploads',
    );
    const a = await ls.request('POST', '/api/ml', { url: ctx.backendUrl, project: p.id, title: 'faceseg learning', is_interactive: false });
    expect(a.status === 201, `connect: ${a.status} ${a.text.slice(0, 300)}`);
    return { project: p.id, ml: a.data.id as number, pairs: pairs as { task: { id: number }; img: Img }[] };
  });
  if (!setup) return;
  const { project, ml, pairs } = setup;
  const train = pairs.slice(0, TRAIN);
  const held = pairs.slice(TRAIN);

  const retrieve = async (ids: number[]) => {
    await ls.ok('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${project}`, { selectedItems: { all: false, included: ids } }, 300_000);
    return (await ls.predictions(project)) as any[];
  };
  const latest = (preds: any[], task: number, version?: string) =>
    preds.filter((p) => p.task === task && (version === undefined || p.model_version === version)).sort((a, b) => b.id - a.id)[0];

  const before = await check('learning: first predictions of all tasks, with the engine version', async () => {
    const preds = await retrieve(pairs.map((x) => x.task.id));
    const version = latest(preds, pairs[0].task.id)?.model_version as string;
    expect(typeof version === 'string', 'no prediction');
    const ious = held.map((x) => brushIou(latest(preds, x.task.id, version), x.img));
    log(`engine ${version}: held-out tasks' IoU with the head convention ${meanOf(ious).toFixed(3)}`);
    return { version, iou: meanOf(ious) };
  });
  if (!before) return;

  await check(`learning: ${TRAIN} annotations painted in the head convention reach the backend by webhook`, async () => {
    for (const x of train) {
      const rle = maskToRle(x.img.truth, x.img.width, x.img.height);
      const result = [
        {
          from_name: 'face',
          to_name: 'image',
          type: 'brushlabels',
          original_width: x.img.width,
          original_height: x.img.height,
          image_rotation: 0,
          value: { format: 'rle', rle, brushlabels: ['Face'] },
        },
      ];
      await ls.ok('POST', `/api/tasks/${x.task.id}/annotations/`, { result, was_cancelled: false, ground_truth: false });
    }
    const deadline = Date.now() + 60_000;
    let q: any;
    do {
      await sleep(1000);
      q = await (await fetch(`${ctx.backendUrl}/projects/${project}/quality`)).json();
    } while ((q?.figures?.corrections ?? 0) < TRAIN && Date.now() < deadline);
    log(`backend stored ${q?.figures?.corrections} corrections, mean face IoU as predicted ${q?.figures?.meanFaceIou}`);
    expect(q?.figures?.corrections === TRAIN, `${q?.figures?.corrections} corrections stored, ${TRAIN} sent`);
  });

  const after = await check('learning: "Start Training" in Label Studio fits a refiner and a new model_version appears', async () => {
    const t0 = Date.now();
    await ls.ok('POST', `/api/ml/${ml}/train`, {}, 120_000);
    let q: any;
    do {
      await sleep(2000);
      q = await (await fetch(`${ctx.backendUrl}/projects/${project}/quality`)).json();
    } while (!q?.refiner && Date.now() - t0 < 240_000);
    await writeFile(path.join(ctx.artifacts, 'learning-quality.json'), JSON.stringify(q, null, 1));
    log(`refiner: ${JSON.stringify(q?.refiner ?? null).slice(0, 400)}`);
    expect(q?.refiner?.accepted === true, 'no refiner kept');
    expect(q.model_version !== before.version, `model_version unchanged (${q.model_version})`);
    log(`training took ${q.refiner.trainMs} ms; model_version ${before.version} -> ${q.model_version}`);
    return q.model_version as string;
  });
  if (!after) return;

  await check('learning: the other tasks, re-predicted with the new version, are closer to the head convention', async () => {
    const preds = await retrieve(held.map((x) => x.task.id));
    const got = held.map((x) => latest(preds, x.task.id, after));
    expect(
      got.every((p) => p),
      `${got.filter((p) => !p).length} held-out tasks were not re-predicted with ${after}`,
    );
    const ious = held.map((x, i) => brushIou(got[i], x.img));
    const gain = meanOf(ious) - before.iou;
    log(`held-out IoU with the head convention: ${before.iou.toFixed(3)} -> ${meanOf(ious).toFixed(3)} (${gain >= 0 ? '+' : ''}${gain.toFixed(3)})`);
    expect(gain >= 0.1, `gain ${gain.toFixed(3)} < 0.1`);
  });

  await teamPriorScenario(ctx, project, held, before);
}

/**
 * `faceseg prior` on that project's corrections, a second backend serving it
 * (REFINER_PRIOR), and a new project of the same held-out photos: its very
 * first predictions follow the head convention, with no annotation of its own.
 */
async function teamPriorScenario(ctx: LearningContext, taught: number, held: { img: Img }[], engine: { version: string; iou: number }): Promise<void> {
  const { ls } = ctx;
  const file = path.join(ctx.tmp, 'team-prior.json');
  const made = await check(`team prior: \`faceseg prior --projects ${taught}\` fits one on that project's corrections`, async () => {
    const r = await ctx.cli(['prior', '--projects', String(taught), '--out', file], { LEARNING_DB: ctx.learningDb });
    log(r.stderr.trim().split('\n').join(' | '));
    expect(r.code === 0, `exit ${r.code}: ${r.stderr.slice(-400)}`);
    expect(existsSync(file), 'no prior written');
    return true;
  });
  if (!made) return;
  const url = await check('team prior: a backend started with REFINER_PRIOR answers /health with another model_version', async () => {
    const u = await ctx.startBackend('backend-prior', { REFINER_PRIOR: file, LEARNING_DB: path.join(ctx.tmp, 'learning-prior.sqlite') });
    const h = (await (await fetch(`${u}/health`)).json()) as { model_version?: string };
    expect(typeof h.model_version === 'string' && h.model_version !== engine.version, `model_version ${h.model_version} (engine ${engine.version})`);
    return u;
  });
  if (!url) return;
  await check('team prior: a new project of the other photos gets head-convention masks in its first predictions', async () => {
    const p = await ls.createProject('e2e team prior', ctx.labelConfig);
    for (const x of held) await ls.uploadFile(p.id, x.img.file);
    const tasks = (await ls.tasks(p.id)) as { id: number; data: { image: string } }[];
    const a = await ls.request('POST', '/api/ml', { url, project: p.id, title: 'faceseg with a team prior', is_interactive: false });
    expect(a.status === 201, `connect: ${a.status} ${a.text.slice(0, 300)}`);
    await ls.ok('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${p.id}`, { selectedItems: { all: false, included: tasks.map((t) => t.id) } }, 300_000);
    const preds = (await ls.predictions(p.id)) as any[];
    const ious = held.map((x) => {
      const t = tasks.find((k) => k.data.image.endsWith(path.basename(x.img.file)));
      return brushIou(preds.filter((q) => q.task === t?.id).sort((m, n) => n.id - m.id)[0], x.img);
    });
    const gain = meanOf(ious) - engine.iou;
    log(`new project, first predictions, IoU with the head convention: engine ${engine.iou.toFixed(3)} -> with the team prior ${meanOf(ious).toFixed(3)} (${gain >= 0 ? '+' : ''}${gain.toFixed(3)})`);
    expect(gain >= 0.1, `gain ${gain.toFixed(3)} < 0.1`);
  });
}
