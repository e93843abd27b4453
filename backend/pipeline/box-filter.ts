// Mean filters over float grids (crop space): the colour refinement's
// smoothing and its local texture. Pure.

/**
 * Mean over a (2r+1)^2 window, clipped at the edges; separable. Each window
 * is summed from its first value on (no running sum), so every mean is the
 * same float whichever way the loops run.
 */
export function boxMean(f: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(f.length);
  const out = new Float32Array(f.length);
  for (let y = 0; y < h; y++) boxRow(f, tmp, y * w, w, r);
  for (let y = 0; y < h; y++) {
    const lo = Math.max(0, y - r);
    const hi = Math.min(h - 1, y + r);
    const c = hi - lo + 1;
    const row = y * w;
    if (r === 2 && c === 5) {
      // the common case written out, summed in the loop's order
      for (let x = 0, i = row; x < w; x++, i++) out[i] = (0 + tmp[i - 2 * w] + tmp[i - w] + tmp[i] + tmp[i + w] + tmp[i + 2 * w]) / 5;
      continue;
    }
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = lo; k <= hi; k++) s += tmp[k * w + x];
      out[row + x] = s / c;
    }
  }
  return out;
}

/** One row of the horizontal pass of boxMean: `w` values from `row`. */
function boxRow(f: Float32Array, out: Float32Array, row: number, w: number, r: number): void {
  // full 5-tap windows, written out; the clipped ones (and other radii) below
  const full = r === 2 && w >= 5;
  if (full) for (let i = row + 2; i < row + w - 2; i++) out[i] = (0 + f[i - 2] + f[i - 1] + f[i] + f[i + 1] + f[i + 2]) / 5;
  for (let x = 0; x < w; x++) {
    if (full && x === 2) x = w - 2;
    const lo = Math.max(0, x - r);
    const hi = Math.min(w - 1, x + r);
    let s = 0;
    for (let k = lo; k <= hi; k++) s += f[row + k];
    out[row + x] = s / (hi - lo + 1);
  }
}
