// Exact Euclidean distance fields of binary masks (Felzenszwalb &
// Huttenlocher): the unsigned transform and the signed field the face
// regions are made of. Pure functions over Uint8Array and Float32Array.

const INF = 1e20;

/**
 * 1-D squared distance transform (Felzenszwalb & Huttenlocher): the lower
 * envelope of the parabolas at positions a..b of `f`, evaluated at e0..e1
 * into `d` (absolute indices). Leaving out parabolas that cannot be the
 * minimum at e0..e1 changes no value.
 */
function dt1d(f: Float64Array, a: number, b: number, e0: number, e1: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = a;
  z[0] = -INF;
  z[1] = INF;
  // f[q] + q * q of the envelope's last parabola, kept rather than recomputed per comparison
  let gv = f[a] + a * a;
  for (let q = a + 1; q <= b; q++) {
    const gq = f[q] + q * q;
    let s = (gq - gv) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      gv = f[v[k]] + v[k] * v[k];
      s = (gq - gv) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
    gv = gq;
  }
  k = 0;
  for (let q = e0; q <= e1; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/**
 * First pass of the transform: squared distance along each column to the
 * nearest pixel that is set (`on`) or clear (!`on`), -1 where the column has
 * none. Two row-major sweeps of integer steps: exact, as dt1d would be, at a
 * fraction of its cost. Only columns c0..c1 are written (default all);
 * `up` is scratch of at least w entries.
 */
function columnPass(mask: Uint8Array, w: number, h: number, on: boolean, out: Int32Array, c0 = 0, c1 = w - 1, up: Int32Array = new Int32Array(w)): void {
  // steps since the last target pixel above, then below; h or more means none yet
  up.fill(h, c0, c1 + 1);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = c0; x <= c1; x++) {
      const hit = (mask[row + x] !== 0) === on;
      const d = hit ? 0 : up[x] + 1;
      up[x] = d;
      out[row + x] = d;
    }
  }
  up.fill(h, c0, c1 + 1);
  for (let y = h - 1; y >= 0; y--) {
    const row = y * w;
    for (let x = c0; x <= c1; x++) {
      const d = Math.min(out[row + x], up[x] + 1);
      up[x] = d;
      out[row + x] = d >= h ? -1 : d * d;
    }
  }
}

/** Second pass over row y: exact squared distances at columns e0..e1 from the parabolas of columns a..b of the column pass. */
function rowPass(col: Int32Array, w: number, y: number, s: EdtScratch, a = 0, b = w - 1, e0 = 0, e1 = w - 1): Float64Array {
  for (let x = a; x <= b; x++) {
    const c = col[y * w + x];
    s.f[x] = c < 0 ? INF : c;
  }
  dt1d(s.f, a, b, e0, e1, s.d, s.v, s.z);
  return s.d;
}

interface EdtScratch {
  f: Float64Array;
  d: Float64Array;
  v: Int32Array;
  z: Float64Array;
}

const edtScratch = (n: number): EdtScratch => ({ f: new Float64Array(n), d: new Float64Array(n), v: new Int32Array(n), z: new Float64Array(n + 1) });

/**
 * signedDistance's working buffers, kept between calls of one size (the face
 * crops are all one size): every value it reads is written first in that
 * call, so no result depends on an earlier call.
 */
let sdWork: { w: number; h: number; col: Int32Array; up: Int32Array; s: EdtScratch } | undefined;

function signedWork(w: number, h: number): { col: Int32Array; up: Int32Array; s: EdtScratch } {
  if (sdWork?.w !== w || sdWork.h !== h) sdWork = { w, h, col: new Int32Array(w * h), up: new Int32Array(w), s: edtScratch(w) };
  return sdWork;
}

/** Exact squared Euclidean distance to the nearest pixel where mask != 0 (Infinity when there is none). */
export function squaredDistanceTransform(mask: Uint8Array, w: number, h: number): Float64Array {
  const out = new Float64Array(w * h);
  const col = new Int32Array(w * h);
  columnPass(mask, w, h, true, col);
  const s = edtScratch(w);
  for (let y = 0; y < h; y++) {
    const d = rowPass(col, w, y, s);
    for (let x = 0; x < w; x++) out[y * w + x] = d[x] >= INF / 2 ? Infinity : d[x];
  }
  return out;
}

