// `faceseg eval`: mask quality on FASSEG and face finding on the people sets.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readImageFile, readLabelMap, writeOverlay } from '../io/image-files.js';
import { binaryUnion } from '../pipeline/mask-ops.js';
import { progressBar } from '../io/progress.js';
import { iou } from '../pipeline/geometry.js';
import type { Box, FaceEngine, Point } from '../pipeline/types.js';
import type { RgbImage } from '../pipeline/types.js';
import { chinRow, classMask, FASSEG_FACE, maskScores, meanOf, precisionOn, skinAboveChin } from './metrics.js';
import { darken } from './darken.js';
import { fassegTask, peopleTask, uncertaintyFigures, type UncertaintyFigure, type UncertaintyRow } from './uncertainty.js';
import { headDiscMask } from './ita-report.js';
import { maskIta } from './ita.js';
import { fnv1a } from '../util/random.js';
import { evalSmallFaces, type SmallFaceRow } from './small-face-eval.js';
import { evalGroups, type GroupRow } from './group-eval.js';
import { TONE_TARGETS, toneSetSuffix, toneTo } from './skin-tone.js';
import { HAIR_SET_SUFFIX, hairLikeSkin } from './hair-tone.js';
import { evalCihp } from './cihp-eval.js';
import { inSplit, type SplitChoice } from './split.js';
import { summarise } from './summary.js';
import type { FassegEntry } from './scenes.js';
import { dataMissing } from './data-missing.js';

export { formatTable, summarise } from './summary.js';

/** Low-light copies: 3 % of normal exposure in linear light, plus sensor noise. */
export const DARK_EXPOSURE = 0.03;

/** An image as the eval feeds it: the photo itself, or its darkened or toned copy (FASSEG passes its labels). */
export type Prep = (img: RgbImage, key: string, truth?: { label: Uint8Array; skin: Uint8Array }) => RgbImage;

/** The photo with its labelled skin darkened to ITA `target` (skin-tone.ts). */
export const tonePrep = (target: number): Prep => (img, _key, truth) => {
  if (!truth) throw new Error('a skin-tone copy needs the photo\'s label map');
  return toneTo(img, truth.label, truth.skin, target).image;
};

/** The photo with its labelled hair in the skin's colour (hair-tone.ts). */
export const hairPrep: Prep = (img, _key, truth) => {
  if (!truth) throw new Error('a hair-colour copy needs the photo\'s label map');
  return hairLikeSkin(img, truth.label);
};

export const darkPrep: Prep = (img, key) => darken(img, { exposure: DARK_EXPOSURE, seed: seedOf(key) });

/**
 * Noise draws per people image: 19 heads in one draw made the darkened found
 * rate move by a head (0.05) with the noise alone, across the 0.90 goal.
 * Draw 0 is the copy a single draw always gave.
 */
export const DARK_PEOPLE_DRAWS = 3;

/** The darkened copy of noise draw `draw` (0: the key's own seed). */
export const darkDraw = (draw: number): Prep => (img, key) => darkPrep(img, draw === 0 ? key : `${key}#${draw}`);

const seedOf = fnv1a;

export interface FassegRow {
  set: string;
  image: string;
  yaw: number;
  found: boolean;
  falseFaces: number;
  iou: number;
  precision: number;
  recall: number;
  precisionWithNeck: number;
  /** Skin tone of the truth face (ITA, degrees; higher = lighter). */
  ita: number;
  score: number;
  ms: number;
}

export interface PeopleRow {
  set: string;
  image: string;
  present: number;
  found: number;
  predicted: number;
  unmatched: number;
  /** Per truth head: its ITA and whether it was found. */
  heads: { ita: number; found: boolean }[];
  /** The task score the engine gave the image. */
  score: number;
  /** Darkened copies: which noise draw (0 .. DARK_PEOPLE_DRAWS - 1); absent on the photos. */
  draw?: number;
}

