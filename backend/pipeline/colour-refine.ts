// Pixel-level refinement of a landmark face region: a per-face skin colour
// model sampled from the inner face decides the pixels in a band around the
// mesh edge (forehead up to the hairline, ears, hair fringes, profile edges).
// Works in crop space, where the face is upright (the crop removes roll).
import { connectedTo, fillHoles, signedDistance } from './mask-raster.js';
import { colourBins, colourHistogram, otherOverSkin, ycc } from './contrast-model.js';
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

function robust(values: number[]): Stats {
  // typed arrays sort numerically in native code, far faster than a comparator
  const v = Float64Array.from(values).sort();
  const m = v[v.length >> 1];
  const dev = v.map((x) => Math.abs(x - m)).sort();
  return { m, s: Math.max(1.5, 1.4826 * dev[dev.length >> 1]) };
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
  for (let i = 0; i < field.length; i++) {
    if (field[i] <= 0) continue;
    inside++;
    const y = Math.floor(i / n);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  return { inside, faceSize: maxY - minY + 1, top: minY };
}

/** Robust luma, chroma (and texture) statistics of the inner face: deeper than `core` inside the landmark region. */
function skinModel(crop: RgbImage, field: Float32Array, core: number, inside: number, texture: boolean): SkinModel | null {
  const ys: number[] = [];
  const cbs: number[] = [];
  const crs: number[] = [];
  const ts: number[] = [];
  const tex = texture ? localTexture(crop) : null;
  // a few thousand samples pin the medians down as well as all of them, at a fraction of the sorting
  const stride = Math.max(1, Math.floor(inside / 4000));
  for (let i = 0; i < field.length; i += stride) {
    if (field[i] <= core) continue;
    const o = i * 3;
    const [y, cb, cr] = ycc(crop.data[o], crop.data[o + 1], crop.data[o + 2]);
    ys.push(y);
    cbs.push(cb);
    crs.push(cr);
    if (tex) ts.push(tex[i]);
  }
  if (ys.length < 30) return null;
  return { y: robust(ys), cb: robust(cbs), cr: robust(crs), tex, t: tex ? robust(ts) : { m: 0, s: 1 } };
}

/** Skin likelihood 0..1 of crop pixel i; `outside` turns the texture guard on (it only guards additions). */
function skinLikelihood(crop: RgbImage, m: SkinModel, i: number, outside: boolean, p: ColourRefineParams): number {
  const o = i * 3;
  const [y, cb, cr] = ycc(crop.data[o], crop.data[o + 1], crop.data[o + 2]);
  const dc = ((cb - m.cb.m) / (2.5 * m.cb.s)) ** 2 + ((cr - m.cr.m) / (2.5 * m.cr.s)) ** 2;
  // luma varies with shading far more than chroma: a loose bound
  // and hair is darker than skin far more often than lighter: darker counts double
  const dy = y < m.y.m ? ((m.y.m - y) / (p.darkLuma * m.y.s + 10)) ** 2 : ((y - m.y.m) / (4 * m.y.s + 20)) ** 2;
  // inside the mesh, shading edges of real skin would be lost to a texture term
  const t = m.tex ? m.tex[i] : 0;
  const dt = m.tex && outside && t > m.t.m ? ((t - m.t.m) / (p.texture * m.t.s + 2)) ** 2 : 0;
  return Math.exp(-0.5 * (dc + dy + dt) * 4);
}

/**
 * The surroundings' colours against the skin's: a histogram of the pixels
 * just outside the landmark region (above the chin, not skin-like: hair,
 * background) and one of the inner face. Null when either is too thin.
 */
function contrastRatio(crop: RgbImage, field: Float32Array, like: Float32Array, core: number, band: number, chinY: number, p: ColourRefineParams): ((i: number) => number) | null {
  if (!(p.contrast > 0)) return null;
  const n = crop.width;
  const bins = colourBins(crop);
  const other = colourHistogram(bins, (i) => field[i] < -1 && field[i] >= -band && Math.floor(i / n) < chinY && like[i] <= p.addAbove);
  const skin = colourHistogram(bins, (i) => field[i] > core);
  return other && skin ? otherOverSkin(bins, skin, other) : null;
}

/**
 * @param crop the face crop (size x size RGB), upright
 * @param field signed distance of the landmark region in crop pixels
 * @param chinY crop row of the chin: nothing is added below it (skin runs down the neck)
 * @returns a new signed distance field
 */
export function refineWithColour(crop: RgbImage, field: Float32Array, chinY: number, p: ColourRefineParams = DEFAULT_COLOUR_REFINE): Float32Array {
  const n = crop.width;
  const h = crop.height;
  const { inside, faceSize, top } = regionExtent(field, n);
  if (inside < 50) return field;
  const core = faceSize * 0.12;
  const m = skinModel(crop, field, core, inside, p.texture > 0);
  if (!m) return field;
  const band = faceSize * p.band;
  // skin likelihood of every band pixel, once: the surroundings sample and the decisions both use it
  const like = new Float32Array(n * h);
  for (let i = 0; i < field.length; i++) if (Math.abs(field[i]) <= band) like[i] = skinLikelihood(crop, m, i, field[i] <= 0, p);
  // the surroundings are sampled down to the eyes: hair grows there, lower down lie the shaded neck and collar
  const ratio = contrastRatio(crop, field, like, core, band, Math.min(chinY, top + p.otherRows * faceSize), p);
  const mask = new Uint8Array(n * h);
  for (let i = 0; i < field.length; i++) {
    const f = field[i];
    if (f > band) mask[i] = 1;
    if (f > band || f < -band) continue;
    // the surroundings' colour (hair) rather than the skin's: out, unless the skin model is sure
    const hairLike = ratio !== null && like[i] < p.keepAbove && ratio(i) > p.contrast;
    if (f > 0) mask[i] = (like[i] < p.removeBelow || hairLike) && !p.keep?.[i] ? 0 : 1;
    else mask[i] = like[i] > p.addAbove && !hairLike && Math.floor(i / n) < chinY ? 1 : 0;
  }
  // keep only what connects to the core, then close pinholes
  const keep = fillHoles(connectedTo(mask, n, h, (i) => field[i] > band), n, h);
  // a skin-coloured background leaks: then the landmark region is the safer answer
  let area = 0;
  for (let i = 0; i < keep.length; i++) area += keep[i];
  if (area > inside * p.maxGrowth) return field;
  return smoothField(signedDistance(keep, n, h), n, h);
}

/** 5x5 box blur of a distance field: rounds the jagged per-pixel colour decisions. */
function smoothField(f: Float32Array, w: number, h: number): Float32Array {
  return boxMean(f, w, h, 2);
}

/** Mean over a (2r+1)^2 window, clipped at the edges; separable. */
function boxMean(f: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(f.length);
  const out = new Float32Array(f.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let k = -r; k <= r; k++) {
        const xx = x + k;
        if (xx < 0 || xx >= w) continue;
        s += f[y * w + xx];
        c++;
      }
      tmp[y * w + x] = s / c;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let k = -r; k <= r; k++) {
        const yy = y + k;
        if (yy < 0 || yy >= h) continue;
        s += tmp[yy * w + x];
        c++;
      }
      out[y * w + x] = s / c;
    }
  }
  return out;
}
