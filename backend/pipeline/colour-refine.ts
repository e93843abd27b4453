// Pixel-level refinement of a landmark face region: a per-face skin colour
// model sampled from the inner face decides the pixels in a band around the
// mesh edge (forehead up to the hairline, ears, hair fringes, profile edges).
// Works in crop space, where the face is upright (the crop removes roll).
import { connectedTo, fillHoles, signedDistance } from './mask-raster.js';
import { kthSmallest } from './order-stats.js';
import { boxMean } from './box-filter.js';
import { BIN_COUNT, histogramFromCounts, ratioTable, ycc, yccBin } from './contrast-model.js';
import type { RgbImage } from './types.js';

export interface ColourRefineParams {
  /** Band half-width as a share of the face size (mesh extent). */
  band: number;
  /** Skin likelihood above which a band pixel outside the mesh is added. */
  addAbove: number;
  /** Skin likelihood below which a band pixel inside the mesh is removed. */
  removeBelow: number;
  /** Refined area above this multiple of the landmark area counts as a leak. */
  maxGrowth: number;
  /** Luma tolerance below the skin median, in robust standard deviations. */
  darkLuma: number;
  /**
   * Texture tolerance above the skin's median local contrast, in robust
   * standard deviations (0 = colour only). Hair in shadow can match skin's
   * colour; its strands do not match skin's smoothness.
   */
  texture: number;
  /**
   * A band pixel whose colour is this many times likelier among the
   * surroundings just outside the landmark region (hair, background) than on
   * the inner face is not skin (0 = off).
   */
  contrast: number;
  /** Rows of the surroundings sample, from the top of the landmark region, in face sizes. */
  otherRows: number;
  /** Skin likelihood above which the contrast rule never removes a pixel. */
  keepAbove: number;
  /** Crop pixels (1) inside the landmark region that colour never removes: the beard zone. */
  keep?: Uint8Array;
  /**
   * Glare: inside the landmark region, a pixel near white and brighter than
   * the skin is judged as skin whose colour fades to white (a lit, clipped
   * forehead), not by the skin's full chroma. Off for crops of a tone-mapped
   * view, where near white is no longer the camera's clipping.
   */
  glare?: boolean;
}

export const DEFAULT_COLOUR_REFINE: ColourRefineParams = { band: 0.25, addAbove: 0.2, removeBelow: 0.02, maxGrowth: 1.5, darkLuma: 1.5, texture: 0, contrast: 1.5, keepAbove: 0.2, otherRows: 0.5 };

/**
 * Local contrast per pixel: mean absolute luma step to the right and down
 * neighbours over a 5x5 window. Skin is smooth at this scale, hair is not.
 */
export function localTexture(img: RgbImage): Float32Array {
  const { width: w, height: h, data } = img;
  const luma = new Float32Array(w * h);
  for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2];
  const g = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      g[i] = (x + 1 < w ? Math.abs(luma[i + 1] - luma[i]) : 0) + (y + 1 < h ? Math.abs(luma[i + w] - luma[i]) : 0);
    }
  }
  return boxMean(g, w, h, 2);
}

interface Stats {
  m: number;
  s: number;
}

/** Median and scaled median absolute deviation; selection, not sorting (reorders `values`). */
function robust(values: Float64Array): Stats {
  const m = kthSmallest(values, values.length >> 1);
  const dev = new Float64Array(values.length);
  for (let i = 0; i < dev.length; i++) dev[i] = Math.abs(values[i] - m);
  return { m, s: Math.max(1.5, 1.4826 * kthSmallest(dev, dev.length >> 1)) };
}

interface SkinModel {
  y: Stats;
  cb: Stats;
  cr: Stats;
  /** Local texture per pixel and its skin statistics, when the texture term is on. */
  tex: Float32Array | null;
  t: Stats;
}