export interface EvalReport {
  modelVersion: string;
  fasseg: FassegRow[];
  people: PeopleRow[];
  dark: { fasseg: FassegRow[]; people: PeopleRow[] };
  /** Does the task score find the tasks that need a fix (originals and dark copies)? */
  uncertainty: { rows: UncertaintyRow[]; figures: UncertaintyFigure[] };
  smallFaces: SmallFaceRow[];
  /** Rendered large photos of 1-6 people (group-scenes.ts). */
  groups: GroupRow[];
  /** FASSEG copies with the skin darkened to each of TONE_TARGETS. */
  toned: FassegRow[];
  split: SplitChoice;
  summary: Record<string, Record<string, number>>;
}

export interface FassegOptions {
  overlayDir?: string;
  quiet?: boolean;
  split?: SplitChoice;
  prep?: Prep;
  /** Name the rows get (default: the set). */
  as?: string;
  /** Rows carry the ITA of the image the engine saw (toned copies), not the photo's. */
  itaOfInput?: boolean;
}

export async function evalFasseg(engine: FaceEngine, dir: string, set: string, opts: FassegOptions = {}): Promise<FassegRow[]> {
  const all = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[];
  const entries = all.filter((e) => inSplit(opts.split ?? 'all', set, e.image));
  const name = opts.as ?? set;
  const rows: FassegRow[] = [];
  const bar = progressBar(name, { total: entries.length, quiet: opts.quiet, lines: true });
  for (const e of entries) {
    const photo = await readImageFile(path.join(dir, e.image));
    const label = await readLabelMap(path.join(dir, e.label));
    if (label.width !== photo.width || label.height !== photo.height) throw new Error(`${e.label}: size differs from ${e.image}`);
    const chin = chinRow(label.data, label.width, label.height);
    // tone from the skin above the chin
    const skin = skinAboveChin(label.data, label.width, chin);
    const img = opts.prep ? opts.prep(photo, `${set}/${e.image}`, { label: label.data, skin }) : photo;
    const t0 = performance.now();
    const res = await engine.segment(img);
    const ms = performance.now() - t0;
    const pred = binaryUnion(res);
    const truth = classMask(label.data, FASSEG_FACE);
    const s = maskScores(pred, truth, img.width, chin);
    // a face counts as found when its own mask mostly lies on face or hair-free skin
    let found = false;
    let falseFaces = 0;
    for (const f of res.faces) {
      const own = binaryUnion({ ...res, faces: [f] });
      const p = precisionOn(own, label.data, FASSEG_FACE);
      if (p >= 0.5) found = true;
      else falseFaces++;
    }
    rows.push({
      set: name,
      image: e.image,
      yaw: Number(e.yaw),
      found,
      falseFaces,
      iou: s.iou,
      precision: s.precision,
      recall: s.recall,
      precisionWithNeck: precisionOn(pred, label.data, FASSEG_FACE),
      // the photo's own tone (not its darkened copy's), unless the copy's tone is the point
      ita: maskIta(opts.itaOfInput ? img : photo, skin),
      score: res.score,
      ms,
    });
    if (opts.overlayDir) await writeOverlay(path.join(opts.overlayDir, name, `${path.parse(e.image).name}.jpg`), img, pred, truth);
    bar.increment();
  }
  bar.stop();
  return rows;
}

interface CocoLike {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; keypoints?: number[]; bbox?: number[]; face_box?: number[]; face_valid?: boolean; iscrowd?: number }[];
}

/** Ground-truth faces per image: COCO head keypoints (>= 2 visible) or face boxes. */
interface TruthHead {
  center: Point;
  box?: Box;
  /** Radius of the disc whose pixels give the head's skin tone. */
  toneRadius: number;
}

