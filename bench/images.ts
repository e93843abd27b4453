// The benchmark's images: a fixed set from the shared data folder, plus
// scenes it renders itself at 640x480, 1280x720 and 1920x1080 with 1, 3 and
// 10 real faces (heads cut out of FASSEG multipose photos with their label maps and
// composited with sharp onto generated backgrounds). Everything is decided by
// a seeded PRNG, so two runs (or two machines) see the same pixels.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../backend/pipeline/types.js';
import { rng } from './stats.js';
import { backgroundSvg, cutHead, type Cutout, type FassegEntry } from '../backend/eval/scenes.js';

export interface BenchImage {
  /** Stable id, e.g. "fasseg/frontal02_1.jpg" or "synth/1280x720-3f-0". */
  id: string;
  /** Row of the results table this image counts in. */
  group: string;
  /** Encoded JPEG (what a client would send). */
  bytes: Buffer;
  width: number;
  height: number;
  /** Synthetic scenes: where the pasted heads are, and the scene parameters. */
  synth?: { width: number; height: number; faces: number; heads: Box[] };
}

export const SIZES: ReadonlyArray<readonly [number, number]> = [
  [640, 480],
  [1280, 720],
  [1920, 1080],
];
export const FACE_COUNTS = [1, 3, 10] as const;

/** The table row of the FASSEG portraits. */
export const FASSEG_GROUP = 'fasseg (1 face, ~400x512)';

export const synthGroup = (w: number, h: number, faces: number): string => `synth ${w}x${h} ${faces}f`;

export class DataMissingError extends Error {
  constructor(dir: string, what: string) {
    super(
      `Benchmark data not found: ${what} under ${dir}. The bench needs the shared data folder (fasseg/frontal02-train, ` +
        `fasseg/multipose01-train, people/), by default ../shared/data next to the repository; pass --data DIR.`,
    );
    this.name = 'DataMissingError';
  }
}

export function fassegIndex(dataDir: string, set: string): { dir: string; entries: FassegEntry[] } {
  const dir = path.join(dataDir, 'fasseg', set);
  const idx = path.join(dir, 'index.json');
  if (!existsSync(idx)) throw new DataMissingError(dataDir, `fasseg/${set}/index.json`);
  return { dir, entries: JSON.parse(readFileSync(idx, 'utf8')) as FassegEntry[] };
}

/** Every image file of people/* (sorted), for the fixed set. */
function peopleFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'people');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const sub of ['coco', 'mhp', 'cofw', 'lapa', 'aic', 'mpii']) {
    const d = path.join(root, sub);
    if (!existsSync(d)) continue;
    const files = readdirSync(d).filter((f) => /\.(jpe?g|png)$/i.test(f) && !/_label\.png$/i.test(f)).sort();
    for (const f of files) out.push(path.join(d, f));
  }
  return out;
}

/** Spread `k` picks over `n` items: 0, n/k, 2n/k ... */
function spread<T>(items: readonly T[], k: number): T[] {
  if (k >= items.length) return [...items];
  return Array.from({ length: k }, (_, i) => items[Math.floor((i * items.length) / k)]);
}

async function jpegInfo(bytes: Buffer): Promise<{ width: number; height: number }> {
  const m = await sharp(bytes).rotate().metadata();
  const swap = (m.orientation ?? 1) >= 5;
  return { width: (swap ? m.height : m.width) ?? 0, height: (swap ? m.width : m.height) ?? 0 };
}

/** The fixed real-photo set: FASSEG frontal and multipose picks, and the people photos. */
export async function fixedImages(dataDir: string, quick: boolean): Promise<BenchImage[]> {
  const out: BenchImage[] = [];
  const frontal = fassegIndex(dataDir, 'frontal02-train');
  const multi = fassegIndex(dataDir, 'multipose01-train');
  const picks: { dir: string; e: FassegEntry }[] = [
    ...spread(frontal.entries, quick ? 2 : 6).map((e) => ({ dir: frontal.dir, e })),
    ...spread(multi.entries, quick ? 2 : 8).map((e) => ({ dir: multi.dir, e })),
  ];
  for (const { dir, e } of picks) {
    const bytes = await readFile(path.join(dir, e.image));
    out.push({ id: `fasseg/${e.image}`, group: FASSEG_GROUP, bytes, ...(await jpegInfo(bytes)) });
  }
  const people = peopleFiles(dataDir);
  if (people.length === 0) throw new DataMissingError(dataDir, 'people/*/ images');
  for (const f of spread(people, quick ? 3 : people.length)) {
    const bytes = await readFile(f);
    out.push({ id: `people/${path.basename(path.dirname(f))}/${path.basename(f)}`, group: 'people (COCO etc.)', bytes, ...(await jpegInfo(bytes)) });
  }
  return out;
}

