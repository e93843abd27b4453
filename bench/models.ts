// Compare the shipped face detectors on a folder of annotated photos and time
// every model on this machine.
//
//   npx tsx bench/models.ts [../shared/data/people] [--threads N] [--runs N]
//
// Reference faces per sub-folder (see ../shared/data/README.md):
//   coco/test_coco_wholebody.json  face_box where face_valid, else people with
//                                  >= 2 visible head keypoints (COCO 0-4)
//   mhp/test_mhp.json              face_box
//   cofw, lapa                     the annotation bbox (one face per image)
//   aic/test_aic.json              head top (12) + neck (13) visible
//   mpii/test_mpii.json            upper neck (8) + head top (9) visible
// A detection matches a reference box when its centre lies inside it, and a
// reference head segment when its centre lies within 0.75 x the segment
// length of the segment's midpoint; matching is one-to-one, best score first.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { loadModelSet, type ModelSet } from '../backend/models/index.js';
import { cropResize } from '../backend/pipeline/image-ops.js';
import type { FaceDetection } from '../backend/pipeline/ports.js';
import type { Box, Point, RgbImage } from '../backend/pipeline/types.js';

type Ref = { kind: 'box'; box: Box } | { kind: 'head'; at: Point; radius: number };
interface Sample {
  set: string;
  file: string;
  refs: Ref[];
}

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

const xywh = (b: number[]): Box => ({ x: b[0], y: b[1], width: b[2], height: b[3] });
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

function headRef(a: number[], b: number[]): Ref {
  const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
  return { kind: 'head', at: { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2 }, radius: Math.max(8, 0.75 * d) };
}

interface CocoFile {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; bbox: number[]; keypoints: number[]; face_box?: number[]; face_valid?: boolean }[];
}

function cocoSamples(dir: string, set: string, json: string, refOf: (a: CocoFile['annotations'][number]) => Ref | null): Sample[] {
  const f = path.join(dir, set, json);
  if (!existsSync(f)) return [];
  const d = readJson(f) as CocoFile;
  return d.images.map((im) => ({
    set,
    file: path.join(dir, set, im.file_name),
    refs: d.annotations.filter((a) => a.image_id === im.id).map(refOf).filter((r): r is Ref => r !== null),
  }));
}

function loadSamples(dir: string): Sample[] {
  const kp = (k: number[], i: number) => [k[3 * i], k[3 * i + 1], k[3 * i + 2]];
  const s: Sample[] = [];
  s.push(...cocoSamples(dir, 'coco', 'test_coco_wholebody.json', (a) => {
    if (a.face_valid && a.face_box && a.face_box[2] > 0) return { kind: 'box', box: xywh(a.face_box) };
    const head = [0, 1, 2, 3, 4].map((i) => kp(a.keypoints, i)).filter((p) => p[2] > 0);
    if (head.length < 2) return null;
    const xs = head.map((p) => p[0]);
    const ys = head.map((p) => p[1]);
    const cx = xs.reduce((u, v) => u + v, 0) / xs.length;
    const cy = ys.reduce((u, v) => u + v, 0) / ys.length;
    const spread = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    return { kind: 'head', at: { x: cx, y: cy }, radius: Math.max(8, spread) };
  }));
  s.push(...cocoSamples(dir, 'mhp', 'test_mhp.json', (a) => (a.face_box && a.face_box[2] > 0 ? { kind: 'box', box: xywh(a.face_box) } : null)));
  for (const set of ['cofw', 'lapa']) {
    s.push(...cocoSamples(dir, set, `test_${set}.json`, (a) => ({ kind: 'box', box: xywh(a.bbox) })));
  }
  s.push(...cocoSamples(dir, 'aic', 'test_aic.json', (a) => {
    const top = kp(a.keypoints, 12);
    const neck = kp(a.keypoints, 13);
    return top[2] > 0 && neck[2] > 0 ? headRef(top, neck) : null;
  }));
  const mpii = path.join(dir, 'mpii', 'test_mpii.json');
  if (existsSync(mpii)) {
    const byImage = new Map<string, Ref[]>();
    for (const p of readJson(mpii) as { image: string; joints: number[][]; joints_vis: number[] }[]) {
      const refs = byImage.get(p.image) ?? [];
      if (p.joints_vis[8] && p.joints_vis[9]) refs.push(headRef(p.joints[8], p.joints[9]));
      byImage.set(p.image, refs);
    }
    for (const [image, refs] of byImage) s.push({ set: 'mpii', file: path.join(dir, 'mpii', image), refs });
  }
  return s.filter((x) => existsSync(x.file));
}

