// Eval scenes with small faces: many FASSEG heads shrunk so the face (not the
// whole head cut-out) is about `facePx` pixels tall, scattered without overlap
// over a generated 1920x1080 background. Scoring: a predicted face counts
// when its box centre lies in an unused head box; the rest are false faces.
import sharp from 'sharp';
import type { Box, RgbImage } from '../pipeline/types.js';
import { seededRandom, shuffleInPlace } from '../util/random.js';
import { backgroundSvg, cutHead, cutPiece, type Cutout, type FassegEntry } from './scenes.js';

/** A head cut-out runs from the hair to the neck cut: about 1.6 face heights. */
export const HEAD_PER_FACE = 1.6;

/** With people in front, the small heads fill this top share of the frame (the people take the lower 0.6). */
const CROWD_BAND = 0.4;

export interface SmallFaceScene {
  image: RgbImage;
  heads: Box[];
  /** Heads of the large people in front (opts.foreground), not counted as small faces. */
  people: Box[];
}

/**
 * Non-overlapping spots for `n` boxes of w x h in a W x H image: a jittered
 * grid, so no two heads share a cell. Pure.
 */
export function scatter(n: number, w: number, h: number, W: number, H: number, r: () => number): Box[] {
  const cols = Math.ceil(Math.sqrt((n * W) / H));
  const rows = Math.ceil(n / cols);
  const cw = W / cols;
  const ch = H / rows;
  if (cw < w || ch < h) throw new RangeError(`${n} boxes of ${w}x${h} do not fit in ${W}x${H}`);
  const cells = Array.from({ length: cols * rows }, (_, i) => i);
  // seeded shuffle: which cells stay empty varies by scene
  shuffleInPlace(cells, r);
  return cells.slice(0, n).map((c) => ({
    x: Math.round((c % cols) * cw + r() * (cw - w)),
    y: Math.round(Math.floor(c / cols) * ch + r() * (ch - h)),
    width: w,
    height: h,
  }));
}

/** Found heads and false faces: each box centre claims at most one head. Pure. */
export function matchHeads(heads: readonly Box[], boxes: readonly Box[], margin = 0.25): { found: number; falseFaces: number } {
  const used = new Set<number>();
  let falseFaces = 0;
  for (const b of boxes) {
    const cx = b.x + b.width / 2;
    const cy = b.y + b.height / 2;
    const i = heads.findIndex((hd, j) => {
      const mx = hd.width * margin;
      const my = hd.height * margin;
      return !used.has(j) && cx >= hd.x - mx && cx <= hd.x + hd.width + mx && cy >= hd.y - my && cy <= hd.y + hd.height + my;
    });
    if (i >= 0) used.add(i);
    else falseFaces++;
  }
  return { found: used.size, falseFaces };
}

/** `n` whole photos, 0.6 of the frame tall, spread along its bottom edge, added to `layers`; their head boxes. */
async function pastePeople(sources: readonly { dir: string; e: FassegEntry }[], n: number, W: number, H: number, r: () => number, layers: { input: Buffer; left: number; top: number }[]): Promise<Box[]> {
  const people: Box[] = [];
  for (let k = 0; k < n; k++) {
    const src = sources[Math.floor(r() * sources.length)];
    const p = await cutPiece(src.dir, src.e, false);
    const ph = Math.round(H * 0.6);
    const pw = Math.round((p.width * ph) / p.height);
    const left = Math.max(0, Math.min(W - pw, Math.round(((k + 0.5) * W) / n - pw / 2)));
    layers.push({ input: await sharp(p.rgba, { raw: { width: p.width, height: p.height, channels: 4 } }).resize(pw, ph, { kernel: 'lanczos3' }).png().toBuffer(), left, top: H - ph });
    // a whole photo: the head is its upper middle
    people.push({ x: left + 0.15 * pw, y: H - ph + 0.05 * ph, width: 0.7 * pw, height: 0.7 * ph });
  }
  return people;
}

export async function renderSmallFaceScenes(
  sources: readonly { dir: string; e: FassegEntry }[],
  opts: {
    scenes: number;
    facesPerScene: number;
    facePx: number;
    width?: number;
    height?: number;
    seed: number;
    /** Whole photos of this many people, 0.6 of the frame tall, along the bottom; the small heads then fill the top band above them. */
    foreground?: number;
  },
): Promise<SmallFaceScene[]> {
  const W = opts.width ?? 1920;
  const H = opts.height ?? 1080;
  if (sources.length === 0) return [];
  const r = seededRandom(opts.seed);
  const cache = new Map<string, Cutout>();
  const out: SmallFaceScene[] = [];
  const headH = Math.round(opts.facePx * HEAD_PER_FACE);
  for (let s = 0; s < opts.scenes; s++) {
    const picks: Cutout[] = [];
    for (let k = 0; k < opts.facesPerScene; k++) {
      const src = sources[Math.floor(r() * sources.length)];
      const key = `${src.dir}/${src.e.image}`;
      let c = cache.get(key);
      if (!c) {
        c = await cutHead(src.dir, src.e);
        cache.set(key, c);
      }
      picks.push(c);
    }
    const maxW = Math.max(...picks.map((c) => Math.round((c.width * headH) / c.height)));
    const front = opts.foreground ?? 0;
    const spots = scatter(opts.facesPerScene, maxW, headH, W, front > 0 ? Math.round(H * CROWD_BAND) : H, r);
    const layers: { input: Buffer; left: number; top: number }[] = [];
    const heads: Box[] = [];
    const people = await pastePeople(sources, front, W, H, r, layers);
    for (let k = 0; k < picks.length; k++) {
      const c = picks[k];
      const hw = Math.max(4, Math.round((c.width * headH) / c.height));
      const spot = spots[k];
      const input = await sharp(c.rgba, { raw: { width: c.width, height: c.height, channels: 4 } }).resize(hw, headH, { kernel: 'lanczos3' }).png().toBuffer();
      layers.push({ input, left: spot.x, top: spot.y });
      heads.push({ x: spot.x, y: spot.y, width: hw, height: headH });
    }
    // JPEG round trip as a camera would deliver it
    const jpeg = await sharp(Buffer.from(backgroundSvg(W, H, r))).resize(W, H).composite(layers).flatten({ background: '#808080' }).jpeg({ quality: 90 }).toBuffer();
    const raw = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    out.push({ image: { width: raw.info.width, height: raw.info.height, data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length) }, heads, people });
  }
  return out;
}
