// `faceseg eval --learn K`: an offline simulation of a Label Studio project
// that learns from its labelers. Per FASSEG set, K labelled images play the
// corrected annotations (relabelled to a convention: face, face+ears, head),
// the project's refiner is fitted exactly as the backend fits it (held-out
// check included), and the other images are scored before and after. The
// engine runs once per image; the refiner reuses the captured face samples.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readImageFile, readLabelMap } from '../io/image-files.js';
import { progressBar } from '../io/progress.js';
import { fromFullMask } from '../learning/masks.js';
import { DEFAULT_FIT, fitRefiner, refinedField, type FitReport, type RefinerExample, type RefinerModel } from '../learning/refiner.js';
import { targetInFrame } from '../learning/sample-codec.js';
import type { FaceSample } from '../pipeline/face-sample.js';
import type { FaceEngine, RegionMask, RgbImage } from '../pipeline/types.js';
import { binaryUnion } from '../pipeline/mask-ops.js';
import type { FassegEntry } from './scenes.js';
import { pasteDistanceField } from '../pipeline/warp.js';
import { seededRandom, shuffleInPlace } from '../util/random.js';
import { chinRow, classMask, maskScores, meanOf } from './metrics.js';
import { multiposePerson } from './split.js';
import { dataMissing } from './data-missing.js';

/** What a project calls "face", as FASSEG classes (1 skin with ears and neck, 2 hair with brows, 3 eyes, 4 nose, 5 mouth). */
export const CONVENTIONS = {
  face: [1, 3, 4, 5],
  // FASSEG labels ears as skin, so on FASSEG this is the same truth as 'face'
  'face+ears': [1, 3, 4, 5],
  head: [1, 2, 3, 4, 5],
} as const;
export type Convention = keyof typeof CONVENTIONS;

export type SplitKind = 'random' | 'person';

export interface LearnSimOptions {
  k: number;
  convention: Convention;
  splits: SplitKind[];
  seed: number;
  sets?: string[];
  quiet?: boolean;
  /** The engine's refiner prior: what a project's first refiner must beat (the engine's masks already include it). */
  prior?: RefinerModel | null;
}

export interface Item {
  set: string;
  image: string;
  person: string;
  yaw: number;
  width: number;
  height: number;
  chin: number;
  truth: Uint8Array;
  faces: { mask: RegionMask; sample?: FaceSample }[];
  /** The engine's face matched to the truth, as a training example. */
  example?: RefinerExample;
  before: number;
}

export interface LearnSimRow {
  set: string;
  split: SplitKind;
  fold: string;
  train: number;
  test: number;
  iouBefore: number;
  iouAfter: number;
  accepted: boolean;
  fit: FitReport;
  /** Per |yaw| group (multipose): mean IoU before/after. */
  byYaw: Record<string, { images: number; before: number; after: number }>;
}

export interface LearnSimReport {
  modelVersion: string;
  convention: Convention;
  k: number;
  rows: LearnSimRow[];
}

const personOf = (image: string): string => multiposePerson(image) ?? image;

/** A copy of the photo made from its label map (the prior's toned training copies); null = skip the photo. */
export type PhotoPrep = (img: RgbImage, label: Uint8Array, entry: FassegEntry) => RgbImage | null;

export async function loadSet(engine: FaceEngine, dir: string, set: string, convention: Convention, quiet: boolean, prep?: PhotoPrep): Promise<Item[]> {
  const entries = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[];
  const bar = progressBar(`${set} (engine)`, { total: entries.length, quiet, lines: true });
  const items: Item[] = [];
  for (const e of entries) {
    const photo = await readImageFile(path.join(dir, e.image));
    const label = await readLabelMap(path.join(dir, e.label));
    const img = prep ? prep(photo, label.data, e) : photo;
    if (!img) {
      bar.increment();
      continue;
    }
    const res = await engine.segment(img, { captureSamples: true });
    const truth = classMask(label.data, CONVENTIONS[convention]);
    const chin = chinRow(label.data, label.width, label.height);
    const before = maskScores(binaryUnion(res), truth, img.width, chin).iou;
    // the face the labeler corrected: the one overlapping the truth most
    let best = -1;
    let bestHit = 0;
    res.faces.forEach((f, i) => {
      let hit = 0;
      for (let y = 0; y < f.mask.height; y++) {
        for (let x = 0; x < f.mask.width; x++) if (f.mask.data[y * f.mask.width + x] >= 128 && truth[(y + f.mask.y) * img.width + x + f.mask.x]) hit++;
      }
      if (hit > bestHit) {
        bestHit = hit;
        best = i;
      }
    });
    const sample = best >= 0 ? res.faces[best].sample : undefined;
    const truthMask = fromFullMask(truth, img.width, img.height);
    items.push({
      set,
      image: e.image,
      person: personOf(e.image),
      yaw: Number(e.yaw),
      width: img.width,
      height: img.height,
      chin,
      truth,
      faces: res.faces.map((f) => ({ mask: f.mask, sample: f.sample })),
      example: sample && truthMask ? { sample, target: targetInFrame(sample, truthMask, chin), group: e.image } : undefined,
      before,
    });
    bar.increment();
  }
  bar.stop();
  return items;
}

/** IoU of an item's faces after the refiner (faces without a sample keep their mask). */
export function scoreAfter(item: Item, model: RefinerModel | null): number {
  const masks = item.faces.map((f) => {
    if (!model || !f.sample) return f.mask;
    const r = refinedField(model, f.sample);
    return pasteDistanceField(r.field, r.size, r.roi, item.width, item.height, 0);
  });
  return maskScores(binaryUnion({ width: item.width, height: item.height, faces: masks.map((mask) => ({ mask })) }), item.truth, item.width, item.chin).iou;
}

