// The runs of a face's full-image binary mask, read straight from its
// rectangle-confined region mask(s): the brush RLE needs only the runs, and
// painting a full W*H image per face to find them cost more than the rest
// of the prediction on a large photo. Pure.
import type { RegionMask } from '../pipeline/types.js';

/** A run of equal pixels: [length in pixels, on]. */
export type PixelRun = [length: number, on: boolean];

/** Appends runs, merging a run into the last one when they agree, so every run is maximal. */
function runList(): { add: (length: number, on: boolean) => void; runs: PixelRun[] } {
  const runs: PixelRun[] = [];
  const add = (length: number, on: boolean): void => {
    if (length <= 0) return;
    const last = runs[runs.length - 1];
    if (last && last[1] === on) last[0] += length;
    else runs.push([length, on]);
  };
  return { add, runs };
}

/** Columns [x0, x1) of row y that any region covers, clipped to the image; x1 <= x0 when none. */
function rowSpan(regions: readonly RegionMask[], y: number, width: number): [number, number] {
  let x0 = width;
  let x1 = 0;
  for (const r of regions) {
    if (y < r.y || y >= r.y + r.height) continue;
    x0 = Math.min(x0, Math.max(0, r.x));
    x1 = Math.max(x1, Math.min(width, r.x + r.width));
  }
  return [x0, x1];
}

/**
 * The maximal runs, in row-major order over the whole width x height image,
 * of the mask that is on where any region's value is at least `threshold`
 * (regions clipped to the image): the runs of paintRegions' image.
 */
export function regionRuns(regions: readonly RegionMask[], width: number, height: number, threshold: number): PixelRun[] {
  const { add, runs } = runList();
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const [x0, x1] = rowSpan(regions, y, width);
    if (x1 <= x0) {
      add(width, false);
      continue;
    }
    row.fill(0, x0, x1);
    for (const r of regions) {
      if (y < r.y || y >= r.y + r.height) continue;
      const src = (y - r.y) * r.width - r.x;
      const end = Math.min(width, r.x + r.width);
      for (let x = Math.max(0, r.x); x < end; x++) if (r.data[src + x] >= threshold) row[x] = 1;
    }
    add(x0, false);
    let start = x0;
    for (let x = x0 + 1; x <= x1; x++) {
      if (x < x1 && row[x] === row[start]) continue;
      add(x - start, row[start] === 1);
      start = x;
    }
    add(width - x1, false);
  }
  return runs;
}