/** Rows and pixel count of the landmark region (field > 0). */
function regionExtent(field: Float32Array, n: number): { inside: number; faceSize: number; top: number } {
  let inside = 0;
  let minY = Infinity;
  let maxY = -1;
  for (let y = 0; y * n < field.length; y++) {
    let row = 0;
    for (let i = y * n; i < Math.min(field.length, (y + 1) * n); i++) if (field[i] > 0) row++;
    if (row === 0) continue;
    inside += row;
    minY = Math.min(minY, y);
    maxY = y;
  }
  return { inside, faceSize: maxY - minY + 1, top: minY };
}

/** Robust luma, chroma (and texture) statistics of the inner face: deeper than `core` inside the landmark region. */
function skinModel(crop: RgbImage, field: Float32Array, core: number, inside: number, texture: boolean): SkinModel | null {
  const tex = texture ? localTexture(crop) : null;
  // a few thousand samples pin the medians down as well as all of them, at a fraction of the sorting
  const stride = Math.max(1, Math.floor(inside / 4000));
  const cap = Math.ceil(field.length / stride);
  const ys = new Float64Array(cap);
  const cbs = new Float64Array(cap);
  const crs = new Float64Array(cap);
  const ts = new Float64Array(tex ? cap : 0);
  let k = 0;
  for (let i = 0; i < field.length; i += stride) {
    if (field[i] <= core) continue;
    const o = i * 3;
    const c = ycc(crop.data[o], crop.data[o + 1], crop.data[o + 2]);
    ys[k] = c[0];
    cbs[k] = c[1];
    crs[k] = c[2];
    if (tex) ts[k] = tex[i];
    k++;
  }
  if (k < 30) return null;
  const t = tex ? robust(ts.subarray(0, k)) : { m: 0, s: 1 };
  return { y: robust(ys.subarray(0, k)), cb: robust(cbs.subarray(0, k)), cr: robust(crs.subarray(0, k)), tex, t };
}

/** Luma (0..255) from which a pixel brighter than the skin may be clipped glare. */
export const GLARE_LUMA = 225;

/**
 * The skin chroma (Cb, Cr) a pixel of luma `y` is compared with where the
 * glare rule applies (the caller decides where): the skin's median, unless
 * the pixel is near white and brighter than the skin. Then it is the skin's
 * chroma faded towards neutral by any share down to what is left below
 * white ((255 - y) / (255 - skin luma)): a sensor clips the brightest
 * channel first, so lit skin loses its colour, not its hue. The faded
 * chroma nearest the pixel's (along the skin's chroma direction) is returned.
 */
export function skinChromaAt(y: number, cb: number, cr: number, skin: { y: number; cb: number; cr: number }): [number, number] {
  if (y < GLARE_LUMA || y <= skin.y) return [skin.cb, skin.cr];
  const vx = skin.cb - 128;
  const vy = skin.cr - 128;
  const vv = vx * vx + vy * vy;
  if (vv < 1) return [skin.cb, skin.cr];
  const t = ((cb - 128) * vx + (cr - 128) * vy) / vv;
  const least = Math.max(0, (255 - y) / (255 - skin.y));
  const k = Math.min(1, Math.max(least, t));
  return [128 + vx * k, 128 + vy * k];
}

/** Skin likelihood 0..1 of crop pixel i, its colour `c` in YCbCr; `outside` turns the texture guard on (it only guards additions) and glare off (it only guards removals). */
function skinLikelihood(c: readonly [number, number, number], m: SkinModel, i: number, outside: boolean, p: ColourRefineParams): number {
  const y = c[0];
  let ecb = m.cb.m;
  let ecr = m.cr.m;
  // tested here first: this runs for every band pixel, and only near-white ones can be glare
  if (p.glare === true && !outside && y >= GLARE_LUMA) [ecb, ecr] = skinChromaAt(y, c[1], c[2], { y: m.y.m, cb: m.cb.m, cr: m.cr.m });
  const dc = ((c[1] - ecb) / (2.5 * m.cb.s)) ** 2 + ((c[2] - ecr) / (2.5 * m.cr.s)) ** 2;
  // luma varies with shading far more than chroma: a loose bound
  // and hair is darker than skin far more often than lighter: darker counts double
  const dy = y < m.y.m ? ((m.y.m - y) / (p.darkLuma * m.y.s + 10)) ** 2 : ((y - m.y.m) / (4 * m.y.s + 20)) ** 2;
  // inside the mesh, shading edges of real skin would be lost to a texture term
  const t = m.tex ? m.tex[i] : 0;
  const dt = m.tex && outside && t > m.t.m ? ((t - m.t.m) / (p.texture * m.t.s + 2)) ** 2 : 0;
  return Math.exp(-0.5 * (dc + dy + dt) * 4);
}

