// Eval scenes of groups in large photos: 1-6 FASSEG people of one split, at
// every yaw, pasted into 1080x1080 to 1920x1080 frames (also upright ones) as
// head cut-outs or as whole photos (head and shoulders, so the keypoint model
// sees bodies). Large images take their own detector paths (the medium pass
// up to 1215 px, tiles beyond) that the portrait sets never reach. Each scene carries a label
// canvas, so masks are scored against FASSEG's truth as the portraits are:
// face classes above each person's chin, inside their pasted box.
import sharp from 'sharp';
import type { Box, RgbImage } from '../pipeline/types.js';
import { seededRandom } from '../util/random.js';
import { chinRow } from './metrics.js';
import { backgroundSvg, cutPiece, type FassegEntry, type LabelledPiece } from './scenes.js';
import { scatter } from './small-faces.js';

export interface GroupScene {
  /** e.g. "1600x900 cut-outs 3x 160px". */
  name: string;
  image: RgbImage;
  /** Where each person's head lies (a found face's box centre claims one). */
  heads: Box[];
  /** FASSEG class per pixel (0 outside every person). */
  label: Uint8Array;
  /** Pixels that count for the mask score: each pasted person's box above their chin. */
  counted: Uint8Array;
}

export const GROUP_SCENES = { scenes: 35, seed: 29 } as const;

// 1200x800 and 1080x1080 are under tile size (1216): the medium detector pass's range
const FRAMES: readonly (readonly [number, number])[] = [
  [1280, 720],
  [1600, 900],
  [1920, 1080],
  [1080, 1350],
  [1280, 960],
  [1200, 800],
  [1080, 1080],
];
const PEOPLE = [1, 2, 3, 4, 6];
/** Face height as a share of the frame's longest side: from a crowd's edge to a close group. */
const FACE_SHARE = { min: 0.04, max: 0.22 };
/** A cut-out head runs from the hair to the neck cut: about 1.6 face heights; a whole FASSEG photo is about 2.2. */
const HEAD_PER_FACE = 1.6;
const PHOTO_PER_FACE = 1 / 0.45;

/** Nearest-neighbour resize of a class map (classes must not blend). Pure. */
export function resizeLabels(l: Uint8Array, w: number, h: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / H)) * w;
    for (let x = 0; x < W; x++) out[y * W + x] = l[sy + Math.min(w - 1, Math.floor(((x + 0.5) * w) / W))];
  }
  return out;
}

/**
 * Paint one pasted person into the label and counted canvases: their classes
 * (a cut-out only where labelled), and their box above the chin as counted.
 */
function paintTruth(scene: { label: Uint8Array; counted: Uint8Array; W: number; H: number }, lab: Uint8Array, w: number, h: number, at: Box, cut: boolean): void {
  const chin = chinRow(lab, w, h);
  for (let y = 0; y < h; y++) {
    const Y = at.y + y;
    if (Y >= scene.H) break;
    for (let x = 0; x < w; x++) {
      const X = at.x + x;
      if (X >= scene.W) break;
      const v = lab[y * w + x];
      if (!cut || v) scene.label[Y * scene.W + X] = v;
      if (y < chin) scene.counted[Y * scene.W + X] = 1;
    }
  }
}

/** `count` scenes from `sources` (the split's photos), seeded: the same pixels on every run. */
export async function renderGroupScenes(sources: readonly { dir: string; e: FassegEntry }[], opts: { scenes: number; seed: number }): Promise<GroupScene[]> {
  if (sources.length === 0) return [];
  const r = seededRandom(opts.seed);
  const cache = new Map<string, LabelledPiece>();
  const piece = async (s: { dir: string; e: FassegEntry }, cut: boolean): Promise<LabelledPiece> => {
    const key = `${cut}:${s.dir}/${s.e.image}`;
    let p = cache.get(key);
    if (!p) cache.set(key, (p = await cutPiece(s.dir, s.e, cut)));
    return p;
  };
  const out: GroupScene[] = [];
  for (let i = 0; i < opts.scenes; i++) {
    const [W, H] = FRAMES[i % FRAMES.length];
    const n = PEOPLE[Math.floor(r() * PEOPLE.length)];
    const cut = r() < 0.5;
    const pieces = await Promise.all(Array.from({ length: n }, () => piece(sources[Math.floor(r() * sources.length)], cut)));
    const perFace = cut ? HEAD_PER_FACE : PHOTO_PER_FACE;
    // the largest face that fits this many people, shrunk until scatter finds room
    let facePx = Math.round(Math.max(W, H) * (FACE_SHARE.min + r() * (FACE_SHARE.max - FACE_SHARE.min)));
    let spots: Box[] | null = null;
    let ph = 0;
    let sizes: number[] = [];
    while (!spots) {
      ph = Math.round(facePx * perFace);
      sizes = pieces.map((p) => Math.max(4, Math.round((p.width * ph) / p.height)));
      try {
        spots = scatter(n, Math.max(...sizes), ph, W, H, r);
      } catch {
        facePx = Math.floor(facePx * 0.85);
      }
    }
    const scene = { label: new Uint8Array(W * H), counted: new Uint8Array(W * H), W, H };
    const layers: { input: Buffer; left: number; top: number }[] = [];
    const heads: Box[] = [];
    for (let k = 0; k < n; k++) {
      const p = pieces[k];
      const w = sizes[k];
      const at = { x: spots[k].x, y: spots[k].y, width: w, height: ph };
      layers.push({ input: await sharp(p.rgba, { raw: { width: p.width, height: p.height, channels: 4 } }).resize(w, ph, { kernel: 'lanczos3' }).png().toBuffer(), left: at.x, top: at.y });
      // a whole photo: the head is its upper middle
      heads.push(cut ? at : { x: at.x + 0.15 * w, y: at.y + 0.05 * ph, width: 0.7 * w, height: 0.7 * ph });
      paintTruth(scene, resizeLabels(p.label, p.width, p.height, w, ph), w, ph, at, cut);
    }
    const jpeg = await sharp(Buffer.from(backgroundSvg(W, H, r))).resize(W, H).composite(layers).flatten({ background: '#808080' }).jpeg({ quality: 90 }).toBuffer();
    const raw = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    out.push({
      name: `${W}x${H} ${cut ? 'cut-outs' : 'photos'} ${n}x ${facePx}px`,
      image: { width: raw.info.width, height: raw.info.height, data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length) },
      heads,
      label: scene.label,
      counted: scene.counted,
    });
  }
  return out;
}
