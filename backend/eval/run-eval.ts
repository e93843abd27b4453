// `faceseg eval`: mask quality on FASSEG and face finding on the people sets.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readImageFile, readLabelMap, writeOverlay } from '../cli/image-files.js';
import { binaryUnion } from '../cli/segment.js';
import { progressBar } from '../cli/progress.js';
import { iou } from '../pipeline/geometry.js';
import type { Box, FaceEngine, Point } from '../pipeline/types.js';
import { chinRow, classMask, FASSEG_FACE, maskScores, meanOf, precisionOn } from './metrics.js';
import { darken, fassegTask, peopleTask, uncertaintyFigures, type UncertaintyFigure, type UncertaintyRow } from './uncertainty.js';
import type { RgbImage } from '../pipeline/types.js';

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
  score: number;
}

export interface EvalReport {
  modelVersion: string;
  fasseg: FassegRow[];
  people: PeopleRow[];
  summary: Record<string, Record<string, number>>;
  /** Task score against "needs a fix", original images and dark copies. */
  uncertainty: { rows: UncertaintyRow[]; figures: UncertaintyFigure[] };
}

interface FassegEntry {
  image: string;
  label: string;
  yaw: string;
}

export async function evalFasseg(engine: FaceEngine, dir: string, set: string, overlayDir?: string, quiet = false, transform?: (img: RgbImage) => RgbImage): Promise<FassegRow[]> {
  const entries = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[];
  const rows: FassegRow[] = [];
  const bar = progressBar(entries.length, set, quiet);
  for (const e of entries) {
    const read = await readImageFile(path.join(dir, e.image));
    const img = transform ? transform(read) : read;
    const label = await readLabelMap(path.join(dir, e.label));
    if (label.width !== img.width || label.height !== img.height) throw new Error(`${e.label}: size differs from ${e.image}`);
    const t0 = performance.now();
    const res = await engine.segment(img);
    const ms = performance.now() - t0;
    const pred = binaryUnion(res);
    const truth = classMask(label.data, FASSEG_FACE);
    const chin = chinRow(label.data, label.width, label.height);
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
      set,
      image: e.image,
      yaw: Number(e.yaw),
      found,
      falseFaces,
      iou: s.iou,
      precision: s.precision,
      recall: s.recall,
      precisionWithNeck: precisionOn(pred, label.data, FASSEG_FACE),
      score: res.score,
      ms,
    });
    if (overlayDir) await writeOverlay(path.join(overlayDir, set, `${path.parse(e.image).name}.jpg`), img, pred, truth);
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
async function peopleTruth(dir: string): Promise<{ set: string; file: string; heads: { center: Point; box?: Box }[] }[]> {
  const out: { set: string; file: string; heads: { center: Point; box?: Box }[] }[] = [];
  const add = async (set: string, json: string, kind: 'coco' | 'face_box' | 'bbox'): Promise<void> => {
    const p = path.join(dir, set, json);
    if (!(await stat(p).catch(() => null))) return;
    const d = JSON.parse(await readFile(p, 'utf8')) as CocoLike;
    for (const im of d.images) {
      const heads: { center: Point; box?: Box }[] = [];
      for (const a of d.annotations.filter((x) => x.image_id === im.id && !x.iscrowd)) {
        if (kind === 'coco' && a.keypoints) {
          const vis: Point[] = [];
          for (let k = 0; k < 5; k++) if (a.keypoints[k * 3 + 2] > 0) vis.push({ x: a.keypoints[k * 3], y: a.keypoints[k * 3 + 1] });
          if (vis.length >= 2) heads.push({ center: { x: meanOf(vis.map((v) => v.x)), y: meanOf(vis.map((v) => v.y)) } });
        } else {
          const b = kind === 'face_box' ? a.face_box : a.bbox;
          if (!b || b[2] <= 0 || b[3] <= 0) continue;
          const box = { x: b[0], y: b[1], width: b[2], height: b[3] };
          heads.push({ center: { x: b[0] + b[2] / 2, y: b[1] + b[3] / 2 }, box });
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

export async function evalPeople(engine: FaceEngine, dir: string, overlayDir?: string, quiet = false, transform?: (img: RgbImage) => RgbImage): Promise<PeopleRow[]> {
  const truth = await peopleTruth(dir);
  const rows: PeopleRow[] = [];
  const bar = progressBar(truth.length, 'people', quiet);
  for (const t of truth) {
    const read = await readImageFile(t.file);
    const img = transform ? transform(read) : read;
    const res = await engine.segment(img);
    const used = new Set<number>();
    let found = 0;
    for (const h of t.heads) {
      const idx = res.faces.findIndex((f, i) => !used.has(i) && (inside(h.center, f.box, 0.25) || (h.box !== undefined && iou(h.box, f.box) > 0.3)));
      if (idx >= 0) {
        used.add(idx);
        found++;
      }
    }
    rows.push({ set: t.set, image: path.basename(t.file), present: t.heads.length, found, predicted: res.faces.length, unmatched: res.faces.length - used.size, score: res.score });
    if (overlayDir) await writeOverlay(path.join(overlayDir, 'people', `${t.set}_${path.parse(t.file).name}.jpg`), img, binaryUnion(res));
    bar.increment();
  }
  bar.stop();
  return rows;
}

export function summarise(f: FassegRow[], p: PeopleRow[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const group = (key: string, rows: FassegRow[]): void => {
    if (rows.length === 0) return;
    out[key] = {
      images: rows.length,
      found: rows.filter((r) => r.found).length,
      falseFaces: rows.reduce((a, r) => a + r.falseFaces, 0),
      meanIoU: meanOf(rows.map((r) => r.iou)),
      precision: meanOf(rows.map((r) => r.precision)),
      recall: meanOf(rows.map((r) => r.recall)),
      msPerImage: meanOf(rows.map((r) => r.ms)),
    };
  };
  for (const set of [...new Set(f.map((r) => r.set))]) {
    const rows = f.filter((r) => r.set === set);
    group(set, rows);
    if (new Set(rows.map((r) => r.yaw)).size > 1) {
      for (const yaw of [...new Set(rows.map((r) => Math.abs(r.yaw)))].sort((a, b) => a - b)) group(`${set} |yaw|=${yaw}`, rows.filter((r) => Math.abs(r.yaw) === yaw));
      group(`${set} |yaw|<=60`, rows.filter((r) => Math.abs(r.yaw) <= 60));
    }
  }
  for (const set of [...new Set(p.map((r) => r.set))]) {
    const rows = p.filter((r) => r.set === set);
    out[`people/${set}`] = {
      images: rows.length,
      present: rows.reduce((a, r) => a + r.present, 0),
      found: rows.reduce((a, r) => a + r.found, 0),
      unmatchedFaces: rows.reduce((a, r) => a + r.unmatched, 0),
    };
  }
  return out;
}

export function formatTable(summary: Record<string, Record<string, number>>): string {
  const lines: string[] = [];
  const fmt = (v: number | undefined, d = 3): string => (v === undefined || Number.isNaN(v) ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(d));
  lines.push(['set', 'images', 'found', 'false', 'IoU', 'prec', 'recall', 'ms/img'].map((h, i) => (i === 0 ? h.padEnd(32) : h.padStart(8))).join(''));
  for (const [k, v] of Object.entries(summary)) {
    if (k.startsWith('people/')) continue;
    lines.push([k.padEnd(32), fmt(v.images), fmt(v.found), fmt(v.falseFaces), fmt(v.meanIoU), fmt(v.precision), fmt(v.recall), fmt(v.msPerImage, 0)].map((s, i) => (i === 0 ? s : s.padStart(8))).join(''));
  }
  const people = Object.entries(summary).filter(([k]) => k.startsWith('people/'));
  if (people.length) {
    lines.push('');
    lines.push(['people set', 'images', 'faces', 'found', 'extra'].map((h, i) => (i === 0 ? h.padEnd(32) : h.padStart(8))).join(''));
    for (const [k, v] of people) lines.push([k.padEnd(32), fmt(v.images), fmt(v.present), fmt(v.found), fmt(v.unmatchedFaces)].map((s, i) => (i === 0 ? s : s.padStart(8))).join(''));
  }
  return lines.join('\n');
}

export async function runEval(engine: FaceEngine, dataDir: string, opts: { overlays?: string; sets?: string[]; quiet?: boolean; darkCopies?: boolean }): Promise<EvalReport> {
  if (!(await stat(dataDir).catch(() => null))) {
    throw new Error(`Evaluation data not found at ${dataDir} (expected the shared data folder with fasseg/ and people/)`);
  }
  const want = (s: string): boolean => !opts.sets || opts.sets.length === 0 || opts.sets.includes(s);
  const fasseg: FassegRow[] = [];
  for (const set of ['frontal02-train', 'multipose01-train']) {
    const d = path.join(dataDir, 'fasseg', set);
    if (want(set) && (await stat(d).catch(() => null))) fasseg.push(...(await evalFasseg(engine, d, set, opts.overlays, opts.quiet)));
  }
  const peopleDir = want('people') && (await stat(path.join(dataDir, 'people')).catch(() => null)) ? path.join(dataDir, 'people') : undefined;
  const people = peopleDir ? await evalPeople(engine, peopleDir, opts.overlays, opts.quiet) : [];
  const rows = [...fasseg.map((r) => fassegTask(r, 'original')), ...people.map((r) => peopleTask(r, 'original'))];
  if (opts.darkCopies !== false) {
    for (const set of [...new Set(fasseg.map((r) => r.set))]) {
      const dark = await evalFasseg(engine, path.join(dataDir, 'fasseg', set), `${set}`, undefined, opts.quiet, (img) => darken(img));
      rows.push(...dark.map((r) => fassegTask(r, 'dark')));
    }
    if (peopleDir) rows.push(...(await evalPeople(engine, peopleDir, undefined, opts.quiet, (img) => darken(img))).map((r) => peopleTask(r, 'dark')));
  }
  return { modelVersion: engine.modelVersion, fasseg, people, summary: summarise(fasseg, people), uncertainty: { rows, figures: uncertaintyFigures(rows) } };
}
