// Pixel-level refinement of a landmark face region: a per-face skin colour
// model sampled from the inner face decides the pixels in a band around the
// mesh edge (forehead up to the hairline, ears, hair fringes, profile edges).
// Works in crop space, where the face is upright (the crop removes roll).
import { connectedTo, fillHoles, signedDistance } from './mask-raster.js';
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
  /** Crop pixels (1) inside the landmark region that colour never removes: the beard zone. */
  keep?: Uint8Array;
}

export const DEFAULT_COLOUR_REFINE: ColourRefineParams = { band: 0.25, addAbove: 0.2, removeBelow: 0.02, maxGrowth: 1.5, darkLuma: 1.5, texture: 0 };

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

const YCC: [number, number, number] = [0, 0, 0];

/** Luma and chroma (ITU-R BT.601 YCbCr) into a shared scratch triple: this runs per pixel and must not allocate. */
function ycc(r: number, g: number, b: number): [number, number, number] {
  YCC[0] = 0.299 * r + 0.587 * g + 0.114 * b;
  YCC[1] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  YCC[2] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return YCC;
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
  let inside = 0;
  let minY = h;
  let maxY = 0;
  for (let i = 0; i < field.length; i++) {
    if (field[i] > 0) {
      inside++;
      const y = Math.floor(i / n);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  if (inside < 50) return field;
  const faceSize = maxY - minY + 1;
  const core = faceSize * 0.12;
  const ys: number[] = [];
  const cbs: number[] = [];
  const crs: number[] = [];
  // a few thousand samples pin the medians down as well as all of them, at a fraction of the sorting
  const stride = Math.max(1, Math.floor(inside / 4000));
  for (let i = 0; i < field.length; i += stride) {
    if (field[i] <= core) continue;
    const o = i * 3;
    const [y, cb, cr] = ycc(crop.data[o], crop.data[o + 1], crop.data[o + 2]);
    ys.push(y);
    cbs.push(cb);
    crs.push(cr);
  }
  if (ys.length < 30) return field;
  const tex = p.texture > 0 ? localTexture(crop) : null;
  let st: Stats = { m: 0, s: 1 };
  if (tex) {
    const ts: number[] = [];
    for (let i = 0; i < field.length; i += stride) if (field[i] > core) ts.push(tex[i]);
    st = robust(ts);
  }
  const sy = robust(ys);
  const scb = robust(cbs);
  const scr = robust(crs);
  const band = faceSize * p.band;
  const mask = new Uint8Array(n * h);
  for (let i = 0; i < field.length; i++) {
    const f = field[i];
    if (f > band) {
      mask[i] = 1;
      continue;
    }
    if (f < -band) continue;
    const y0 = Math.floor(i / n);
    const o = i * 3;
    const [y, cb, cr] = ycc(crop.data[o], crop.data[o + 1], crop.data[o + 2]);
    const dc = ((cb - scb.m) / (2.5 * scb.s)) ** 2 + ((cr - scr.m) / (2.5 * scr.s)) ** 2;
    // luma varies with shading far more than chroma: a loose bound
    // and hair is darker than skin far more often than lighter: darker counts double
    const dy = y < sy.m ? ((sy.m - y) / (p.darkLuma * sy.s + 10)) ** 2 : ((y - sy.m) / (4 * sy.s + 20)) ** 2;
    // texture only guards additions: inside the mesh, shading edges of real skin would be lost
    const dt = tex && f <= 0 && tex[i] > st.m ? ((tex[i] - st.m) / (p.texture * st.s + 2)) ** 2 : 0;
    const like = Math.exp(-0.5 * (dc + dy + dt) * 4);
    if (f > 0) mask[i] = like < p.removeBelow && !p.keep?.[i] ? 0 : 1;
    else mask[i] = like > p.addAbove && y0 < chinY ? 1 : 0;
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