async function peopleTruth(dir: string): Promise<{ set: string; file: string; heads: TruthHead[] }[]> {
  const out: { set: string; file: string; heads: TruthHead[] }[] = [];
  const add = async (set: string, json: string, kind: 'coco' | 'face_box' | 'bbox'): Promise<void> => {
    const p = path.join(dir, set, json);
    if (!(await stat(p).catch(() => null))) return;
    const d = JSON.parse(await readFile(p, 'utf8')) as CocoLike;
    for (const im of d.images) {
      const heads: TruthHead[] = [];
      for (const a of d.annotations.filter((x) => x.image_id === im.id && !x.iscrowd)) {
        if (kind === 'coco' && a.keypoints) {
          const vis: Point[] = [];
          for (let k = 0; k < 5; k++) if (a.keypoints[k * 3 + 2] > 0) vis.push({ x: a.keypoints[k * 3], y: a.keypoints[k * 3 + 1] });
          if (vis.length < 2) continue;
          const center = { x: meanOf(vis.map((v) => v.x)), y: meanOf(vis.map((v) => v.y)) };
          // eyes, nose and ears lie about half a face width apart: half their spread stays on the face
          const spread = Math.max(...vis.map((v) => Math.hypot(v.x - center.x, v.y - center.y)));
          heads.push({ center, toneRadius: Math.max(2, 0.5 * spread) });
        } else {
          const b = kind === 'face_box' ? a.face_box : a.bbox;
          if (!b || b[2] <= 0 || b[3] <= 0) continue;
          const box = { x: b[0], y: b[1], width: b[2], height: b[3] };
          heads.push({ center: { x: b[0] + b[2] / 2, y: b[1] + b[3] / 2 }, box, toneRadius: Math.max(2, 0.25 * Math.min(b[2], b[3])) });
        }
      }
      out.push({ set, file: path.join(dir, set, im.file_name), heads });
    }
  };
  await add('coco', 'test_coco.json', 'coco');
  await add('mhp', 'test_mhp.json', 'face_box');
  await add('cofw', 'test_cofw.json', 'bbox');
  await add('lapa', 'test_lapa.json', 'bbox');
  return out;
}

function inside(p: Point, b: Box, margin: number): boolean {
  const mx = b.width * margin;
  const my = b.height * margin;
  return p.x >= b.x - mx && p.x <= b.x + b.width + mx && p.y >= b.y - my && p.y <= b.y + b.height + my;
}

/**
 * The darkened copy's noise seed key of a people/ image: its path inside the
 * data folder, so the copy is the same however the folder is spelled
 * (`../shared/data` and its absolute path once drew different noise, and
 * one head in 19 came and went with it).
 */
export function peopleKey(dir: string, file: string): string {
  return `people/${path.relative(dir, file).split(path.sep).join('/')}`;
}

export async function evalPeople(engine: FaceEngine, dir: string, opts: { overlayDir?: string; quiet?: boolean; prep?: Prep; as?: string; draw?: number } = {}): Promise<PeopleRow[]> {
  const truth = await peopleTruth(dir);
  const rows: PeopleRow[] = [];
  const name = opts.as ?? 'people';
  const bar = progressBar(name, { total: truth.length, quiet: opts.quiet, lines: true });
  for (const t of truth) {
    const photo = await readImageFile(t.file);
    const img = opts.prep ? opts.prep(photo, peopleKey(dir, t.file)) : photo;
    const res = await engine.segment(img);
    const used = new Set<number>();
    let found = 0;
    const heads: PeopleRow['heads'] = [];
    for (const h of t.heads) {
      const idx = res.faces.findIndex((f, i) => !used.has(i) && (inside(h.center, f.box, 0.25) || (h.box !== undefined && iou(h.box, f.box) > 0.3)));
      if (idx >= 0) {
        used.add(idx);
        found++;
      }
      heads.push({ ita: maskIta(photo, headDiscMask(photo.width, photo.height, h.center, h.toneRadius)), found: idx >= 0 });
    }
    const set = opts.prep ? `${t.set} ${name}` : t.set;
    rows.push({ set, image: path.basename(t.file), present: t.heads.length, found, predicted: res.faces.length, unmatched: res.faces.length - used.size, heads, score: res.score, ...(opts.draw === undefined ? {} : { draw: opts.draw }) });
    const suffix = opts.draw ? `_${opts.draw}` : '';
    if (opts.overlayDir) await writeOverlay(path.join(opts.overlayDir, name, `${t.set}_${path.parse(t.file).name}${suffix}.jpg`), img, binaryUnion(res));
    bar.increment();
  }
  bar.stop();
  return rows;
}