/**
 * What refinement computes once per face, whatever the adding and removing
 * thresholds: the region's extent, the skin model, the skin likelihood of
 * the band, and the colour bins with the inner face's histogram. A turned
 * head tries two rules on one preparation.
 */
export interface ColourPrep {
  crop: RgbImage;
  field: Float32Array;
  chinY: number;
  p: ColourRefineParams;
  /** Pixels of the landmark region, its height in rows and its top row. */
  inside: number;
  faceSize: number;
  top: number;
  /** Depth of the inner face, and the band half-width, in crop pixels. */
  core: number;
  band: number;
  /** Skin likelihood of every band pixel (|field| <= band), 0 elsewhere. */
  like: Float32Array;
  /** Colour bins (set where field >= -band, the only pixels read) and the inner face's histogram; null when the contrast rule is off or thin. */
  bins: Uint16Array | null;
  skin: Float32Array | null;
}

/**
 * The skin likelihood of every band pixel (|field| <= band) and, when
 * `withBins`, the colour bin of every pixel at or above -band (the only ones
 * the contrast rule reads; the rest stay 0) and the histogram of the inner
 * face (deeper than `core`): one YCbCr conversion and one pass for all three.
 */
function bandColours(crop: RgbImage, field: Float32Array, m: SkinModel, band: number, core: number, withBins: boolean, p: ColourRefineParams): { like: Float32Array; bins: Uint16Array | null; skin: Float32Array | null } {
  const d = crop.data;
  const like = new Float32Array(field.length);
  const bins = withBins ? new Uint16Array(field.length) : null;
  const counts = new Float32Array(withBins ? BIN_COUNT : 0);
  let inner = 0;
  for (let i = 0; i < field.length; i++) {
    const f = field[i];
    if (f < -band) continue;
    if (!bins && f > band) continue;
    const c = ycc(d[i * 3], d[i * 3 + 1], d[i * 3 + 2]);
    if (bins) {
      const bin = yccBin(c);
      bins[i] = bin;
      if (f > core) {
        counts[bin]++;
        inner++;
      }
    }
    if (Math.abs(f) <= band) like[i] = skinLikelihood(c, m, i, f <= 0, p);
  }
  return { like, bins, skin: bins && histogramFromCounts(counts, inner) };
}

/**
 * The rule-independent half of refineWithColour; null when the region is too
 * small or its inner face too thin for a skin model (the field then stays).
 */
export function prepareColour(crop: RgbImage, field: Float32Array, chinY: number, p: ColourRefineParams = DEFAULT_COLOUR_REFINE): ColourPrep | null {
  const n = crop.width;
  const { inside, faceSize, top } = regionExtent(field, n);
  if (inside < 50) return null;
  const core = faceSize * 0.12;
  const m = skinModel(crop, field, core, inside, p.texture > 0);
  if (!m) return null;
  const band = faceSize * p.band;
  // skin likelihood of every band pixel, once: the surroundings sample and the decisions both use it
  const { like, bins, skin } = bandColours(crop, field, m, band, core, p.contrast > 0, p);
  return { crop, field, chinY, p, inside, faceSize, top, core, band, like, bins, skin };
}

