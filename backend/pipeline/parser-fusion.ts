// A face parser that knows hair refines the landmark region instead of
// replacing it. The mesh and the colour rule keep the shape where the parser
// is unsure; hair the parser sees leaves the mask (the leak behind a turned
// cheek that colour cannot see), and face it is sure of joins it (the jaw and
// chin of a profile, which the mesh squashes).
import { probabilityField } from './face-region.js';
import type { ParserMap } from './ports.js';
import { sampleField } from './warp.js';

export interface ParserFusion {
  /** Pixels whose hair probability is above this leave the region. */
  hairAbove: number;
  /** Pixels whose face probability is at least this join the region. */
  faceFrom: number;
}

/** Chosen on the tune split (FASSEG frontal02 1-10, multipose01 people 01/02/03/05) with BiSeNet at 384 px; faceFrom 0.6 left recall at yaw 60 below the engine without a parser. */
export const DEFAULT_PARSER_FUSION: ParserFusion = { hairAbove: 0.4, faceFrom: 0.5 };

/** `map` (any resolution, over the same crop as the field) resampled to a size x size grid. */
export function resampleSquare(map: Float32Array, w: number, h: number, size: number): Float32Array {
  const out = new Float32Array(size * size);
  const sx = w / size;
  const sy = h / size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) out[y * size + x] = sampleField(map, w, h, (x + 0.5) * sx, (y + 0.5) * sy, 0);
  }
  return out;
}

/**
 * The region's field (edge at 0, positive inside, size x size) with the
 * parser's hair removed and its sure face added. A map without hair leaves
 * the field as it is.
 */
export function fuseParser(field: Float32Array, size: number, map: ParserMap, opts: ParserFusion = DEFAULT_PARSER_FUSION): Float32Array {
  if (!map.hair) return field;
  const hair = resampleSquare(map.hair, map.width, map.height, size);
  for (let i = 0; i < hair.length; i++) hair[i] = 1 - hair[i];
  const keep = probabilityField(hair, size, size, 1 - opts.hairAbove);
  const add = probabilityField(resampleSquare(map.data, map.width, map.height, size), size, size, opts.faceFrom);
  const out = new Float32Array(field.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(Math.min(field[i], keep[i]), add[i]);
  return out;
}
