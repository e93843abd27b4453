// Small faces in large images: the detector shrinks a 1920x1080 photo to its
// 640-pixel input, where a 20-pixel face is 7 pixels and lost. When the whole-
// image pass suggests small faces may be there, the detector runs again on
// overlapping tiles of its own input size, at full resolution; when it only
// hints at one, a probe crop around the hint decides. Pure functions.
import { boxCenter, boxContains, iou } from './geometry.js';
import type { FaceDetection } from './ports.js';
import type { Box, RgbImage } from './types.js';

export interface TileOptions {
  /** Tile only when the longest side is at least this many detector inputs. */
  minScale: number;
  /**
   * ...and no face was found, or the smallest one is under this many pixels
   * at the detector's scale (faces near the detector's limit hint at more
   * beyond it).
   */
  smallAtInput: number;
  /** Overlap of neighbouring tiles in pixels: a small face cut by one tile lies whole in the next. */
  overlap: number;
  /**
   * ...or at least weakCount detections under the threshold but above
   * weakScore are that small: a crowd the whole-image pass half sees behind
   * people it found. Tune scenes of two large people before ten 20-px heads:
   * 4 of 12 had a small face above the threshold, 8 of 12 two or more small
   * ones above 0.1 (9 of 12 tile now, crowd faces found 40 -> 90 of 120);
   * rendered groups without a crowd, 0 of 30. At 0.05, every tune scene but
   * one would tile, and so would 3 more of the bench's four 1280x720 MPII
   * photos, finding nothing.
   */
  weakScore: number;
  weakCount: number;
  /**
   * When nothing else asks for tiles, the `probes` strongest weak small
   * detections above probeScore are looked at on full-resolution crops of
   * probeSide pixels, at that input size (about 5 ms each on one core; a
   * detector of one input size gets crops of that size instead); a
   * face there that the whole-image pass lacked confirms a crowd, and every
   * tile is searched (0 = off). Tune scenes of two people before ten small
   * heads (12 per size, 1280x720 and 1920x1080): crowd faces found at 14 px
   * 9 -> 54, 20 px 90 -> 110, 28 px 120 -> 120 of 120, no false face (crops
   * of 192 or 256 px found the same or one more). No probe ran on the 35
   * rendered tune groups nor on the bench's rendered 720p and 1080p scenes;
   * 3 of the bench's four 1280x720 MPII photos get two probes each, none
   * confirmed (about 10 ms each photo).
   */
  probes: number;
  probeScore: number;
  probeSide: number;
  /**
   * A weak detection within this many face sizes of a found face's centre
   * is that face's ear or hair, not a crowd: it is never probed (without
   * this, half the bench's rendered scenes were probed in vain).
   */
  probeClear: number;
  /**
   * Most tiles per image. A 4032x3024 photo (12 MP) needs 48 full-resolution
   * tiles; past that the tiles cover a copy shrunk until 48 do, so the work
   * stays bounded (a faceless 100 MP photo took 43 s of tiles) at the price
   * of the smallest faces: on a 48 MP photo a face must be about 40 px.
   */
  maxTiles: number;
}

export const DEFAULT_TILES: TileOptions = { minScale: 1.9, smallAtInput: 16, overlap: 96, weakScore: 0.1, weakCount: 2, probes: 2, probeScore: 0.03, probeSide: 160, probeClear: 1, maxTiles: 48 };

/** Whether an image is large enough for tiles at all (whatever its whole-image pass finds). */
export function tileSized(w: number, h: number, inputSide: number, o: TileOptions = DEFAULT_TILES): boolean {
  return Math.max(w, h) >= o.minScale * inputSide;
}

/** Whether a detection is under smallAtInput pixels at the detector's scale for a w x h image. */
function smallAtDetector(w: number, h: number, inputSide: number, o: TileOptions): (d: FaceDetection) => boolean {
  const scale = inputSide / Math.max(w, h);
  return (d) => Math.min(d.box.width, d.box.height) * scale < o.smallAtInput;
}

/**
 * Whether the whole-image pass's faces (`dets`) and, when given, its
 * detections under the threshold (`weak`) ask for tiles.
 */
export function needsTiles(w: number, h: number, inputSide: number, dets: readonly FaceDetection[], o: TileOptions = DEFAULT_TILES, weak: readonly FaceDetection[] = []): boolean {
  if (!tileSized(w, h, inputSide, o)) return false;
  if (dets.length === 0) return true;
  const small = smallAtDetector(w, h, inputSide, o);
  return dets.some(small) || weak.filter((d) => d.score > o.weakScore && small(d)).length >= o.weakCount;
}