/**
 * Head height (hair to neck cut, about 1.6 face heights) as a share of the
 * image height, by faces in the scene: a portrait, a small group, a crowd.
 */
const HEAD_SHARE: Record<number, number> = { 1: 0.62, 3: 0.42, 10: 0.24 };

function grid(n: number, w: number, h: number): { cols: number; rows: number } {
  if (n === 1) return { cols: 1, rows: 1 };
  let best = { cols: n, rows: 1 };
  let bestScore = Infinity;
  for (let rows = 1; rows <= n; rows++) {
    const cols = Math.ceil(n / rows);
    // cells a little taller than wide suit heads; penalise empty cells
    const aspect = w / cols / (h / rows);
    const score = Math.abs(Math.log(aspect / 0.8)) + (cols * rows - n) * 0.3;
    if (score < bestScore) {
      bestScore = score;
      best = { cols, rows };
    }
  }
  return best;
}

/**
 * Render `variants` scenes per size and face count. Heads come from FASSEG
 * multipose01 with |yaw| <= 45 (what a group photo mostly holds).
 */
export async function syntheticImages(dataDir: string, opts: { seed: number; variants: number; sizes?: typeof SIZES; faceCounts?: readonly number[] }): Promise<BenchImage[]> {
  // frontal02 photos are cropped tight (hair labels run to the frame), so
  // their cut-outs would be rectangles: heads come from multipose01 only
  const multi = fassegIndex(dataDir, 'multipose01-train');
  const sources = multi.entries.filter((e) => Math.abs(Number(e.yaw)) <= 45).map((e) => ({ dir: multi.dir, e }));
  const r = rng(opts.seed);
  const cache = new Map<string, Cutout>();
  const head = async (i: number): Promise<Cutout> => {
    const s = sources[i % sources.length];
    const key = `${s.dir}/${s.e.image}`;
    let c = cache.get(key);
    if (!c) {
      c = await cutHead(s.dir, s.e);
      cache.set(key, c);
    }
    return c;
  };
  const out: BenchImage[] = [];
  for (const [w, h] of opts.sizes ?? SIZES) {
    for (const n of opts.faceCounts ?? FACE_COUNTS) {
      for (let v = 0; v < opts.variants; v++) {
        const { cols, rows } = grid(n, w, h);
        const cellW = w / cols;
        const cellH = h / rows;
        const layers: { input: Buffer; left: number; top: number }[] = [];
        const heads: Box[] = [];
        for (let k = 0; k < n; k++) {
          const c = await head(Math.floor(r() * sources.length));
          const targetH = Math.min(cellH * 0.95, HEAD_SHARE[n] !== undefined ? HEAD_SHARE[n] * h * (0.85 + 0.3 * r()) : cellH * 0.8);
          let scale = targetH / c.height;
          if (c.width * scale > cellW * 0.95) scale = (cellW * 0.95) / c.width;
          const hw = Math.max(8, Math.round(c.width * scale));
          const hh = Math.max(8, Math.round(c.height * scale));
          const col = k % cols;
          const row = Math.floor(k / cols);
          const left = Math.round(col * cellW + r() * Math.max(0, cellW - hw));
          const top = Math.round(row * cellH + r() * Math.max(0, cellH - hh));
          const resized = await sharp(c.rgba, { raw: { width: c.width, height: c.height, channels: 4 } })
            .resize(hw, hh, { kernel: 'lanczos3' })
            .png()
            .toBuffer();
          layers.push({ input: resized, left, top });
          heads.push({ x: left, y: top, width: hw, height: hh });
        }
        const bytes = await sharp(Buffer.from(backgroundSvg(w, h, r)))
          .resize(w, h)
          .composite(layers)
          .flatten({ background: '#808080' })
          .jpeg({ quality: 90, chromaSubsampling: '4:2:0' })
          .toBuffer();
        out.push({ id: `synth/${w}x${h}-${n}f-${v}`, group: synthGroup(w, h, n), bytes, width: w, height: h, synth: { width: w, height: h, faces: n, heads } });
      }
    }
  }
  return out;
}

/** Faces that landed on a pasted head (centre inside its box), for a sanity column. */
export function headsFound(heads: readonly Box[], boxes: readonly Box[]): number {
  const used = new Set<number>();
  for (const b of boxes) {
    const cx = b.x + b.width / 2;
    const cy = b.y + b.height / 2;
    const i = heads.findIndex((hd, j) => !used.has(j) && cx >= hd.x && cx <= hd.x + hd.width && cy >= hd.y && cy <= hd.y + hd.height);
    if (i >= 0) used.add(i);
  }
  return used.size;
}