/** The adding and removing thresholds: what a turned head changes. */
export type ColourRule = Pick<ColourRefineParams, 'addAbove' | 'removeBelow'>;

/**
 * The surroundings' colours against the skin's, per bin: a histogram of the
 * pixels just outside the landmark region (above the chin, not skin-like:
 * hair, background) over the inner face's. Null when either is too thin.
 */
function contrastTable(prep: ColourPrep, addAbove: number): Float32Array | null {
  const { bins, skin, field, band, like, p } = prep;
  if (!bins || !skin) return null;
  const n = prep.crop.width;
  // the surroundings are sampled down to the eyes: hair grows there, lower down lie the shaded neck and collar
  const rows = Math.min(prep.chinY, prep.top + p.otherRows * prep.faceSize);
  // counted here, not through a selecting closure: this runs over the crop's upper part per rule
  const counts = new Float32Array(BIN_COUNT);
  let count = 0;
  const end = Math.min(field.length, Math.ceil(rows) * n);
  for (let i = 0; i < end; i++) {
    const f = field[i];
    if (!(f < -1 && f >= -band && Math.floor(i / n) < rows && like[i] <= addAbove)) continue;
    counts[bins[i]]++;
    count++;
  }
  const other = histogramFromCounts(counts, count);
  return other && ratioTable(skin, other);
}

/** Per pixel, by the rule: 1 skin, 0 not; deep inside always 1, far outside 0. */
function decideMask(prep: ColourPrep, rule: ColourRule, table: Float32Array | null): Uint8Array {
  const { field, band, like, bins, p, chinY } = prep;
  const n = prep.crop.width;
  const mask = new Uint8Array(field.length);
  for (let i = 0; i < field.length; i++) {
    const f = field[i];
    if (f > band) mask[i] = 1;
    if (f > band || f < -band) continue;
    // the surroundings' colour (hair) rather than the skin's: out, unless the skin model is sure
    const hairLike = table !== null && bins !== null && like[i] < p.keepAbove && table[bins[i]] > p.contrast;
    if (f > 0) mask[i] = (like[i] < rule.removeBelow || hairLike) && !p.keep?.[i] ? 0 : 1;
    else mask[i] = like[i] > rule.addAbove && !hairLike && Math.floor(i / n) < chinY ? 1 : 0;
  }
  return mask;
}

/**
 * The rule-dependent half of refineWithColour: the refined field, or null
 * when the region grew past maxGrowth (a skin-coloured background leaked in).
 */
export function decideColour(prep: ColourPrep, rule: ColourRule = prep.p): Float32Array | null {
  const { field, band, crop } = prep;
  const n = crop.width;
  const h = crop.height;
  const mask = decideMask(prep, rule, contrastTable(prep, rule.addAbove));
  // keep only what connects to the core, then close pinholes
  const keep = fillHoles(connectedTo(mask, n, h, (i) => field[i] > band), n, h);
  let area = 0;
  for (let i = 0; i < keep.length; i++) area += keep[i];
  if (area > prep.inside * prep.p.maxGrowth) return null;
  return smoothField(signedDistance(keep, n, h), n, h);
}

/**
 * @param crop the face crop (size x size RGB), upright
 * @param field signed distance of the landmark region in crop pixels
 * @param chinY crop row of the chin: nothing is added below it (skin runs down the neck)
 * @returns a new signed distance field; `field` itself when the region is too
 * small, or when a skin-coloured background leaks (the landmark region is then the safer answer)
 */
export function refineWithColour(crop: RgbImage, field: Float32Array, chinY: number, p: ColourRefineParams = DEFAULT_COLOUR_REFINE): Float32Array {
  const prep = prepareColour(crop, field, chinY, p);
  return (prep && decideColour(prep)) ?? field;
}

/** 5x5 box blur of a distance field: rounds the jagged per-pixel colour decisions. */
function smoothField(f: Float32Array, w: number, h: number): Float32Array {
  return boxMean(f, w, h, 2);
}