/** Full-resolution crops around the strongest weak small detections, one per spot (a detection inside an earlier probe adds none). */
export function probeBoxes(w: number, h: number, inputSide: number, dets: readonly FaceDetection[], weak: readonly FaceDetection[], o: TileOptions = DEFAULT_TILES): Box[] {
  const small = smallAtDetector(w, h, inputSide, o);
  const side = Math.min(o.probeSide, w, h);
  const out: Box[] = [];
  const nearFace = (d: FaceDetection): boolean => {
    const c = boxCenter(d.box);
    return dets.some((f) => {
      const fc = boxCenter(f.box);
      const r = o.probeClear * Math.max(f.box.width, f.box.height);
      return Math.abs(c.x - fc.x) < r && Math.abs(c.y - fc.y) < r;
    });
  };
  const cands = weak.filter((d) => d.score > o.probeScore && small(d) && !nearFace(d)).sort((a, b) => b.score - a.score);
  for (const d of cands) {
    if (out.length >= o.probes) break;
    const c = boxCenter(d.box);
    if (out.some((b) => boxContains(b, c))) continue;
    const x = Math.round(Math.min(Math.max(c.x - side / 2, 0), w - side));
    const y = Math.round(Math.min(Math.max(c.y - side / 2, 0), h - side));
    out.push({ x, y, width: side, height: side });
  }
  return out;
}

/** Tiles of side `tile` (or the image side when smaller) covering w x h, neighbours overlapping by at least `overlap`. */
export function tileGrid(w: number, h: number, tile: number, overlap: number): Box[] {
  const starts = (len: number): number[] => {
    if (len <= tile) return [0];
    const n = Math.ceil((len - overlap) / (tile - overlap));
    const step = (len - tile) / (n - 1);
    return Array.from({ length: n }, (_, i) => Math.round(i * step));
  };
  const out: Box[] = [];
  for (const y of starts(h)) for (const x of starts(w)) out.push({ x, y, width: Math.min(tile, w), height: Math.min(tile, h) });
  return out;
}

/** The tiles of a w x h image: its full-resolution grid, or, past maxTiles, the grid over a copy shrunk by `scale` to width x height. */
export interface TilePlan {
  scale: number;
  width: number;
  height: number;
  grid: Box[];
}

export function tilePlan(w: number, h: number, tile: number, o: Pick<TileOptions, 'overlap' | 'maxTiles'> = DEFAULT_TILES): TilePlan {
  for (let scale = 1; ; scale *= 1.05) {
    const width = Math.max(1, Math.round(w / scale));
    const height = Math.max(1, Math.round(h / scale));
    const grid = tileGrid(width, height, tile, o.overlap);
    if (grid.length <= Math.max(1, o.maxTiles)) return { scale, width, height, grid };
  }
}

/** A detection on a copy shrunk by `scale`, in the original image's pixels. */
export function scaleDetection(d: FaceDetection, scale: number): FaceDetection {
  if (scale === 1) return d;
  return {
    box: { x: d.box.x * scale, y: d.box.y * scale, width: d.box.width * scale, height: d.box.height * scale },
    score: d.score,
    landmarks: d.landmarks.map((p) => ({ x: p.x * scale, y: p.y * scale })),
  };
}

export function cropImage(img: RgbImage, b: Box): RgbImage {
  const data = new Uint8Array(b.width * b.height * 3);
  for (let y = 0; y < b.height; y++) {
    const src = ((b.y + y) * img.width + b.x) * 3;
    data.set(img.data.subarray(src, src + b.width * 3), y * b.width * 3);
  }
  return { width: b.width, height: b.height, data };
}

export function shiftDetection(d: FaceDetection, dx: number, dy: number): FaceDetection {
  return {
    box: { x: d.box.x + dx, y: d.box.y + dy, width: d.box.width, height: d.box.height },
    score: d.score,
    landmarks: d.landmarks.map((p) => ({ x: p.x + dx, y: p.y + dy })),
  };
}

/** Whole-image detections first, then tile detections that overlap none already kept (highest score first). */
export function mergeDetections(base: readonly FaceDetection[], extra: readonly FaceDetection[], maxIou = 0.3): FaceDetection[] {
  const kept = [...base];
  for (const d of [...extra].sort((a, b) => b.score - a.score)) {
    // a tile-cut part of a big face: its centre lies inside a kept box
    if (kept.every((k) => iou(k.box, d.box) < maxIou && !boxContains(k.box, boxCenter(d.box)))) kept.push(d);
  }
  return kept;
}