function centre(b: Box): Point {
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

function matches(d: FaceDetection, r: Ref): boolean {
  const c = centre(d.box);
  if (r.kind === 'box') return c.x >= r.box.x && c.x <= r.box.x + r.box.width && c.y >= r.box.y && c.y <= r.box.y + r.box.height;
  return Math.hypot(c.x - r.at.x, c.y - r.at.y) <= r.radius;
}

function countMatches(dets: FaceDetection[], refs: Ref[]): number {
  const used = new Set<number>();
  let n = 0;
  for (const d of [...dets].sort((a, b) => b.score - a.score)) {
    const k = refs.findIndex((r, i) => !used.has(i) && matches(d, r));
    if (k >= 0) {
      used.add(k);
      n++;
    }
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

async function time<T>(runs: number, f: () => Promise<T>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const dir = path.resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '../shared/data/people');
  if (!existsSync(dir)) {
    console.error(`data folder ${dir} not found (pass the path to shared/data/people)`);
    process.exit(2);
  }
  const threads = opt('--threads', 0) || undefined;
  const runs = opt('--runs', 3);
  const samples = loadSamples(dir);
  console.log(`${samples.length} images from ${dir}; threads ${threads ?? 'default'}; median of ${runs} runs\n`);

  const sets: { name: string; ms: ModelSet }[] = [
    { name: 'centerface@640', ms: await loadModelSet({ provider: 'cpu', threads }) },
    { name: 'centerface@1024', ms: await loadModelSet({ provider: 'cpu', threads, faceDetector: { maxSide: 1024 } }) },
    { name: 'blazeface-back-256', ms: await loadModelSet({ provider: 'cpu', threads, select: { 'face-detector': 'blazeface-back-256' } }) },
  ];
  const main = sets[0].ms;

  const rows: string[] = [];
  const totals = new Map<string, { found: number; dets: number }>();
  let refsTotal = 0;
  const timing: Record<string, number[]> = { keypoints: [], 'mesh x1': [], 'mesh x4 (per call)': [] };
  for (const s of sets) timing[s.name] = [];
  const perSet = new Map<string, { refs: number; found: Map<string, number>; dets: Map<string, number> }>();
  for (const sample of samples) {
    const img = await decode(sample.file);
    refsTotal += sample.refs.length;
    const ps = perSet.get(sample.set) ?? { refs: 0, found: new Map(), dets: new Map() };
    ps.refs += sample.refs.length;
    const cells: string[] = [];
    for (const s of sets) {
      const dets = await s.ms.faceDetector.detect(img);
      timing[s.name].push(await time(runs, () => s.ms.faceDetector.detect(img)));
      const found = countMatches(dets, sample.refs);
      const t = totals.get(s.name) ?? { found: 0, dets: 0 };
      t.found += found;
      t.dets += dets.length;
      totals.set(s.name, t);
      ps.found.set(s.name, (ps.found.get(s.name) ?? 0) + found);
      ps.dets.set(s.name, (ps.dets.get(s.name) ?? 0) + dets.length);
      cells.push(`${found}/${dets.length}`);
    }
    perSet.set(sample.set, ps);
    timing.keypoints.push(await time(runs, () => main.keypoints.detect(img)));
    const crop = cropResize(img, { x: 0, y: 0, width: Math.min(img.width, img.height), height: Math.min(img.width, img.height) }, 192, 192);
    timing['mesh x1'].push(await time(runs, () => main.faceLandmarks.run([crop])));
    timing['mesh x4 (per call)'].push(await time(runs, () => main.faceLandmarks.run([crop, crop, crop, crop])));
    rows.push(`| ${sample.set}/${path.basename(sample.file)} | ${img.width}x${img.height} | ${sample.refs.length} | ${cells.join(' | ')} |`);
  }

  console.log('Faces found: matched references / detections (threshold 0.5)\n');
  console.log(`| image | size | refs | ${sets.map((s) => s.name).join(' | ')} |`);
  console.log(`|---|---|---|${sets.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(r);
  console.log(`| **total** | | ${refsTotal} | ${sets.map((s) => `${totals.get(s.name)!.found}/${totals.get(s.name)!.dets}`).join(' | ')} |`);
  console.log('\nPer set (matched/refs, detections):');
  for (const [name, ps] of perSet) {
    console.log(`  ${name.padEnd(6)} refs ${String(ps.refs).padStart(3)}  ` + sets.map((s) => `${s.name} ${ps.found.get(s.name)}/${ps.refs} (${ps.dets.get(s.name)} dets)`).join('  '));
  }
  console.log('\nMedian inference time per image, ms (includes pre/post-processing in JS):');
  for (const [k, v] of Object.entries(timing)) console.log(`  ${k.padEnd(22)} ${median(v).toFixed(1)}`);
  for (const s of sets) await s.ms.close();
}

await main();