/** Exact Euclidean distance from every pixel to the nearest pixel where mask != 0. */
export function distanceTransform(mask: Uint8Array, w: number, h: number): Float32Array {
  const sq = squaredDistanceTransform(mask, w, h);
  const out = new Float32Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = Number.isFinite(sq[i]) ? Math.sqrt(sq[i]) : 1e10;
  return out;
}

/** Per row: does it hold a set pixel (bit 1) and a clear one (bit 2)? */
function rowKinds(mask: Uint8Array, w: number, h: number): Uint8Array {
  const kinds = new Uint8Array(h);
  for (let y = 0; y < h; y++) {
    let k = 0;
    for (let i = y * w; i < (y + 1) * w && k !== 3; i++) k |= mask[i] ? 1 : 2;
    kinds[y] = k;
  }
  return kinds;
}

/** First and last column holding a set pixel (-1, -1 when none). */
function setColumns(mask: Uint8Array, w: number, h: number): [number, number] {
  let lo = w;
  let hi = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0, i = y * w; x < w; x++, i++) {
      if (!mask[i]) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return hi < 0 ? [-1, -1] : [lo, hi];
}

/**
 * Signed distance in pixels: positive inside the mask, negative outside; the edge sits at 0.
 * Each pixel needs only the distance to the other side, so a row is transformed
 * towards the inside only when it has outside pixels, and vice versa; and
 * only the columns that can hold the nearest pixel of the other side take part.
 */
export function signedDistance(mask: Uint8Array, w: number, h: number): Float32Array {
  return signedDistanceSides(mask, w, h, 'both');
}

/**
 * signedDistance's values on one side of the edge only, to the bit
 * ('outside': at the clear pixels, 'inside': at the set ones), in rows
 * 0..rows-1 (default all), 0 at every other pixel, unless the mask is all set
 * or all clear (then every value is signedDistance's). A grow or shrink reads
 * only one side, the turned-head limit only the outside above the ears: this
 * skips the rest of the work.
 */
export function signedDistanceSides(mask: Uint8Array, w: number, h: number, sides: 'both' | 'outside' | 'inside', rows = h): Float32Array {
  const kinds = rowKinds(mask, w, h);
  let any = 0;
  for (let y = 0; y < h; y++) any |= kinds[y];
  const out = new Float32Array(w * h);
  if (!(any & 1)) return out.fill(-Math.max(w, h));
  if (!(any & 2)) return out.fill(Math.max(w, h));
  const end = Math.max(0, Math.min(h, Math.floor(rows)));
  const [x0, x1] = setColumns(mask, w, h);
  const { col, up, s } = signedWork(w, h);
  if (sides !== 'inside') {
    // towards the inside, for outside pixels: only columns x0..x1 hold a set pixel (the others are INF throughout and not read)
    columnPass(mask, w, h, true, col, x0, x1, up);
    for (let y = 0; y < end; y++) {
      if (!(kinds[y] & 2)) continue;
      const d = rowPass(col, w, y, s, x0, x1);
      for (let x = 0, i = y * w; x < w; x++, i++) if (!mask[i]) out[i] = 0.5 - Math.sqrt(d[x]);
    }
  }
  if (sides === 'outside') return out;
  // towards the outside, for inside pixels (all in columns x0..x1): the columns beyond are wholly
  // outside, so the one next to x0 (x1) is nearer than any further out
  const a = Math.max(0, x0 - 1);
  const b = Math.min(w - 1, x1 + 1);
  // only columns a..b are read below
  columnPass(mask, w, h, false, col, a, b, up);
  for (let y = 0; y < end; y++) {
    if (!(kinds[y] & 1)) continue;
    const d = rowPass(col, w, y, s, a, b, x0, x1);
    for (let x = x0, i = y * w + x0; x <= x1; x++, i++) if (mask[i]) out[i] = Math.sqrt(d[x]) - 0.5;
  }
  return out;
}