export interface EvalOptions {
  overlays?: string;
  sets?: string[];
  quiet?: boolean;
  /** Which part of the tune / held-out split (default held-out). */
  split?: SplitChoice;
  /** Also run darkened copies (default true). */
  dark?: boolean;
  /** Also run the rendered small-face scenes (default true). */
  small?: boolean;
  /** Also run the rendered group photos (default true). */
  groups?: boolean;
  /** Also run FASSEG copies with the skin darkened to each of TONE_TARGETS, and with the hair in the skin's colour (default true). */
  tone?: boolean;
}

export async function runEval(engine: FaceEngine, dataDir: string, opts: EvalOptions): Promise<EvalReport> {
  if (!(await stat(dataDir).catch(() => null))) {
    throw dataMissing(`Evaluation data not found at ${dataDir} (expected the shared data folder with fasseg/ and people/)`);
  }
  const split = opts.split ?? 'heldout';
  const want = (s: string): boolean => !opts.sets || opts.sets.length === 0 || opts.sets.includes(s);
  const fasseg: FassegRow[] = [];
  const dark: EvalReport['dark'] = { fasseg: [], people: [] };
  const toned: FassegRow[] = [];
  const base = { overlayDir: opts.overlays, quiet: opts.quiet, split };
  for (const set of ['frontal02-train', 'multipose01-train']) {
    const d = path.join(dataDir, 'fasseg', set);
    if (!want(set) || !(await stat(d).catch(() => null))) continue;
    fasseg.push(...(await evalFasseg(engine, d, set, base)));
    if (opts.dark !== false) dark.fasseg.push(...(await evalFasseg(engine, d, set, { ...base, prep: darkPrep, as: `${set} dark` })));
    if (opts.tone !== false) {
      for (const target of TONE_TARGETS) toned.push(...(await evalFasseg(engine, d, set, { ...base, prep: tonePrep(target), as: `${set} ${toneSetSuffix(target)}`, itaOfInput: true })));
      toned.push(...(await evalFasseg(engine, d, set, { ...base, prep: hairPrep, as: `${set} ${HAIR_SET_SUFFIX}` })));
    }
  }
  const cihpDir = path.join(dataDir, 'cihp');
  if (want('cihp') && split !== 'tune' && (await stat(cihpDir).catch(() => null))) {
    fasseg.push(...(await evalCihp(engine, cihpDir, base)));
    if (opts.dark !== false) dark.fasseg.push(...(await evalCihp(engine, cihpDir, { ...base, prep: darkPrep, as: 'cihp dark' })));
  }
  const peopleDir = path.join(dataDir, 'people');
  const hasPeople = want('people') && split !== 'tune' && (await stat(peopleDir).catch(() => null)) !== null;
  const people = hasPeople ? await evalPeople(engine, peopleDir, base) : [];
  if (hasPeople && opts.dark !== false) {
    for (let draw = 0; draw < DARK_PEOPLE_DRAWS; draw++) dark.people.push(...(await evalPeople(engine, peopleDir, { ...base, prep: darkDraw(draw), as: 'dark', draw })));
  }
  const smallFaces = want('small') && opts.small !== false ? await evalSmallFaces(engine, dataDir, split, opts.dark !== false ? darkPrep : undefined) : [];
  const groups = want('groups') && opts.groups !== false ? await evalGroups(engine, dataDir, split) : [];
  return {
    modelVersion: engine.modelVersion,
    split,
    fasseg,
    people,
    dark,
    smallFaces,
    groups,
    toned,
    uncertainty: uncertaintyOf(fasseg, people, dark),
    summary: summarise([...fasseg, ...dark.fasseg], [...people, ...dark.people], smallFaces, toned, groups),
  };
}

function uncertaintyOf(fasseg: readonly FassegRow[], people: readonly PeopleRow[], dark: EvalReport['dark']): EvalReport['uncertainty'] {
  const rows = [
    ...fasseg.map((r) => fassegTask(r, 'original')),
    ...people.map((r) => peopleTask(r, 'original')),
    ...dark.fasseg.map((r) => fassegTask(r, 'dark')),
    ...dark.people.map((r) => peopleTask(r, 'dark')),
  ];
  return { rows, figures: uncertaintyFigures(rows) };
}