function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = [...xs];
  shuffleInPlace(a, rnd);
  return a;
}

/** Train/test splits of one set: K random images; or, where people repeat, K images of two people vs everyone else (one fold per pair). */
export function splitsOf(items: Item[], kind: SplitKind, k: number, seed: number): { fold: string; train: Item[]; test: Item[] }[] {
  const rnd = seededRandom(seed);
  const usable = items.filter((i) => i.example);
  if (kind === 'random') {
    // never train on more than half the set
    const kk = Math.min(k, Math.floor(items.length / 2));
    const train = shuffled(usable, rnd).slice(0, kk);
    return [{ fold: `random ${kk}`, train, test: items.filter((i) => !train.includes(i)) }];
  }
  const people = [...new Set(items.map((i) => i.person))].sort();
  if (people.length < 3 || people.length === items.length) return [];
  const out: { fold: string; train: Item[]; test: Item[] }[] = [];
  for (let f = 0; f < people.length; f++) {
    const mine = [people[f], people[(f + 1) % people.length]];
    const train = shuffled(
      usable.filter((i) => mine.includes(i.person)),
      rnd,
    ).slice(0, k);
    out.push({ fold: `people ${mine.join('+')}`, train, test: items.filter((i) => !mine.includes(i.person)) });
  }
  return out;
}

function yawGroups(items: Item[], after: number[]): LearnSimRow['byYaw'] {
  const out: LearnSimRow['byYaw'] = {};
  if (new Set(items.map((i) => i.yaw)).size <= 1) return out;
  const groups: Record<string, number[]> = {};
  items.forEach((it, i) => {
    const a = Math.abs(it.yaw);
    const key = a <= 60 ? '|yaw|<=60' : `|yaw|=${a}`;
    (groups[key] ??= []).push(i);
  });
  for (const [key, idx] of Object.entries(groups)) {
    out[key] = { images: idx.length, before: meanOf(idx.map((i) => items[i].before)), after: meanOf(idx.map((i) => after[i])) };
  }
  return out;
}

export async function runLearnSim(engine: FaceEngine, dataDir: string, opts: LearnSimOptions): Promise<LearnSimReport> {
  const root = path.join(dataDir, 'fasseg');
  if (!(await stat(root).catch(() => null))) throw dataMissing(`FASSEG not found at ${root} (expected the shared data folder)`);
  const rows: LearnSimRow[] = [];
  for (const set of ['frontal02-train', 'multipose01-train']) {
    if (opts.sets && opts.sets.length > 0 && !opts.sets.includes(set)) continue;
    const dir = path.join(root, set);
    if (!(await stat(dir).catch(() => null))) continue;
    const items = await loadSet(engine, dir, set, opts.convention, opts.quiet ?? false);
    for (const kind of opts.splits) {
      for (const split of splitsOf(items, kind, opts.k, opts.seed)) {
        const { model, report } = fitRefiner(
          split.train.map((i) => i.example!),
          opts.prior ?? null,
          DEFAULT_FIT,
        );
        // a refiner not kept leaves the engine's masks (the prior's included) as they were
        const after = split.test.map((i) => (report.accepted ? scoreAfter(i, model) : i.before));
        rows.push({
          set,
          split: kind,
          fold: split.fold,
          train: split.train.length,
          test: split.test.length,
          iouBefore: meanOf(split.test.map((i) => i.before)),
          iouAfter: meanOf(after),
          accepted: report.accepted,
          fit: report,
          byYaw: yawGroups(split.test, after),
        });
        if (!opts.quiet) process.stderr.write(`${set} ${split.fold}: ${fmt(rows[rows.length - 1].iouBefore)} -> ${fmt(rows[rows.length - 1].iouAfter)} (${report.reason}, ${report.trainMs} ms)\n`);
      }
    }
  }
  return { modelVersion: engine.modelVersion, convention: opts.convention, k: opts.k, rows };
}

const fmt = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(3));

/** Per set and split kind: mean over folds. */
export function formatLearnSim(r: LearnSimReport): string {
  const lines = [`convention ${r.convention}, K = ${r.k} corrections per project; IoU on the images not learned from`];
  lines.push(['set', 'split', 'folds', 'train', 'test', 'before', 'after', 'gain', 'kept'].map((h, i) => (i < 2 ? h.padEnd(i ? 10 : 34) : h.padStart(7))).join(''));
  const keys = [...new Set(r.rows.map((x) => `${x.set}\t${x.split}`))];
  for (const key of keys) {
    const [set, split] = key.split('\t');
    const rs = r.rows.filter((x) => x.set === set && x.split === split);
    const line = (name: string, test: number, before: number, after: number): string =>
      [
        name.padEnd(34),
        split.padEnd(10),
        String(rs.length).padStart(7),
        String(Math.round(meanOf(rs.map((x) => x.train)))).padStart(7),
        String(Math.round(test)).padStart(7),
        fmt(before).padStart(7),
        fmt(after).padStart(7),
        ((after - before >= 0 ? '+' : '') + fmt(after - before)).padStart(7),
        `${rs.filter((x) => x.accepted).length}/${rs.length}`.padStart(7),
      ].join('');
    lines.push(line(set, meanOf(rs.map((x) => x.test)), meanOf(rs.map((x) => x.iouBefore)), meanOf(rs.map((x) => x.iouAfter))));
    const groups = [...new Set(rs.flatMap((x) => Object.keys(x.byYaw)))];
    for (const g of groups) {
      const gs = rs.map((x) => x.byYaw[g]).filter((v) => v !== undefined);
      lines.push(line(`  ${g}`, meanOf(gs.map((v) => v.images)), meanOf(gs.map((v) => v.before)), meanOf(gs.map((v) => v.after))));
    }
  }
  return lines.join('\n');
}
